"""The model card of a registered version (`model_cards/<version>.md`): intended use, the
encoder backend served, training data and version, the evaluation set, metrics against the champion, the served output rule and
its calibration, why this candidate was chosen, known limitations and responsible-AI notes."""

from __future__ import annotations

from typing import Any

from sea_core.output_set import OutputRule

MODEL_CARDS_PREFIX = "model_cards"


def model_card_key(version: str) -> str:
    """Where a version's card lives in the store."""
    return f"{MODEL_CARDS_PREFIX}/{version}.md"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("—" if value is None else str(value))


def _backend_line(record: dict[str, Any]) -> str:
    """The backend served and, for an export, its agreement with the fp32 model."""
    backend = record.get("encoder_backend") or "torch"
    agreement = record.get("encoder_agreement") or {}
    if not agreement:
        return f"`{backend}`" + (" (the fp32 sentence-transformers model)" if backend == "torch" else "")
    return (
        f"`{backend}` (ONNX Runtime export of these weights; agrees with the fp32 model on "
        f"{agreement.get('probes')} probe texts: mean cosine {_fmt(agreement.get('mean_cosine'))}, "
        f"worst {_fmt(agreement.get('min_cosine'))})"
    )


def render_model_card(version: str, record: dict[str, Any], experiment: dict[str, Any]) -> str:
    """Markdown model card from the registry record and the experiment record of the build."""
    champion = experiment.get("champion") or {}
    champion_metrics = champion.get("metrics") or {}
    metrics = record.get("metrics") or {}
    names = sorted(set(metrics) | set(champion_metrics))
    rows = "\n".join(f"| {n} | {_fmt(metrics.get(n))} | {_fmt(champion_metrics.get(n))} |" for n in names)
    candidates = experiment.get("candidates") or []
    primary = experiment.get("primary_metric", "")
    ranked = (
        "\n".join(
            f"{i}. `{c['encoder']}` ({c.get('start', '')}): {primary} = {_fmt((c.get('metrics') or {}).get(primary))}"
            + (" — chosen" if c.get("chosen") else "")
            for i, c in enumerate(candidates, start=1)
        )
        or "Only one candidate was built."
    )
    gate = experiment.get("gate") or {}
    gate_lines = (
        "\n".join(
            f"- {c['name']}: {'pass' if c['passed'] else 'FAIL'} — {c['detail']}"
            for c in gate.get("checks", [])
        )
        or "- not run"
    )
    hyper = record.get("hyperparameters") or {}
    hyper_lines = "\n".join(f"- {k}: {v}" for k, v in sorted(hyper.items()))
    comparison = experiment.get("comparison") or {}
    why = comparison.get("reason", "")
    evaluation = experiment.get("evaluation") or {}
    calibration = record.get("calibration") or {}
    rule = _rule_text(record.get("output_rule") or {})
    training = next((c.get("training") for c in candidates if c.get("chosen")), None) or {}
    trained_on = (
        f"fine-tuned {training.get('steps')} steps on {training.get('reviewed_texts')} "
        f"reviewed texts ({training.get('review_examples')} review rows, "
        f"{training.get('hard_negatives')} with a rejected skill as hard negative) + "
        f"{training.get('taxonomy_examples')} taxonomy self-supervision rows"
        if training
        else "not retrained (weights of the base encoder or the champion)"
    )
    return f"""# SEA skills-matching model {version}

## Intended use
Maps skills mentioned in job descriptions and course descriptions to taxonomy skills
(taxonomy `{record.get("taxonomy_version", "")}`) for SkillsFuture-style skills tagging. Output
is a ranked list of suggestions with confidences for a human reviewer; it is not meant for
automated decisions about individual people (hiring, pay, eligibility).

## Build
- trigger: {record.get("trigger")}; bump: {experiment.get("bump")}; parent version: {record.get("parent_version") or "none"}
- experiment: `{experiment.get("key", "")}`; created {record.get("timestamp", "")}
- model files: `{record.get("model_path", "")}` in `{record.get("bucket", "")}`
- encoder backend: {_backend_line(record)}

## Training data
- pairs: {experiment.get("data", {}).get("source", "")}; data version {record.get("data_version")} (checksum `{record.get("data_checksum")}`)
- train `{record.get("train_data_path") or "—"}`, validation `{record.get("val_data_path") or "—"}`, fixed test set `{record.get("test_data_path") or "—"}`
- taxonomy: {experiment.get("taxonomy", {}).get("skills", "")} skills from {experiment.get("taxonomy", {}).get("source", "")}; skills re-encoded this build: {experiment.get("encoded_count")}

- encoder: {trained_on}

## Evaluation set
{evaluation.get("set", "—")}: {evaluation.get("reason", "")}; reviewed snapshot `{evaluation.get("key") or "—"}`
({evaluation.get("train", 0)} training / {evaluation.get("holdout", 0)} hold-out texts)

## Hyper-parameters
{hyper_lines}

## Output rule (served)
{rule}

Calibration on the reviewed training slice, ranked by {calibration.get("ranked_by", "the candidate")}: {calibration.get("reason", "—")}
(mean Jaccard {_fmt(calibration.get("default_score"))} with the previous rule, {_fmt(calibration.get("fitted_score"))} with this one, over {calibration.get("n_examples", 0)} texts).

## Metrics (fixed test pairs; task metrics on the evaluation set) versus the champion
| metric | this version | champion {champion.get("version") or "(none)"} |
|---|---|---|
{rows}

Primary metric `{primary}`, promotion margin {experiment.get("promotion_margin")}. {why}

## Why this candidate
{ranked}

## Test gate
{gate_lines}

## Known limitations
- English only; skills absent from the taxonomy cannot be suggested, and recently added skills
  have no feedback history.
- Pair metrics come from taxonomy labels and reviewer feedback, which under-represent informal
  wording; task metrics come from the reviewed hold-out (or the shipped golden texts), which
  is small while few texts are reviewed.
- Confidence scores are similarity scores, not calibrated probabilities.

## Responsible-AI notes
- Suggestions are reviewed by people before use; reviewer feedback is the ground truth that
  monitoring and retraining use, so reviewer bias flows into later versions.
- Job texts can carry biased wording (age, gender, nationality); the model copies phrases, it
  does not judge them — keep reviewers in the loop and audit rejected suggestions.
- Inputs are logged for monitoring: do not submit personal data in job descriptions.
"""


def _rule_text(rule: dict[str, Any]) -> str:
    """The served output rule in a line (`OutputRule.describe`), or the raw record when it is
    not one this code reads."""
    if not rule:
        return "—"
    try:
        return OutputRule.from_dict(rule).describe()
    except (TypeError, ValueError):
        return ", ".join(f"{k} {v}" for k, v in rule.items())

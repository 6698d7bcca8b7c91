"""UAT comparison: a release candidate against PROD on recent real texts, side by side, with
skills gained, lost and re-ranked, and both models' metrics on texts reviewers confirmed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops.adapters.warehouse.repositories import Source, repositories
from mlops.domain.stages import Stage
from mlops.services.monitoring import METRICS, request_metrics

if TYPE_CHECKING:
    from mlops.bootstrap import Bootstrap

Predict = Callable[[Sequence[str]], list[dict[str, Any]]]
OK_STATUS = "ok"


def recent_texts(warehouse: Source, limit: int = 20, reviewed_only: bool = False) -> list[dict[str, Any]]:
    """The newest distinct successful request texts (`request_id`, `text`, `created_at`);
    with `reviewed_only`, only those with a feedback submission."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a positive whole number, got {limit!r}")
    rows = repositories(warehouse).predictions.recent_texts(limit, OK_STATUS, reviewed_only)
    return [row for row in rows if row.get("text")]


def confirmed_skills(warehouse: Source, request_ids: Sequence[str]) -> dict[str, set[str]]:
    """Per reviewed request: the confirmed skill ids (accepted + added)."""
    return repositories(warehouse).feedback.confirmed(list(request_ids))


@dataclass
class TextComparison:
    """One text's PROD and candidate skills and what changed."""

    request_id: str
    text: str
    prod: list[dict[str, Any]]
    candidate: list[dict[str, Any]]
    gained: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    reranked: list[str] = field(default_factory=list)

    def rows(self) -> list[dict[str, Any]]:
        """Side-by-side rows: rank, PROD skill, candidate skill, and the change of each."""
        width = max(len(self.prod), len(self.candidate))
        out = []
        for rank in range(width):
            p = self.prod[rank] if rank < len(self.prod) else None
            c = self.candidate[rank] if rank < len(self.candidate) else None
            out.append(
                {
                    "rank": rank + 1,
                    "prod": p["skillTitle"] if p else "",
                    "prod_confidence": p["confidenceScore"] if p else None,
                    "candidate": c["skillTitle"] if c else "",
                    "candidate_confidence": c["confidenceScore"] if c else None,
                    "change": _change(self, c["skill_id"])
                    if c
                    else ("lost" if p and p["skill_id"] in self.lost else ""),
                }
            )
        return out


def _change(comparison: TextComparison, skill_id: str) -> str:
    if skill_id in comparison.gained:
        return "gained"
    if skill_id in comparison.reranked:
        return "re-ranked"
    return "same"


def compare_records(
    request_id: str, text: str, prod: dict[str, Any], candidate: dict[str, Any]
) -> TextComparison:
    """What changed from PROD's record to the candidate's for one text."""
    prod_skills = list(prod.get("skillExtractOutput") or [])
    cand_skills = list(candidate.get("skillExtractOutput") or [])
    prod_rank = {s["skill_id"]: i for i, s in enumerate(prod_skills)}
    cand_rank = {s["skill_id"]: i for i, s in enumerate(cand_skills)}
    return TextComparison(
        request_id,
        text,
        prod_skills,
        cand_skills,
        gained=[s for s in cand_rank if s not in prod_rank],
        lost=[s for s in prod_rank if s not in cand_rank],
        reranked=[s for s in cand_rank if s in prod_rank and cand_rank[s] != prod_rank[s]],
    )


def compare(
    texts: Sequence[dict[str, Any]], prod_predict: Predict, candidate_predict: Predict
) -> list[TextComparison]:
    """Run both models on `texts` (rows of `recent_texts`) and compare them text by text."""
    if not texts:
        return []
    bodies = [t["text"] for t in texts]
    prod_records, cand_records = prod_predict(bodies), candidate_predict(bodies)
    return [
        compare_records(t["request_id"], t["text"], p, c)
        for t, p, c in zip(texts, prod_records, cand_records)
    ]


def aggregate(comparisons: Sequence[TextComparison], confirmed: dict[str, set[str]]) -> dict[str, Any]:
    """Counts of gained/lost/re-ranked skills and, over reviewed texts, each model's mean
    jaccard/precision/recall/f1 against the confirmed skills (`n_reviewed` texts)."""
    summary: dict[str, Any] = {
        "n_texts": len(comparisons),
        "gained": sum(len(c.gained) for c in comparisons),
        "lost": sum(len(c.lost) for c in comparisons),
        "reranked": sum(len(c.reranked) for c in comparisons),
        "unchanged_texts": sum(1 for c in comparisons if not (c.gained or c.lost or c.reranked)),
    }
    reviewed = [c for c in comparisons if c.request_id in confirmed]
    summary["n_reviewed"] = len(reviewed)
    for side in ("prod", "candidate"):
        totals = dict.fromkeys(METRICS, 0.0)
        for comparison in reviewed:
            predicted = {s["skill_id"] for s in getattr(comparison, side)}
            truth = confirmed[comparison.request_id]
            for name, value in request_metrics(len(predicted), len(truth), len(predicted & truth)).items():
                totals[name] += value
        summary[side] = {name: (totals[name] / len(reviewed) if reviewed else None) for name in METRICS}
    return summary


def stage_predictor(services: Bootstrap, stage: str | None = None, version: str | None = None) -> Predict:
    """`texts -> records` with the model of a stage (default prod) or of a registered version.
    A stage answers through the process's inference client for it (the configured server or
    endpoint, `inference_url` / `sagemaker_endpoint`, else the model in this process); a
    version, which no endpoint serves, runs in this process. Both go through the one prediction
    path, unlogged here: comparisons are not served predictions (a remote server logs what it
    serves)."""
    from mlops.adapters.inference.in_process import InProcessInferenceClient

    if stage is not None and version is not None:
        raise ValueError("give a stage or a version, not both")
    if version is not None:
        return InProcessInferenceClient(services.pipeline(version=version)).predict
    return services.inference(stage or "prod", log=False).predict


DEFAULT_MODEL_LABEL = "the default model (nothing is in PROD yet)"


@dataclass(frozen=True)
class Baseline:
    """What a candidate is compared with: PROD's model (`is_prod`) or, while nothing is in
    PROD, the default model a fresh install serves; `label` says which, for the page."""

    label: str
    is_prod: bool
    predict: Predict


def baseline(services: Bootstrap) -> Baseline:
    """PROD's model when PROD holds one (its registry pointer or its serving folder), else the
    default model: the configured base encoder over the configured (or bundled ESCO) taxonomy,
    loaded in this process. Either model loads on the first `predict`, not here."""
    from mlops.adapters.deploy.local import serving_dir
    from sea_core.bundle import is_bundle

    prod = services.registry.stage(Stage.PROD)
    if prod or is_bundle(serving_dir(services.settings.home, Stage.PROD)):

        def predict_prod(texts: Sequence[str]) -> list[dict[str, Any]]:
            return stage_predictor(services, stage="prod")(texts)

        return Baseline(f"PROD ({prod})" if prod else "PROD", True, predict_prod)

    def predict_default(texts: Sequence[str]) -> list[dict[str, Any]]:
        from mlops.adapters.inference.in_process import InProcessInferenceClient
        from mlops.services.model_loading import default_pipeline

        return InProcessInferenceClient(default_pipeline(services.settings)).predict(texts)

    return Baseline(DEFAULT_MODEL_LABEL, False, predict_default)

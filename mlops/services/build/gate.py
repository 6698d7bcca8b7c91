"""The test gate a contender passes before registration.

Functional tests: every new or changed skill (a deterministic sample of at most
`max_self_checks`) is among the top `self_top_k` when its own title + description is the input
(pass when the share found >= `min_self_match`); the golden job descriptions still yield their
expected skills (mean recall in the top `golden_top_k` >= `min_golden_recall`); edge inputs
(emoji, HTML, one word, a text of exactly the maximum length) do not crash. Model tests: test-set
metrics >= `min_metrics`; the encoder backend's export agrees with the fp32 model on the probe set
(`sea_core.backends`: mean cosine >= 0.99); a `latency_words`-word text costs the pipeline at most
`latency_max_ratio` times what the raw encoder takes to embed it once, both the median of
`latency_runs` interleaved runs in this process (a busy machine slows both alike), and, when
`latency_budget_ms` is set, at most that many milliseconds.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sea_core.backends import PROBE_TEXTS, TORCH, agreement, disagreement
from sea_core.embedding_cache import EmbeddingCache
from sea_core.pipeline import Pipeline
from sea_core.taxonomy import Skill

from .config import GateConfig
from .evaluate import PROJECT_ROOT

DEFAULT_GOLDEN_DIR = PROJECT_ROOT / "tests" / "golden"
#: `progress(fraction of the gate done, message)`.
Progress = Callable[[float, str], None]
_FILLER = (
    "experience with data analysis and project management, working in teams with clients "
    "to plan budgets, write reports and maintain software systems"
)


@dataclass(frozen=True)
class GoldenCase:
    """A job description and the skill titles it must yield."""

    name: str
    text: str
    expected: tuple[str, ...]


@dataclass
class GateReport:
    """The gate's verdict: every check with its detail, and the reasons of the failed ones."""

    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [f"{c['name']}: {c['detail']}" for c in self.checks if not c["passed"]]

    def add(self, name: str, passed: bool, detail: str, **data: Any) -> None:
        self.checks.append({"name": name, "passed": bool(passed), "detail": detail, **data})

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": self.reasons, "checks": self.checks}


def load_golden(folder: str | Path | None = None) -> list[GoldenCase]:
    """Golden cases from `*.json` files (`{"text": ..., "expected": [titles]}`), sorted by name;
    empty when the folder is absent. ValueError naming a malformed file."""
    folder = Path(folder) if folder else DEFAULT_GOLDEN_DIR
    cases = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            text, expected = doc["text"], doc["expected"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"golden file {path}: needs 'text' and 'expected': {exc}") from exc
        if (
            not isinstance(text, str)
            or not text.strip()
            or not isinstance(expected, list)
            or not all(isinstance(t, str) and t.strip() for t in expected)
        ):
            raise ValueError(
                f"golden file {path}: 'text' must be a non-empty string and 'expected' a list of skill titles"
            )
        cases.append(GoldenCase(path.stem, text, tuple(expected)))
    return cases


def self_text(skill: Skill) -> str:
    """The input of the self-match check: the skill's title and description."""
    return f"{skill.title}. {skill.description}".strip() if skill.description else skill.title


def _sample(skills: Sequence[Skill], limit: int) -> list[Skill]:
    if len(skills) <= limit:
        return list(skills)
    return sorted(skills, key=lambda s: hashlib.sha256(s.skill_id.encode()).hexdigest())[:limit]


def check_self_match(
    pipeline: Pipeline, skills: Sequence[Skill], config: GateConfig, report: GateReport
) -> None:
    """New/changed skills are found among the top-k of their own title + description."""
    checked = _sample(skills, config.max_self_checks)
    if not checked:
        report.add("self_match", True, "no new or changed skills to check", checked=0)
        return
    ranked = pipeline.rank_batch([self_text(skill) for skill in checked], config.self_top_k)
    misses = [
        skill.title
        for skill, top in zip(checked, ranked, strict=True)
        if skill.skill_id not in {sid for sid, _ in top}
    ]
    share = 1 - len(misses) / len(checked)
    report.add(
        "self_match",
        share >= config.min_self_match,
        f"{len(checked) - len(misses)}/{len(checked)} skills in their own top "
        f"{config.self_top_k} ({share:.3f}, minimum {config.min_self_match})",
        checked=len(checked),
        of=len(skills),
        share=round(share, 4),
        misses=misses[:20],
    )


def check_golden(
    pipeline: Pipeline, cases: Sequence[GoldenCase], config: GateConfig, report: GateReport
) -> None:
    """Golden job descriptions still yield their expected skills (those in the taxonomy)."""
    by_title = {s.title.lower(): s.skill_id for s in pipeline.taxonomy}
    with_gold = [
        (case, gold)
        for case in cases
        if (gold := {by_title[t.lower()] for t in case.expected if t.lower() in by_title})
    ]
    rankings = pipeline.rank_batch([case.text for case, _ in with_gold], config.golden_top_k)
    recalls, details = [], {}
    for (case, gold), top in zip(with_gold, rankings, strict=True):
        recalls.append(len(gold & {sid for sid, _ in top}) / len(gold))
        details[case.name] = round(recalls[-1], 4)
    if not recalls:
        report.add("golden", True, "skipped: no golden skill is in this taxonomy", cases=0)
        return
    recall = statistics.fmean(recalls)
    report.add(
        "golden",
        recall >= config.min_golden_recall,
        f"mean recall@{config.golden_top_k} {recall:.3f} over {len(recalls)} cases "
        f"(minimum {config.min_golden_recall})",
        recall=round(recall, 4),
        cases=details,
    )


def edge_inputs(max_chars: int) -> dict[str, str]:
    """Inputs that must not crash the pipeline."""
    long_text = (_FILLER + " ") * (max_chars // (len(_FILLER) + 1) + 1)
    return {
        "emoji": "Python developer 🐍🚀 who loves data 📊 and teamwork 🤝",
        "html": "<div><h1>Data Analyst</h1><p>Skills: <b>SQL</b>, <i>Excel</i> &amp; "
        "reporting</p><script>alert(1)</script></div>",
        "one_word": "accounting",
        "max_length": long_text[:max_chars],
    }


def check_edge_inputs(pipeline: Pipeline, report: GateReport) -> None:
    """Edge inputs give a record (no exception)."""
    failures = {}
    for name, text in edge_inputs(pipeline.config.max_text_chars).items():
        try:
            record = pipeline.extract(text)
            if not isinstance(record.get("skillExtractOutput"), list):
                failures[name] = "no skillExtractOutput list"
        except Exception as exc:  # any crash fails the gate, with its text
            failures[name] = f"{type(exc).__name__}: {exc}"
    report.add(
        "edge_inputs",
        not failures,
        "all edge inputs processed" if not failures else f"crashed on {sorted(failures)}",
        failures=failures,
    )


def check_metrics(metrics: dict[str, Any], config: GateConfig, report: GateReport) -> None:
    """Test-set metrics reach their configured minima (a missing metric fails)."""
    short = {
        name: (metrics.get(name), minimum)
        for name, minimum in config.min_metrics.items()
        if not isinstance(metrics.get(name), (int, float)) or metrics[name] < minimum
    }
    report.add(
        "metrics",
        not short,
        "all metrics at or above their minima"
        if not short
        else "; ".join(f"{n} {v if v is not None else 'missing'} < {m}" for n, (v, m) in short.items()),
        minima=dict(config.min_metrics),
    )


def latency_text(words: int) -> str:
    """A job-description-like text of exactly `words` words."""
    base = _FILLER.replace(",", "").split()
    return " ".join(base[i % len(base)] for i in range(words))


@dataclass(frozen=True)
class LatencyMeasure:
    """Medians of the latency check, in milliseconds: the pipeline (no phrase cache) and the raw
    encoder (sentence-transformers, batch of one, the whole text once) on the same text."""

    pipeline_ms: float
    raw_encoder_ms: float
    runs: int

    @property
    def ratio(self) -> float:
        """Pipeline over raw encoder (inf when the raw encoder took no measurable time)."""
        return self.pipeline_ms / self.raw_encoder_ms if self.raw_encoder_ms > 0 else float("inf")


def measure_latency(pipeline: Pipeline, text: str, runs: int) -> LatencyMeasure:
    """Median pipeline and raw-encoder times on `text` over `runs` interleaved runs after one
    warm-up of each; the pipeline runs without its phrase cache (each run encodes every phrase)."""
    uncached = Pipeline(
        pipeline.encoder,
        pipeline.taxonomy,
        pipeline.index,
        pipeline.span_extractor,
        pipeline.config,
        pipeline.model_version,
        pipeline.embeddings_dir,
        phrase_cache=EmbeddingCache(0),
    )
    raw = pipeline.encoder.model
    uncached.extract(text)
    raw.encode([text], batch_size=1)
    times, raw_times = [], []
    for _ in range(runs):
        started = time.perf_counter()
        uncached.extract(text)
        times.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        raw.encode([text], batch_size=1)
        raw_times.append((time.perf_counter() - started) * 1000)
    return LatencyMeasure(statistics.median(times), statistics.median(raw_times), runs)


def judge_latency(measure: LatencyMeasure, config: GateConfig, words: int, report: GateReport) -> None:
    """Pass when the ratio is at most `latency_max_ratio` (and the median within
    `latency_budget_ms` when set)."""
    ratio_ok = measure.ratio <= config.latency_max_ratio
    budget_ok = config.latency_budget_ms is None or measure.pipeline_ms <= config.latency_budget_ms
    budget = "" if config.latency_budget_ms is None else f", budget {config.latency_budget_ms:.0f} ms"
    report.add(
        "latency",
        ratio_ok and budget_ok,
        f"{words} words: pipeline {measure.pipeline_ms:.1f} ms = {measure.ratio:.2f}x the raw encoder's "
        f"{measure.raw_encoder_ms:.1f} ms (median of {measure.runs}; maximum "
        f"{config.latency_max_ratio:g}x{budget})",
        ms=round(measure.pipeline_ms, 2),
        raw_encoder_ms=round(measure.raw_encoder_ms, 2),
        ratio=round(measure.ratio, 3),
        max_ratio=config.latency_max_ratio,
    )


def check_latency(pipeline: Pipeline, config: GateConfig, report: GateReport) -> None:
    """The pipeline's latency on a `latency_words`-word text as a ratio to the raw encoder."""
    measure = measure_latency(pipeline, latency_text(config.latency_words), config.latency_runs)
    judge_latency(measure, config, config.latency_words, report)


def check_backend(pipeline: Pipeline, report: GateReport) -> None:
    """The backend serving the queries agrees with the fp32 model on the probe set (the torch
    backend is the fp32 model: nothing to compare)."""
    encoder = pipeline.encoder
    if encoder.backend == TORCH:
        report.add("encoder_backend", True, "torch: the fp32 model itself", backend=TORCH)
        return
    result = agreement(encoder.encode(PROBE_TEXTS, fp32=True), encoder.encode(PROBE_TEXTS))
    report.add(
        "encoder_backend",
        result.ok,
        f"{encoder.backend} agrees with the fp32 model on {result.probes} probe texts: mean cosine "
        f"{result.mean_cosine:.4f}, worst {result.min_cosine:.4f}"
        if result.ok
        else disagreement(encoder.backend, result),
        backend=encoder.backend,
        mean_cosine=result.mean_cosine,
        min_cosine=result.min_cosine,
    )


def run_gate(
    pipeline: Pipeline,
    changed: Sequence[Skill],
    metrics: dict[str, Any],
    config: GateConfig,
    golden: Sequence[GoldenCase] | None = None,
    progress: Progress | None = None,
) -> GateReport:
    """Every gate check on the contender's pipeline; `changed` are the new or changed skills;
    `progress(fraction, message)` before each check."""
    report = GateReport()
    golden = load_golden(config.golden_dir or None) if golden is None else golden
    steps: list[tuple[str, Callable[[], None]]] = [
        (
            f"gate: self-match of {min(len(changed), config.max_self_checks)} new or changed skills",
            lambda: check_self_match(pipeline, changed, config, report),
        ),
        (f"gate: {len(golden)} golden texts", lambda: check_golden(pipeline, golden, config, report)),
        ("gate: edge inputs", lambda: check_edge_inputs(pipeline, report)),
        ("gate: metric minima", lambda: check_metrics(metrics, config, report)),
        ("gate: encoder backend agreement", lambda: check_backend(pipeline, report)),
        (f"gate: latency, {config.latency_runs} runs", lambda: check_latency(pipeline, config, report)),
    ]
    for done, (message, check) in enumerate(steps):
        if progress:
            progress(done / len(steps), message)
        check()
    return report

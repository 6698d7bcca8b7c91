"""Build configuration: encoder(s), architecture, loss, fine-tuning hyper-parameters
(`sea_core.finetune.FineTuneParams`), pair split, reviewed hold-out, promotion rule and
test-gate thresholds.

Defaults live in `defaults.json` beside this module; a JSON or TOML file (e.g. `<home>/build.toml`)
and keyword overrides are merged over them, key by key (the `gate` and `pipeline` tables too).
`base_encoder`, `primary_metric`, `promotion_margin` and `encoder_backend` left null take the
settings' values (`Settings.base_encoder`, `.primary_metric`, `.promotion_margin`,
`.encoder_backend`; `BuildConfig.resolved`).
`pipeline` sets keys of the bundle's pipeline settings (`top_k`, `min_confidence`,
`max_text_chars`, `match`); keys it leaves out keep the champion's values, else sea_core's
defaults (`sea_core.bundle.pipeline_config`).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sea_core.backends import BACKENDS
from sea_core.bundle import PIPELINE_CONFIG_KEYS, BundleError, pipeline_config
from sea_core.text_encoding import parse_json

if TYPE_CHECKING:
    from mlops.config import Settings

DEFAULTS_PATH = Path(__file__).with_name("defaults.json")
#: The loss of the one trainer (`sea_core.finetune`: in-batch and reviewers' hard negatives).
#: Champions trained before recorded "CosineSimilarityLoss"; retraining them is a MAJOR change.
LOSSES = ("MultipleNegativesRankingLoss",)
#: Configuration keys whose change (versus the champion's record) makes a MAJOR version; "matcher"
#: is the kind of matcher the bundle serves (`sea_core.matching.matcher_kind`).
MAJOR_KEYS = ("base_encoder", "architecture", "loss", "matcher")


class BuildConfigError(ValueError):
    """The build configuration is invalid; the message names the key."""


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the test gate run before registration."""

    self_top_k: int = 3
    min_self_match: float = 1.0
    max_self_checks: int = 100
    golden_dir: str = ""  # empty: <project root>/tests/golden
    golden_top_k: int = 10
    min_golden_recall: float = 0.6
    min_metrics: dict[str, float] = field(default_factory=lambda: {"cosine_accuracy": 0.6})
    #: The latency check: the pipeline's median over `latency_runs` runs on a `latency_words`-word
    #: text is at most `latency_max_ratio` times the raw encoder's (sentence-transformers, batch
    #: of one, the whole text) measured in the same process, so a busy machine slows both alike.
    #: Measured: the ONNX pipeline 0.46x (build gate, full ESCO, load 12.7), the torch pipeline
    #: 2.9x (bench_core) and 3.35x (tiny test encoder); 4x passes both backends, fails a 2x slip.
    latency_max_ratio: float = 4.0
    latency_runs: int = 5
    latency_words: int = 250
    #: An absolute ceiling besides the ratio (None: none; a loaded machine can fail it).
    latency_budget_ms: float | None = None


@dataclass(frozen=True)
class BuildConfig:
    """Everything a build needs to know besides the data."""

    base_encoder: str | None = None  # None: Settings.base_encoder
    candidate_encoders: tuple[str, ...] = ()
    architecture: str = "bi-encoder-mean-pooling+phrase-spans"
    loss: str = "MultipleNegativesRankingLoss"
    max_steps: int = 150
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    loss_scale: float = 20.0
    taxonomy_pairs: int = 2000
    review_repeats: int = 2
    seed: int = 42
    max_train_pairs: int = 20000
    max_test_pairs: int = 2000
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    negatives_per_positive: int = 1
    holdout_fraction: float = 0.25
    min_reviewed: int = 30
    primary_metric: str | None = None
    promotion_margin: float | None = None
    encoder_backend: str | None = None  # None: Settings.encoder_backend
    ranking_top_k: int = 10
    device: str | None = None
    gate: GateConfig = field(default_factory=GateConfig)
    pipeline: dict[str, Any] = field(default_factory=dict)

    def resolved(self, settings: Settings) -> BuildConfig:
        """This configuration with its null settings taken from `settings` (`base_encoder`,
        `primary_metric`, `promotion_margin`, `encoder_backend`)."""
        return replace(
            self,
            base_encoder=self.base_encoder or settings.base_encoder,
            encoder_backend=self.encoder_backend or settings.encoder_backend,
            primary_metric=self.primary_metric or settings.primary_metric,
            promotion_margin=float(
                settings.promotion_margin if self.promotion_margin is None else self.promotion_margin
            ),
        )

    @property
    def candidates(self) -> tuple[str, ...]:
        """The encoders a retraining build trains and compares (the base encoder when none listed)."""
        return tuple(self.candidate_encoders) or ((self.base_encoder,) if self.base_encoder else ())

    def hyperparameters(self, base_encoder: str | None = None, matcher: str | None = None) -> dict[str, Any]:
        """What the registry records as `hyperparameters` for a model trained from `base_encoder`
        and served with `matcher` (`sea_core.matching.matcher_kind`; left out when None)."""
        data = asdict(self)
        for key in (
            "candidate_encoders",
            "gate",
            "primary_metric",
            "promotion_margin",
            "device",
            "max_test_pairs",
            "ranking_top_k",
            "pipeline",
            "holdout_fraction",
            "min_reviewed",
            "encoder_backend",  # recorded beside them: the same weights run by another runtime
        ):
            data.pop(key)
        data["base_encoder"] = base_encoder or self.base_encoder
        if matcher is not None:
            data["matcher"] = matcher
        return data


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if key in ("gate", "pipeline") and isinstance(value, Mapping):
            merged[key] = {**(merged.get(key) or {}), **value}
        else:
            merged[key] = value
    return merged


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else parse_json(text, str(path))
    except (OSError, ValueError) as exc:
        raise BuildConfigError(f"build configuration {path}: cannot be read: {exc}") from exc
    if not isinstance(data, dict):
        raise BuildConfigError(f"build configuration {path}: must be a table/object")
    return data.get("build", data) if isinstance(data.get("build"), dict) else data


def _check(config: BuildConfig) -> BuildConfig:
    if config.loss not in LOSSES:
        raise BuildConfigError(f"loss: unknown {config.loss!r}; use one of {', '.join(LOSSES)}")
    for name in (
        "max_steps",
        "batch_size",
        "max_train_pairs",
        "max_test_pairs",
        "ranking_top_k",
        "review_repeats",
        "min_reviewed",
    ):
        if not isinstance(getattr(config, name), int) or getattr(config, name) < 1:
            raise BuildConfigError(f"{name}: must be a whole number >= 1, got {getattr(config, name)!r}")
    if config.batch_size < 2:
        raise BuildConfigError("batch_size: must be at least 2")
    if not isinstance(config.taxonomy_pairs, int) or config.taxonomy_pairs < 0:
        raise BuildConfigError(f"taxonomy_pairs: must be a whole number >= 0, got {config.taxonomy_pairs!r}")
    for name in ("val_fraction", "test_fraction", "holdout_fraction"):
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or not 0.0 < value < 0.5:
            raise BuildConfigError(f"{name}: must be between 0 and 0.5 (exclusive), got {value!r}")
    if config.promotion_margin is not None and not 0.0 <= config.promotion_margin <= 1.0:
        raise BuildConfigError(f"promotion_margin: must be in [0, 1], got {config.promotion_margin!r}")
    if config.encoder_backend is not None and config.encoder_backend not in BACKENDS:
        raise BuildConfigError(
            f"encoder_backend: unknown {config.encoder_backend!r}; use one of {', '.join(BACKENDS)}"
        )
    if config.base_encoder is not None and not str(config.base_encoder).strip():
        raise BuildConfigError("base_encoder: must not be empty")
    unknown = sorted(set(config.pipeline) - set(PIPELINE_CONFIG_KEYS))
    if unknown:
        raise BuildConfigError(
            f"pipeline.{unknown[0]}: unknown pipeline setting (known: {', '.join(PIPELINE_CONFIG_KEYS)})"
        )
    try:
        shaping = pipeline_config(config.pipeline)
    except BundleError as exc:
        raise BuildConfigError(f"pipeline: {exc}") from None
    if isinstance(shaping.top_k, bool) or not isinstance(shaping.top_k, int) or shaping.top_k < 0:
        raise BuildConfigError(f"pipeline.top_k: must be a whole number >= 0, got {shaping.top_k!r}")
    if (
        isinstance(shaping.min_confidence, bool)
        or not isinstance(shaping.min_confidence, (int, float))
        or not 0.0 <= shaping.min_confidence <= 1.0
    ):
        raise BuildConfigError(f"pipeline.min_confidence: must be in [0, 1], got {shaping.min_confidence!r}")
    gate = config.gate
    for name in ("min_self_match", "min_golden_recall"):
        value = getattr(gate, name)
        if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise BuildConfigError(f"gate.{name}: must be in [0, 1], got {value!r}")
    if gate.latency_budget_ms is not None and gate.latency_budget_ms <= 0:
        raise BuildConfigError(f"gate.latency_budget_ms: must be > 0, got {gate.latency_budget_ms!r}")
    if not isinstance(gate.latency_max_ratio, (int, float)) or gate.latency_max_ratio <= 0:
        raise BuildConfigError(f"gate.latency_max_ratio: must be > 0, got {gate.latency_max_ratio!r}")
    if isinstance(gate.latency_runs, bool) or not isinstance(gate.latency_runs, int) or gate.latency_runs < 1:
        raise BuildConfigError(f"gate.latency_runs: must be a whole number >= 1, got {gate.latency_runs!r}")
    return config


def build_config_from_dict(data: Mapping[str, Any]) -> BuildConfig:
    """A checked BuildConfig from a plain mapping (unknown keys are errors)."""
    known = {f.name for f in fields(BuildConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BuildConfigError(f"{unknown[0]}: unknown build setting (known: {', '.join(sorted(known))})")
    values = dict(data)
    gate = dict(values.pop("gate", {}) or {})
    gate_known = {f.name for f in fields(GateConfig)}
    bad = sorted(set(gate) - gate_known)
    if bad:
        raise BuildConfigError(f"gate.{bad[0]}: unknown gate setting")
    values["candidate_encoders"] = tuple(values.get("candidate_encoders") or ())
    values["pipeline"] = dict(values.get("pipeline") or {})
    try:
        return _check(BuildConfig(**values, gate=GateConfig(**gate)))
    except TypeError as exc:
        raise BuildConfigError(f"build configuration: {exc}") from exc


def load_build_config(path: str | Path | None = None, **overrides: Any) -> BuildConfig:
    """`defaults.json`, then the file at `path` (JSON, or TOML with an optional [build] table),
    then `overrides`, merged key by key."""
    data = json.loads(DEFAULTS_PATH.read_text(encoding="utf-8"))
    if path is not None:
        data = _merge(data, _read_file(Path(path)))
    return build_config_from_dict(_merge(data, overrides))

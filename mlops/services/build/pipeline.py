"""The model build: trigger -> data -> candidates (train or re-embed) -> evaluation ->
champion–contender -> test gate -> upload -> register -> model card -> DEV deploy.

Version rules (`mlops.versioning`):
- nothing registered yet: the base encoder(s) packaged untrained as 1.0.0 (still gated, recorded);
- `skills-update`: PATCH — the champion's weights, the taxonomy re-embedded reusing the
  champion's `embeddings.npy` (only new or changed skills are encoded);
- `calibrate`: PATCH — the champion's weights, only the output rule refitted;
- `code-change`, `performance-drop`, `manual`: retrain (`train.fine_tune` on the reviewed
  training slice) -> MINOR, or MAJOR when the contender's base encoder, architecture or loss
  differs from the champion's recorded hyper-parameters.

Reviewer ground truth decides (`reviews`): the reviewed texts are split by a hash of the request
id into a training slice and a hold-out. Every candidate's output rule is fitted on the training
slice (`sea_core.calibration.fit_output_rule`: a threshold grid or a learned acceptance model)
and stored in its bundle's pipeline.json (so it is served); a candidate retrained on that slice
is fitted on its base encoder's rankings of it (fine-tuned weights score the texts they, or the
champion they started from, trained on in-sample). The rule is in the
experiment record, the registry record and the model card. Champion and contender are scored on
the same evaluation set, the reviewed hold-out (the shipped golden set below
`min_reviewed` reviewed texts), with `sea_core.quality`'s metrics; pair metrics on the fixed
test set stay recorded. The primary metric defaults to `jaccard` (what production monitors);
when the evaluation set is empty (no golden skill in this taxonomy) it is `cosine_f1`, and the
record says so.

The champion is the highest registered version whose status is not failed / not-promoted /
rejected. Promotion rule: a retrained or recalibrated contender is registered only when its
primary metric beats the champion's strictly and by at least the margin. A skills-update build
is compared for the record but registered whenever the gate passes (it adds skills the champion
cannot serve).

The encoder backend (`BuildConfig.encoder_backend`, default `Settings.encoder_backend` =
`SEA_ENCODER_BACKEND`, ONNX fp32) is part of the model version: every candidate is packaged with
it (its verified export beside the weights in the bundle), the gate checks that the export agrees
with the fp32 model on the probe set (`sea_core.backends`, mean cosine >= 0.99) before anything
is registered, and the registry record, the experiment record and the model card name it. A
backend other than the champion's never changes a registered version's files: it ships as a new
version of the build's own kind (PATCH for a skills update or a calibration, the weights being
the same; MINOR for a retrain), the experiment recording `backend_changed`.

Speed: the evaluation texts are embedded in batches (`evaluate.encode_items`); a PATCH build
reuses the champion's pair metrics when it keeps the champion's fixed test set and backend (same
weights, same pairs: same numbers) and its taxonomy embeddings for unchanged skills. Progress
moves with the work (training steps, skills encoded, items evaluated) and carries the stage's
estimated time left (`mlops.domain.progress`).

Files before records: the bundle is uploaded first; the registry entry is written only after the
upload succeeded (an upload failure registers nothing). Every attempt writes an experiment record.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mlops.adapters.deploy.local import LocalTarget
from mlops.adapters.store.base import ArtifactStore
from mlops.adapters.store.layout import version_prefix
from mlops.adapters.warehouse.base import Warehouse
from mlops.datasets import data_checksum, data_version
from mlops.domain.clock import utc_now
from mlops.domain.progress import StageProgress
from mlops.domain.registry_records import RegistryEntry
from mlops.domain.stages import ModelStatus, Stage
from mlops.services import audit, release
from mlops.services.identity import User, require_role, system_user
from mlops.services.registry import Registry
from mlops.versioning import Version
from sea_core.backends import PROBE_TEXTS
from sea_core.bundle import (
    EMBEDDING_MODEL_DIR,
    TAXONOMY_FILE,
    is_bundle,
    load_bundle,
    pipeline_config,
    read_pipeline_settings,
    read_taxonomy,
    save_bundle,
    seal_bundle,
    update_pipeline_settings,
)
from sea_core.calibration import fit_output_rule
from sea_core.embeddings import build_index
from sea_core.encoder import Encoder, EncoderError
from sea_core.matching import MatchConfig, matcher_kind
from sea_core.pipeline import Pipeline, PipelineConfig
from sea_core.taxonomy import Taxonomy

from . import data as build_data
from . import reviews as build_reviews
from .config import MAJOR_KEYS, BuildConfig, load_build_config
from .evaluate import PAIR_METRICS, TASK_METRICS, pair_metrics, primary_value, task_metrics
from .experiments import new_experiment_id, write_experiment
from .gate import GoldenCase, load_golden, run_gate
from .model_card import model_card_key, render_model_card
from .train import fine_tune

TRIGGERS = ("code-change", "skills-update", "performance-drop", "manual", "calibrate")
#: Triggers that keep the champion's weights (a PATCH version).
SAME_WEIGHTS = ("skills-update", "calibrate")
#: The primary metric when the evaluation set is empty.
FALLBACK_PRIMARY = "cosine_f1"
#: Largest difference of probe embeddings under which two encoders run the same weights.
SAME_WEIGHTS_ATOL = 1e-5
Progress = Callable[[float, str], None]


class BuildError(RuntimeError):
    """The build could not run or failed (bad trigger, no data, upload failure, gate failure)."""


@dataclass
class BuildResult:
    """What a build did. `version` is set only when a version was registered."""

    outcome: str
    trigger: str
    bump: str
    candidate_version: str
    version: str | None
    parent_version: str | None
    metrics: dict[str, Any]
    comparison: dict[str, Any]
    gate: dict[str, Any]
    experiment_key: str
    encoded_count: int
    candidates: list[dict[str, Any]] = field(default_factory=list)
    model_card_key: str | None = None
    deployment: dict[str, Any] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def registered(self) -> bool:
        return self.outcome == "registered"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def backend_record(encoder: Encoder) -> dict[str, Any]:
    """The backend an encoder serves with and, for an export, its agreement with the fp32 model
    on the probe set (`sea_core.backends.Agreement`)."""
    agreement = asdict(encoder.agreement) if encoder.agreement is not None else None
    return {"backend": encoder.backend, "agreement": agreement}


def champion_record(registry: Registry) -> RegistryEntry | None:
    """The champion: highest registered version whose status allows serving; None when none."""
    eligible = [entry for entry in registry.entries() if entry.servable]
    return eligible[-1] if eligible else None


def bump_kind(
    trigger: str,
    champion: RegistryEntry | None,
    config: BuildConfig,
    base_encoder: str | None = None,
    matcher: str | None = None,
) -> str:
    """'initial' (nothing registered), 'patch' (skills update or calibration: same weights and
    matcher), 'major' (encoder, architecture, loss or `matcher` differs from the champion's
    recorded hyper-parameters) or 'minor' (retrained weights). A skills update or calibration
    that would change the matcher is refused (`BuildError`): a new matcher is a major version."""
    if champion is None:
        return "initial"
    if trigger in SAME_WEIGHTS:
        recorded = champion.hyperparameters.get("matcher")
        if matcher is not None and recorded is not None and recorded != matcher:
            raise BuildError(
                f"a {trigger} build keeps champion {champion.version}'s matcher ({recorded}); the build "
                f"configuration asks for {matcher}: retrain to change it (a major version)"
            )
        return "patch"
    return "major" if is_major_change(champion, config, base_encoder, matcher) else "minor"


def _champion_for(bump: str, champion: RegistryEntry | None) -> RegistryEntry:
    """The champion a non-initial build works from (`bump_kind` says 'initial' without one)."""
    if champion is None:
        raise BuildError(f"a {bump} build needs a registered champion")
    return champion


def is_major_change(
    champion: RegistryEntry, config: BuildConfig, base_encoder: str | None = None, matcher: str | None = None
) -> bool:
    """True when `base_encoder` (default: the config's), the architecture, the loss or `matcher`
    differs from what the champion recorded; keys the champion did not record (or a None
    `matcher`) count as unchanged."""
    recorded = champion.hyperparameters
    wanted = config.hyperparameters(base_encoder, matcher)
    return any(key in recorded and key in wanted and recorded[key] != wanted[key] for key in MAJOR_KEYS)


def candidate_pipeline_config(
    champion_settings: dict[str, Any] | None, config: BuildConfig, max_text_chars: int
) -> PipelineConfig:
    """The pipeline settings of a candidate bundle: the build config's `pipeline` keys over the
    champion's pipeline.json settings (when there is a champion) over sea_core's defaults, with
    `max_text_chars` from the settings unless one of those sets it. `match` merges key by key."""
    old = champion_settings or {}
    # no champion: today's matcher; else the champion's recorded one (old knobs stay off)
    base_match = old.get("match") if champion_settings else asdict(MatchConfig())
    match = {**(base_match or {}), **(config.pipeline.get("match") or {})}
    return pipeline_config({"max_text_chars": max_text_chars, **old, **config.pipeline, "match": match})


class _Build:
    """One build's state; `run` drives the steps and always records the experiment."""

    # Set when the build starts (`_run`): the champion bundle's pipeline.json (None without a
    # champion) and the pipeline settings every candidate bundle is saved with.
    _champion_settings: dict[str, Any] | None
    _candidate_config: PipelineConfig

    def __init__(
        self,
        settings: Any,
        warehouse: Warehouse | None,
        store: ArtifactStore,
        trigger: str,
        user: User,
        progress: Progress,
        config: BuildConfig,
        deploy_target: Any,
        golden: list[GoldenCase] | None,
        work: Path,
    ) -> None:
        config = config.resolved(settings)
        self.settings, self.warehouse, self.store = settings, warehouse, store
        self.trigger, self.user, self.progress, self.config = trigger, user, progress, config
        self.deploy_target, self.work = deploy_target, work
        self.registry = Registry(store)
        self.golden = load_golden(config.gate.golden_dir or None) if golden is None else golden
        self.primary: str = config.primary_metric or settings.primary_metric
        self.margin = float(config.promotion_margin or 0.0)
        self._backend: str = config.encoder_backend or settings.encoder_backend
        self.timings: dict[str, float] = {}
        self.split = build_reviews.ReviewedSplit((), ())
        self.evaluation = build_reviews.EvaluationSet(build_reviews.GOLDEN_SET, (), "not chosen yet")
        self.experiment_id, self.experiment_key = new_experiment_id()
        self.experiment: dict[str, Any] = {
            "id": self.experiment_id,
            "key": self.experiment_key,
            "started_at": utc_now(),
            "trigger": trigger,
            "user": user.username,
            "primary_metric": self.primary,
            "promotion_margin": self.margin,
            "encoder_backend": {"backend": self._backend},
            "outcome": "failed",
            "registered": False,
            "version": None,
        }

    # -- helpers ---------------------------------------------------------------------------
    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)

    def _step(self, fraction: float, message: str) -> None:
        self.progress(max(0.0, min(1.0, fraction)), message)

    def _stage(self, start: float, end: float) -> StageProgress:
        """A stage owning [start, end] of the progress bar, reporting its time left."""
        return StageProgress(self._step, max(0.0, min(1.0, start)), max(0.0, min(1.0, end)))

    def _fetch_champion(self, champion: RegistryEntry) -> Path:
        """Download the champion's bundle (its record's `model_path`, else the standard prefix)."""
        folder = self.work / "champion"
        prefixes = dict.fromkeys(
            p.rstrip("/") for p in (champion.model_path or "", version_prefix(champion.version)) if p
        )
        for prefix in prefixes:
            if self.store.get_dir(prefix, folder) and is_bundle(folder):
                return folder
            shutil.rmtree(folder, ignore_errors=True)
        raise BuildError(
            f"champion {champion.version} has no bundle under "
            f"{' or '.join(p + '/' for p in prefixes)} in {self.store.url}"
        )

    def _score(
        self,
        pipeline: Pipeline,
        test: list[dict],
        pairs: dict[str, Any] | None = None,
        stage: StageProgress | None = None,
    ) -> dict[str, Any]:
        """Pair metrics on the fixed test set (`pairs` when already known for these weights and
        this test set) and task metrics on the evaluation set."""
        if pairs is None:
            if stage:
                stage(0.0, f"pair metrics on {len(test)} fixed test pairs")
            pairs = pair_metrics(pipeline.encoder, test)
        metrics: dict[str, Any] = dict(pairs)
        metrics.update(
            task_metrics(
                pipeline,
                self.evaluation.items,
                self.config.ranking_top_k,
                (lambda done, total: stage.items(done, total, "evaluation texts encoded")) if stage else None,
            )
        )
        return metrics

    def _reusable_pair_metrics(
        self, bump: str, champion: RegistryEntry | None, splits: build_data.Splits
    ) -> dict[str, Any] | None:
        """The champion's recorded pair metrics when a PATCH build keeps its weights, its backend
        and its fixed test set (the numbers could not differ); else None."""
        if bump != "patch" or champion is None or champion.test_data_path != splits.test_key:
            return None
        if champion.encoder_backend != self._backend:
            return None
        recorded = champion.metrics
        if not all(isinstance(recorded.get(name), (int, float)) for name in PAIR_METRICS):
            return None
        return {name: recorded[name] for name in PAIR_METRICS}

    def _reference(self, base_encoder: str, candidate: Pipeline) -> tuple[str, Pipeline] | None:
        """What ranks the calibration texts of a candidate whose weights were fine-tuned (by this
        build or, for the champion it starts from, an earlier one): its base encoder's weights,
        which never trained on reviews, with the candidate's taxonomy, span extractor and
        settings, and a name for the record. None when the candidate runs the base's own
        weights (they encode the backend check's `PROBE_TEXTS` alike). Fine-tuned weights score
        the texts they trained on higher than they will score new ones (the slice only grows),
        which misleads the fit (`bench_learning.py`: an acceptance model fitted on the retrained
        model's own rankings scored lower on the hold-out than one fitted on the base
        encoder's). The base index reuses the shipped prebuilt rows where the taxonomy matches
        them."""
        encoder = Encoder(base_encoder, backend=self._backend)
        base, own = encoder.encode(PROBE_TEXTS), candidate.encoder.encode(PROBE_TEXTS)
        if base.shape == own.shape and np.abs(base - own).max() <= SAME_WEIGHTS_ATOL:
            return None
        index = build_index(encoder, candidate.taxonomy, self.work / "reference-index")
        pipeline = Pipeline(encoder, candidate.taxonomy, index, candidate.span_extractor, candidate.config)
        return f"base encoder {base_encoder}", pipeline

    def _calibrate(self, folder: Path, base_encoder: str | None) -> tuple[Pipeline, dict[str, Any]]:
        """Fit the candidate's output rule on the reviewed training slice (starting from the
        rule its bundle serves) and store it in the bundle; the pipeline serving it and the
        calibration record. The texts are ranked by `_reference` where it gives a pipeline,
        else by the candidate itself."""
        pipeline = load_bundle(folder)
        ranked_by, ranker = "the candidate", pipeline
        if base_encoder is not None:
            try:
                reference = self._reference(base_encoder, pipeline)
            except EncoderError as exc:  # e.g. a hub id offline: recorded, not fatal
                ranked_by, reference = f"the candidate (base encoder not loadable: {exc})", None
            if reference is not None:
                ranked_by, ranker = reference
        examples = build_reviews.calibration_examples(ranker, self.split.train)
        fitted = fit_output_rule(
            examples, ranker.index.skill_ids, ranker.index.matrix, default=pipeline.config.rule
        )
        update_pipeline_settings(folder, output_rule=fitted.rule.to_dict())
        pipeline.config = replace(pipeline.config, output_rule=fitted.rule)
        return pipeline, {**fitted.to_dict(), "ranked_by": ranked_by}

    @property
    def _matcher(self) -> str:
        """The kind of matcher the candidate bundles serve (`matcher_kind`)."""
        return matcher_kind(self._candidate_config.match)

    def _candidate_bundle(
        self, name: str, encoder: Encoder, taxonomy: Taxonomy, index: Any, champion_dir: Path | None
    ) -> Path:
        folder = self.work / name
        if champion_dir is not None and not folder.exists():
            shutil.copytree(champion_dir, folder)  # keeps span models and pipeline settings
            if Path(encoder.path).resolve() != (folder / EMBEDDING_MODEL_DIR).resolve():
                shutil.rmtree(folder / EMBEDDING_MODEL_DIR)
        save_bundle(
            folder,
            encoder,
            taxonomy,
            index,
            "0.0.0",
            self._candidate_config,
            (self._champion_settings or {}).get("span_extractor"),
        )
        seal_bundle(folder)
        return folder

    # -- the build -------------------------------------------------------------------------
    def run(self) -> BuildResult:
        try:
            return self._run()
        except Exception as exc:
            self.experiment.update(outcome="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.experiment.update(finished_at=utc_now(), timings=self.timings)
            write_experiment(self.store, self.experiment_key, self.experiment)

    def _run(self) -> BuildResult:
        cfg, exp = self.config, self.experiment
        started = time.perf_counter()
        self._step(0.02, "reading the registry and the taxonomy")
        champion = champion_record(self.registry)
        taxonomy, tax_source = build_data.resolve_taxonomy(self.warehouse)
        champion_dir = self._fetch_champion(champion) if champion else None
        old_taxonomy = read_taxonomy(champion_dir / TAXONOMY_FILE) if champion_dir else None
        diff = (
            old_taxonomy.diff(taxonomy)
            if old_taxonomy is not None
            else {"added": list(taxonomy), "changed": [], "removed": []}
        )
        self._champion_settings = read_pipeline_settings(champion_dir) if champion_dir is not None else None
        self._candidate_config = candidate_pipeline_config(
            self._champion_settings, cfg, self.settings.max_text_chars
        )
        bump = bump_kind(self.trigger, champion, cfg, matcher=self._matcher)
        exp.update(
            bump=bump,
            parent_version=champion.version if champion else None,
            taxonomy={
                "version": taxonomy.version,
                "checksum": taxonomy.checksum,
                "source": tax_source,
                "skills": len(taxonomy),
                **{k: len(v) for k, v in diff.items()},
            },
        )
        self._timed("prepare", started)

        started = time.perf_counter()
        self._step(0.06, "loading training pairs and the fixed test set")
        test_key = champion.test_data_path if champion else None
        if bump == "patch" and test_key and self.store.exists(test_key):
            # same weights: no training data needed, only the champion's fixed test set
            found = build_data.PairSet([], f"champion {_champion_for(bump, champion).version} (no training)")
        else:
            found = build_data.load_pairs(self.warehouse, taxonomy, cfg)
        pairs, source = found.pairs, found.source
        splits = build_data.split_pairs(pairs, self.store, cfg, test_key)
        if bump == "patch":
            parent = _champion_for(bump, champion)
            train_key, val_key = parent.train_data_path, parent.val_data_path
            checksum, dversion = parent.data_checksum, parent.data_version
        else:
            train_key, _ = build_data.save_pairs(self.store, "train", splits.train)
            val_key, _ = build_data.save_pairs(self.store, "val", splits.val)
            checksum = found.data_checksum or data_checksum(
                [{k: str(p[k]) for k in build_data.PAIR_FIELDS} for p in pairs]
            )
            dversion = found.data_version or data_version(checksum, self.registry.data_versions())
        exp["data"] = {
            "source": source,
            "pairs": len(pairs),
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test),
            "train_data_path": train_key,
            "val_data_path": val_key,
            "test_data_path": splits.test_key,
            "test_created": splits.test_created,
            "data_version": dversion,
            "data_checksum": checksum,
            "test_checksum": splits.test_checksum,
        }
        reviewed = (
            build_reviews.reviewed_requests(self.warehouse, taxonomy) if self.warehouse is not None else []
        )
        self.split = build_reviews.split_reviewed(reviewed, cfg.holdout_fraction)
        self.evaluation = build_reviews.evaluation_set(self.split, taxonomy, self.store, cfg.min_reviewed)
        exp["evaluation"] = self.evaluation.to_dict()
        if not self.evaluation.items and self.primary in TASK_METRICS:
            exp["primary_metric_note"] = (
                f"{self.primary} needs an evaluation set and this "
                f"taxonomy has none: compared on {FALLBACK_PRIMARY}"
            )
            self.primary = exp["primary_metric"] = FALLBACK_PRIMARY
        self._timed("data", started)

        candidates = self._candidates(bump, champion, champion_dir, taxonomy, splits)
        best = max(candidates, key=lambda c: primary_value(c["metrics"], self.primary))
        best["chosen"] = True
        exp["candidates"] = [
            {k: v for k, v in c.items() if k not in ("folder", "pipeline")} for c in candidates
        ]
        exp["hyperparameters"] = best["hyperparameters"]
        exp["metrics"] = best["metrics"]
        exp["calibration"] = best["calibration"]
        exp["output_rule"] = best["calibration"]["rule"]
        exp["encoded_count"] = best["encoded_count"]
        exp["encoder_backend"] = best["encoder_backend"]
        exp["backend_changed"] = champion is not None and champion.encoder_backend != self._backend
        if bump != "initial":
            bump = (
                "patch"
                if bump == "patch"
                else (
                    "major"
                    if is_major_change(_champion_for(bump, champion), cfg, best["encoder"], self._matcher)
                    else "minor"
                )
            )
            exp["bump"] = bump

        started = time.perf_counter()
        self._step(0.8, "comparing with the champion")
        comparison = self._compare(bump, champion, champion_dir, splits.test, best)
        exp["champion"] = {
            "version": comparison.get("champion_version"),
            "metrics": comparison.pop("champion_metrics", {}),
        }
        exp["comparison"] = comparison
        self._timed("compare", started)
        candidate_version = self._reserve_version("minor" if bump == "initial" else bump)
        exp["candidate_version"] = candidate_version
        result = BuildResult(
            "not-promoted",
            self.trigger,
            bump,
            candidate_version,
            None,
            exp["parent_version"],
            best["metrics"],
            comparison,
            {},
            self.experiment_key,
            best["encoded_count"],
            exp["candidates"],
            timings=self.timings,
        )
        if not comparison["promoted"]:
            exp.update(outcome="not-promoted", gate={"passed": None, "reasons": ["not run"]})
            self._audit("build.not_promoted", candidate_version, comparison)
            self._step(1.0, f"not promoted: {comparison['reason']}")
            return result

        started = time.perf_counter()
        self._step(0.85, "running the test gate")
        changed = [*diff["added"], *diff["changed"]] if bump == "patch" else list(taxonomy)
        gate = run_gate(
            best["pipeline"], changed, best["metrics"], cfg.gate, self.golden, self._stage(0.85, 0.9)
        )
        exp["gate"] = result.gate = gate.to_dict()
        self._timed("gate", started)
        if not gate.passed:
            exp["outcome"] = result.outcome = "gate-failed"
            self._audit("build.gate_failed", candidate_version, {"reasons": gate.reasons})
            self._step(1.0, "gate failed: " + "; ".join(gate.reasons))
            return result

        version = self._register(candidate_version, best, champion, taxonomy, exp)
        result.outcome, result.version = "registered", version
        result.model_card_key = exp["model_card"]
        self._step(0.97, f"deploying {version} to DEV")
        result.deployment = exp["deployment"] = self._deploy_dev(version)
        self._step(1.0, f"registered {version}")
        return result

    def _candidates(
        self,
        bump: str,
        champion: RegistryEntry | None,
        champion_dir: Path | None,
        taxonomy: Taxonomy,
        splits: build_data.Splits,
    ) -> list[dict[str, Any]]:
        """Build and evaluate every candidate bundle."""
        cfg = self.config
        specs: list[tuple[str | None, str, Path, int, dict[str, Any] | None, dict[str, Any]]]
        if bump == "patch":
            champion = _champion_for(bump, champion)
            if champion_dir is None:
                raise BuildError(f"a patch build needs the bundle of champion {champion.version}")
            started = time.perf_counter()
            self._step(0.2, "re-embedding new and changed skills with the champion's encoder")
            hyper = {**(champion.hyperparameters or cfg.hyperparameters()), "matcher": self._matcher}
            folder = self.work / "candidate-0"
            shutil.copytree(champion_dir, folder)
            encoder = Encoder(folder / EMBEDDING_MODEL_DIR, backend=self._backend)
            stage = self._stage(0.2, 0.6)
            index = build_index(
                encoder,
                taxonomy,
                folder / EMBEDDING_MODEL_DIR,
                progress=lambda done, total: stage.items(done, total, "new or changed skills encoded"),
            )
            self._candidate_bundle("candidate-0", encoder, taxonomy, index, champion_dir)
            self._timed("embed", started)
            specs = [
                (
                    hyper.get("base_encoder", cfg.base_encoder),
                    f"champion {champion.version}",
                    folder,
                    index.encoded_count,
                    None,
                    hyper,
                )
            ]
        else:
            specs = []
            todo = cfg.candidates
            for i, spec in enumerate(todo):
                lo, hi = 0.1 + 0.6 * i / len(todo), 0.1 + 0.6 * (i + 1) / len(todo)
                start: str | Path = spec
                label = "base encoder"
                if (
                    champion is not None
                    and champion_dir is not None
                    and not is_major_change(champion, cfg, spec, self._matcher)
                ):
                    start, label = champion_dir / EMBEDDING_MODEL_DIR, f"champion {champion.version} weights"
                summary = None
                started = time.perf_counter()
                if bump == "initial":
                    self._step(lo, f"packaging base encoder {spec}")
                    model_path: str | Path = spec
                else:
                    self._step(
                        lo,
                        f"fine-tuning {spec} ({label}) on {len(self.split.train)} "
                        "reviewed texts + taxonomy self-supervision",
                    )
                    model_path = self.work / f"trained-{i}"
                    summary = fine_tune(
                        start,
                        self.split.train,
                        taxonomy,
                        cfg,
                        model_path,
                        self._stage(lo, lo + (hi - lo) * 0.7),
                    )
                self._timed("train", started)
                started = time.perf_counter()
                self._step(lo + (hi - lo) * 0.75, f"embedding the taxonomy with candidate {i + 1}")
                encoder = Encoder(model_path, backend=self._backend)
                stage = self._stage(lo + (hi - lo) * 0.75, hi)
                index = build_index(
                    encoder,
                    taxonomy,
                    progress=lambda done, total: stage.items(
                        done, total, f"skills encoded (candidate {i + 1})"
                    ),
                )
                folder = self._candidate_bundle(f"candidate-{i}", encoder, taxonomy, index, champion_dir)
                self._timed("embed", started)
                specs.append(
                    (
                        spec,
                        label,
                        folder,
                        index.encoded_count,
                        summary,
                        cfg.hyperparameters(spec, self._matcher),
                    )
                )
        out = []
        reusable = self._reusable_pair_metrics(bump, champion, splits)
        for i, (base, label, folder, encoded, summary, hyper) in enumerate(specs):
            started = time.perf_counter()
            lo, hi = 0.7 + 0.1 * i / len(specs), 0.7 + 0.1 * (i + 1) / len(specs)
            self._step(
                lo, f"calibrating and evaluating candidate {i + 1}/{len(specs)} ({self.evaluation.name})"
            )
            pipeline, calibration = self._calibrate(folder, base)
            metrics = self._score(pipeline, splits.test, reusable, self._stage(lo, hi))
            self._timed("evaluate", started)
            out.append(
                {
                    "encoder": base,
                    "start": label,
                    "folder": folder,
                    "pipeline": pipeline,
                    "metrics": metrics,
                    "calibration": calibration,
                    "training": summary,
                    "encoded_count": encoded,
                    "encoder_backend": backend_record(pipeline.encoder),
                    "pair_metrics_source": "champion record (same weights, backend and test set)"
                    if reusable is not None
                    else "computed",
                    "hyperparameters": hyper,
                    "chosen": False,
                }
            )
        return out

    def _compare(
        self,
        bump: str,
        champion: RegistryEntry | None,
        champion_dir: Path | None,
        test: list[dict],
        best: dict,
    ) -> dict[str, Any]:
        """The champion–contender decision with both sides' metrics, on the same test set and
        evaluation set (the champion serving its own output rule)."""
        if champion is None:
            return {
                "promoted": True,
                "champion_version": None,
                "champion_metrics": {},
                "reason": "first version: no champion to beat",
            }
        contender = best["metrics"]
        recorded = champion.metrics
        same_evaluation = (champion.record.get("evaluation") or {}).get("items_checksum") == self.experiment[
            "evaluation"
        ]["items_checksum"]
        if (
            champion.test_data_path == self.experiment["data"]["test_data_path"]
            and same_evaluation
            and set(contender) <= set(recorded)
        ):
            # same bundle, same fixed test set, same evaluation set: its recorded metrics stand
            champ, source = {k: recorded[k] for k in contender}, "registry record"
        else:
            if champion_dir is None:
                raise BuildError(f"champion {champion.version}: its bundle was not fetched")
            champ = self._score(load_bundle(champion_dir), test)
            source = f"re-evaluated on the test set and the {self.evaluation.name} set"
        deltas = {
            k: round(contender[k] - champ[k], 6) for k in contender if isinstance(champ.get(k), (int, float))
        }
        base = {
            "champion_version": champion.version,
            "champion_metrics": champ,
            "champion_metrics_source": source,
            "deltas": deltas,
            "primary_metric": self.primary,
            "margin": self.margin,
        }
        if self.trigger == "skills-update":
            return {
                **base,
                "promoted": True,
                "reason": "skills update: the champion's weights with new or changed skills; "
                "registered when the gate passes (ranking deltas recorded)",
            }
        new, old = primary_value(contender, self.primary), primary_value(champ, self.primary)
        promoted = new > old and new >= old + self.margin
        verdict = "beats" if promoted else "does not beat"
        return {
            **base,
            "promoted": promoted,
            "contender": new,
            "champion": old,
            "reason": f"contender {self.primary} {new:.4f} {verdict} champion {old:.4f} "
            f"by the margin {self.margin}",
        }

    def _reserve_version(self, kind: str) -> str:
        """The next version of that kind whose store prefix is still empty."""
        version = self.registry.next_version(kind)
        for _ in range(20):
            if not self.store.list(version_prefix(version) + "/"):
                return version
            version = str(Version.parse(version).bump(kind))
        raise BuildError(f"no free version prefix after {version}")

    def _register(
        self, version: str, best: dict, champion: RegistryEntry | None, taxonomy: Taxonomy, exp: dict
    ) -> str:
        """Upload the bundle, then register it, then write its model card."""
        started = time.perf_counter()
        self._step(0.9, f"uploading {version}")
        folder: Path = best["folder"]
        update_pipeline_settings(folder, model_version=version)
        prefix = version_prefix(version)
        try:
            self.store.put_dir(prefix, folder)
        except Exception as exc:
            for key in self.store.list(prefix + "/"):
                try:
                    self.store.delete(key)
                except Exception:  # best-effort clean-up, the error below matters
                    pass
            raise BuildError(f"uploading {version} to {prefix}/ failed, nothing registered: {exc}") from exc
        self._timed("upload", started)
        data = exp["data"]
        record = {
            "bucket": self.store.url,
            "model_path": prefix,
            "train_data_path": data["train_data_path"],
            "val_data_path": data["val_data_path"],
            "test_data_path": data["test_data_path"],
            "metrics": best["metrics"],
            "data_version": data["data_version"],
            "data_checksum": data["data_checksum"],
            "timestamp": utc_now(),
            "taxonomy_version": taxonomy.version,
            "taxonomy_checksum": taxonomy.checksum,
            "hyperparameters": best["hyperparameters"],
            "parent_version": champion.version if champion else None,
            "trigger": self.trigger,
            "status": ModelStatus.REGISTERED.value,
            "bump": exp["bump"],
            "output_rule": best["calibration"]["rule"],
            "calibration": best["calibration"],
            "evaluation": exp["evaluation"],
            "evaluation_data_path": exp["evaluation"]["key"],
            "experiment": self.experiment_key,
            "model_card": model_card_key(version),
            "encoded_count": best["encoded_count"],
            "encoder_backend": best["encoder_backend"]["backend"],
            "encoder_agreement": best["encoder_backend"].get("agreement"),
        }
        self.registry.register(version, record)
        exp.update(outcome="registered", registered=True, version=version, model_card=model_card_key(version))
        self.store.put_bytes(model_card_key(version), render_model_card(version, record, exp).encode("utf-8"))
        self._audit(
            "build.registered", version, {"bump": exp["bump"], "parent_version": record["parent_version"]}
        )
        return version

    def _deploy_dev(self, version: str) -> dict[str, Any]:
        """`release.deploy_dev` (the build's deploy target, else the local serving folders);
        without a warehouse (no audit log) only the registry's DEV pointer moves."""
        if self.warehouse is None:
            self.registry.set_stage(
                Stage.DEV,
                version,
                who=system_user().username,
                comment="automatic DEV pointer after registration (no warehouse for the release audit)",
                decision="deployed",
            )
            return {"stage": Stage.DEV.value, "version": version, "via": "registry pointer only"}
        target = self.deploy_target or LocalTarget(self.store, self.settings.home)
        try:
            return release.deploy_dev(
                self.registry,
                self.warehouse,
                target,
                version,
                user=system_user(),
                comment=f"build {self.experiment_id}",
            )
        except Exception as exc:  # the version stays registered; report the failure
            return {"stage": Stage.DEV.value, "version": version, "error": f"{type(exc).__name__}: {exc}"}

    def _audit(self, action: str, version: str, details: dict[str, Any]) -> None:
        if self.warehouse is None:
            return
        with self.warehouse.transaction() as session:
            audit.record(
                session,
                self.user.username,
                action,
                f"model:{version}",
                {"trigger": self.trigger, "experiment": self.experiment_key, **details},
            )


def run_build(
    settings: Any,
    warehouse: Warehouse | None,
    store: ArtifactStore,
    trigger: str,
    user: User | None = None,
    progress: Progress | None = None,
    *,
    config: BuildConfig | None = None,
    deploy_target: Any = None,
    golden: list[GoldenCase] | None = None,
    scratch: Path | None = None,
) -> BuildResult:
    """Run one model build now (role admin or system); temporary files go under `scratch`
    (default: the system temp folder). Returns the result for the outcomes
    registered / not-promoted / gate-failed; raises BuildError (or the underlying error) when the
    build cannot complete. An experiment record is written in every case."""
    user = system_user() if user is None else user
    user = require_role(user, "admin", "system", action="run a model build", source=warehouse)
    if trigger not in TRIGGERS:
        raise BuildError(f"unknown trigger {trigger!r}: use one of {', '.join(TRIGGERS)}")
    if config is None:
        home = Path(settings.home)
        path = next((p for p in (home / "build.toml", home / "build.json") if p.is_file()), None)
        config = load_build_config(path)
    with tempfile.TemporaryDirectory(prefix="sea-build-", dir=scratch) as tmp:
        build = _Build(
            settings,
            warehouse,
            store,
            trigger,
            user,
            progress or (lambda f, m: None),
            config,
            deploy_target,
            golden,
            Path(tmp),
        )
        return build.run()

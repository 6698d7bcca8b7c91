"""Human labels for metrics and the registry table, path redaction in user-facing errors, and
what the UAT comparison runs against (PROD or the default model) without Streamlit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mlops.domain.stages import Stage
from mlops.entrypoints.ui.display import redact_paths
from mlops.entrypoints.ui.labels import (
    METRIC_LABELS,
    column_help,
    labelled_columns,
    metric_label,
    metric_rows,
    model_rows,
)
from mlops.services import uat_compare
from mlops.services.model_catalog import ModelRow
from sea_core.quality import RANKING_METRICS, SET_METRICS


# -- metric labels -----------------------------------------------------------------------------
def test_every_reported_metric_has_a_label_and_an_explanation():
    from mlops.services.build.evaluate import PAIR_METRICS

    for name in (*SET_METRICS, *RANKING_METRICS, *PAIR_METRICS):
        label = metric_label(name)
        assert label.label != name and label.explanation.endswith("."), name


def test_raw_metric_names_become_labels():
    assert metric_label("cosine_accuracy_threshold").label == "Pair match threshold"
    assert metric_label("r_precision@5").label == "Precision of the top 5"


def test_unknown_metric_reads_as_words():
    assert metric_label("golden_recall@10").label == "Golden recall at 10"
    assert metric_label("golden_recall@10").explanation == ""


def test_metric_rows_keep_numbers_only_rounded():
    rows = metric_rows({"cosine_f1": 0.81234, "notes": "text", "flag": True, "mrr": 1})
    assert rows == [
        {"Metric": "Pair F1", "Value": 0.812, "What it means": METRIC_LABELS["cosine_f1"].explanation},
        {"Metric": "Mean reciprocal rank", "Value": 1.0, "What it means": METRIC_LABELS["mrr"].explanation},
    ]


def test_metric_rows_of_nothing_is_empty():
    assert metric_rows({}) == []


def test_labelled_columns_rename_only_the_metrics():
    row = labelled_columns({"model": "PROD", "jaccard": 0.5, "n_reviews": 3}, SET_METRICS)
    assert row == {"model": "PROD", "Jaccard": 0.5, "n_reviews": 3}
    assert column_help(["f1"]) == {"F1": METRIC_LABELS["f1"].explanation}


# -- the registry table ------------------------------------------------------------------------
def _row(version: str, metrics: dict, **fields) -> ModelRow:
    return ModelRow(
        version=version,
        stages=(Stage.DEV, Stage.PROD) if version == "1.0.0" else (),
        fields={"status": "registered", "trigger": "manual", "data_checksum": "f" * 64, **fields},
        metrics=metrics,
        hyperparameters={"epochs": 1},
        approvals=2,
    )


def test_model_rows_have_no_checksums_or_json_and_label_metrics():
    rows = model_rows(
        [
            _row("1.1.0", {"cosine_accuracy": 0.9}, timestamp="2026-11-27T05:54:01.123Z"),
            _row("1.0.0", {"jaccard": 0.41234, "cosine_accuracy": 0.8}),
        ]
    )
    assert [r["Version"] for r in rows] == ["1.1.0", "1.0.0"]
    assert rows[0]["Registered"] == "2026-11-27 05:54 UTC" and rows[1]["Registered"] == "—"
    assert rows[1]["Stages"] == "DEV, PROD" and rows[0]["Stages"] == "—"
    assert rows[1]["Jaccard"] == 0.412 and rows[0]["Jaccard"] is None  # a metric only some have
    assert "F1" not in rows[0]  # a metric no version has is not a column
    for row in rows:
        assert not any("checksum" in str(key) or "{" in str(value) for key, value in row.items())


def test_model_rows_unreadable_timestamp_and_no_rows():
    assert model_rows([_row("1.0.0", {}, timestamp="not a time")])[0]["Registered"] == "—"
    assert model_rows([]) == []


# -- user-facing errors ------------------------------------------------------------------------
def test_server_paths_are_redacted():
    message = "no model is deployed to prod: /srv/sea/.sea/serving/prod holds no bundle"
    assert redact_paths(message) == "no model is deployed to prod: … holds no bundle"


@pytest.mark.parametrize(
    "message", ["see http://host:8080/a/b", "ratio 1/2, and/or", "root /", "./relative/path"]
)
def test_urls_fractions_and_relative_paths_stay(message):
    assert redact_paths(message) == message


# -- UAT baseline ------------------------------------------------------------------------------
class _Registry:
    def __init__(self, prod: str | None) -> None:
        self.prod = prod

    def stage(self, stage):
        return self.prod if stage == Stage.PROD else None


class _Inference:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def predict(self, texts):
        self.calls.append(tuple(texts))
        return [{"skillExtractOutput": []} for _ in texts]


def _services(tmp_path, prod: str | None):
    inference = _Inference()
    services = SimpleNamespace(
        registry=_Registry(prod),
        settings=SimpleNamespace(home=tmp_path),
        inference=lambda stage="prod", log=True: inference,
    )
    return services, inference


def test_baseline_is_prod_when_prod_holds_a_version(tmp_path):
    services, inference = _services(tmp_path, "1.0.0")
    against = uat_compare.baseline(services)
    assert against.is_prod and against.label == "PROD (1.0.0)"
    assert inference.calls == []  # nothing loads before the comparison
    assert against.predict(["a text"]) == [{"skillExtractOutput": []}]
    assert inference.calls == [("a text",)]


def test_baseline_is_the_default_model_when_prod_is_empty(tmp_path):
    services, inference = _services(tmp_path, None)
    against = uat_compare.baseline(services)
    assert not against.is_prod and against.label == uat_compare.DEFAULT_MODEL_LABEL
    assert "/" not in against.label and inference.calls == []


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "—"),
        (0, "0 s"),
        (59.4, "59 s"),
        (60, "1 min 0 s"),
        (185, "3 min 5 s"),
        (3600, "1 h 0 min"),
        (7800, "2 h 10 min"),
        (86400 + 4 * 3600, "1 d 4 h"),
        (-3, "0 s"),
    ],
)
def test_durations_read_in_units(seconds, text):
    from mlops.entrypoints.ui.labels import duration_text

    assert duration_text(seconds) == text

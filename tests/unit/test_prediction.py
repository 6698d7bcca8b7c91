"""The one prediction path (`mlops.services.prediction.predict`) with a fake model and a fake
prediction log: what is answered, what is logged, and how refusals and failures are reported."""

from __future__ import annotations

import threading

import pytest

from mlops.services.inference_scheduler import WorkCancelled
from mlops.services.prediction import PredictionInput, predict, status_for
from sea_core.validation import ValidationError, validate_text


class FakeModel:
    model_version = "3.2.1"

    def __init__(self, fail_on: str | None = None, max_chars: int = 100) -> None:
        self.fail_on, self.max_chars = fail_on, max_chars

    def extract(self, text, top_k=None, min_confidence=None):
        validate_text(text, max_chars=self.max_chars)
        if text == self.fail_on:
            raise RuntimeError("model exploded")
        return {
            "modelVersion": self.model_version,
            "requestId": f"id-{text}",
            "original_input": text,
            "skillExtractOutput": [],
            "options": (top_k, min_confidence),
        }


class FakeLog:
    def __init__(self, broken: bool = False) -> None:
        self.entries, self.broken = [], broken

    def log(self, record, stage, latency_ms, status="ok", error=None):
        if self.broken:
            raise OSError("disk full")
        self.entries.append((record["original_input"], stage, status, error))


def items(*texts, **options):
    return [PredictionInput(t, **options) for t in texts]


def test_each_item_is_answered_in_order_and_logged_under_the_stage():
    log = FakeLog()
    predictions = predict(
        FakeModel(), items("a", "b", top_k=3, min_confidence=0.5), stage="dev", prediction_log=log
    )
    assert [p.record["original_input"] for p in predictions] == ["a", "b"]
    assert predictions[0].record["options"] == (3, 0.5)
    assert log.entries == [("a", "dev", "ok", None), ("b", "dev", "ok", None)]


def test_no_log_and_no_items():
    assert predict(FakeModel(), []) == []
    assert len(predict(FakeModel(), items("a"))) == 1


def test_a_refused_text_is_located_keeps_its_kind_and_logs_nothing():
    log = FakeLog()
    with pytest.raises(ValidationError) as info:
        predict(FakeModel(max_chars=3), items("ok", "too long"), prediction_log=log)
    assert (info.value.field, info.value.kind, status_for(info.value)) == ("[1].text", "too_long", 413)
    with pytest.raises(ValidationError) as info:
        predict(FakeModel(), items("  "), prediction_log=log, single=True)
    assert (info.value.field, info.value.kind, status_for(info.value)) == ("text", "empty", 400)
    assert log.entries == []


def test_a_model_failure_logs_every_item_as_an_error_and_is_raised():
    log = FakeLog()
    with pytest.raises(RuntimeError, match="model exploded"):
        predict(FakeModel(fail_on="b"), items("a", "b"), stage="prod", prediction_log=log)
    assert log.entries == [
        ("a", "prod", "error", "RuntimeError: model exploded"),
        ("b", "prod", "error", "RuntimeError: model exploded"),
    ]


def test_a_broken_log_never_fails_the_prediction():
    predictions = predict(FakeModel(), items("a"), prediction_log=FakeLog(broken=True))
    assert predictions[0].record["original_input"] == "a"


def test_the_lock_is_held_while_predicting():
    lock = threading.Lock()

    class Checking(FakeModel):
        def extract(self, text, top_k=None, min_confidence=None):
            assert lock.locked()
            return super().extract(text, top_k, min_confidence)

    predict(Checking(), items("a"), lock=lock)
    assert not lock.locked()


class CountingTurns:
    """A `lock` that counts how often it is taken and says "client gone" at entry `gone_at`."""

    def __init__(self, gone_at: int | None = None) -> None:
        self.entered, self.held, self.gone_at = 0, False, gone_at

    def __enter__(self):
        if self.entered == self.gone_at:
            raise WorkCancelled("the client is gone")
        self.entered += 1
        self.held = True

    def __exit__(self, *exc):
        self.held = False


def test_the_lock_is_taken_for_each_item_and_released_between_them():
    turns = CountingTurns()
    seen = []

    class Checking(FakeModel):
        def extract(self, text, top_k=None, min_confidence=None):
            seen.append(turns.held)
            return super().extract(text, top_k, min_confidence)

    predict(Checking(), items("a", "b", "c"), lock=turns)
    assert (turns.entered, seen, turns.held) == (3, [True, True, True], False)


def test_a_cancelled_request_stops_and_logs_nothing():
    log, turns, model = FakeLog(), CountingTurns(gone_at=1), FakeModel()
    calls = []
    model.extract = lambda text, top_k=None, min_confidence=None: calls.append(text) or {}
    with pytest.raises(WorkCancelled):
        predict(model, items("a", "b", "c"), prediction_log=log, lock=turns)
    assert calls == ["a"]  # the remaining items were not run
    assert log.entries == []  # neither as served nor as errors: nobody received an answer

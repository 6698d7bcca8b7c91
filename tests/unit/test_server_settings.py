"""The inference server's queue bound as a setting (`SEA_INFERENCE_QUEUE_LIMIT`)."""

from __future__ import annotations

import pytest

from mlops.config import DEFAULT_INFERENCE_QUEUE_LIMIT, SettingsError, load_settings


def test_the_queue_limit_defaults_and_is_read_from_the_environment(tmp_path):
    none = tmp_path / "absent.toml"
    assert load_settings({}, none).inference_queue_limit == DEFAULT_INFERENCE_QUEUE_LIMIT == 16
    assert load_settings({"SEA_INFERENCE_QUEUE_LIMIT": "1"}, none).inference_queue_limit == 1


@pytest.mark.parametrize("raw", ["0", "-3", "many", "2.5"])
def test_a_queue_limit_below_one_or_not_a_number_is_refused(tmp_path, raw):
    with pytest.raises(SettingsError, match="inference_queue_limit"):
        load_settings({"SEA_INFERENCE_QUEUE_LIMIT": raw}, tmp_path / "absent.toml")

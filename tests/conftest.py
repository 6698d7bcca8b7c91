"""Shared test set-up: offline model hubs, shared fixtures from tests/fixtures."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.models",
    "tests.fixtures.tiny_models",
    "tests.fixtures.postgres",
    "tests.fixtures.s3",
]

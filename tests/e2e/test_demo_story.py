"""The demo story end to end (`mlops.demo.run_demo`) on the tiny encoder and the first
300 ESCO skills: users, imports, builds 1.0.0 and 1.0.1, feedback (the Jaccard alert fires, the
reviewers go on), the queued retraining build that beats the champion on the reviewed hold-out
and is registered as 1.1.0, releases through UAT to PROD, and a PROD rollback.

The tiny encoder is random but trainable: a learning rate of 1e-3 lets 60 contrastive steps
move its 1-layer BERT. The outcome is computed by the build, never set by the test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlops.adapters.store import open_store
from mlops.adapters.warehouse import open_warehouse
from mlops.demo import DEFAULT_BENCHMARK, DemoError, benchmark_files, run_demo
from mlops.services.build import load_build_config
from mlops.services.build.experiments import list_experiments
from mlops.services.registry import Registry

N_SKILLS = 300
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_story_from_an_empty_folder(tmp_path, tiny_sentence_encoder_dir):
    gate = {
        "min_self_match": 0.0,
        "min_golden_recall": 0.0,
        "min_metrics": {},
        "latency_budget_ms": 60000.0,
        "latency_max_ratio": 1000.0,  # a tiny encoder's pipeline is all overhead: not a latency test
        "max_self_checks": 20,
        "latency_words": 40,
    }
    config = load_build_config(
        None,
        base_encoder=str(tiny_sentence_encoder_dir),
        max_steps=60,
        batch_size=16,
        learning_rate=1e-3,
        taxonomy_pairs=300,
        max_train_pairs=200,
        max_test_pairs=100,
        device="cpu",
        gate=gate,
    )
    home = tmp_path / "demo"
    lines: list[tuple[int, str]] = []
    report = run_demo(
        home,
        lambda step, message: lines.append((step, message)),
        quick=True,
        build_config=config,
        taxonomy_limit=N_SKILLS,
        golden=[],
        benchmark_files=benchmark_files(ROOT / DEFAULT_BENCHMARK),
        min_reviews=20,
        max_reviews=60,
    )

    # every step reported, in order
    assert [s for s, m in lines if m.startswith("== step")] == [1, 2, 3, 4, 5, 6, 7]
    assert report.users == ["ada", "alan", "sam", "rita"]
    assert len(report.password) >= 12 and report.password != "demo-password-123"
    assert any(report.password in m for s, m in lines if s == 1)  # printed once, in step 1
    assert report.skills == {"initial": N_SKILLS, "added": 50}
    assert len(report.taxonomy_versions) == 2

    # builds: 1.0.0, then the PATCH 1.0.1 that encoded only the 50 new skills
    first, patch, retrain = report.builds
    assert (first["outcome"], first["version"], first["encoded_count"]) == ("registered", "1.0.0", N_SKILLS)
    assert (patch["outcome"], patch["version"], patch["bump"]) == ("registered", "1.0.1", "patch")
    assert patch["encoded_count"] == 50
    assert any("re-encoded 50 skills" in m for _, m in lines)

    # feedback on DEV (1.0.1): the Jaccard alert queued the retraining build; every text reviewed
    assert report.feedback["model_version"] == "1.0.1"
    assert report.feedback["reviews"] == 60
    assert "from the benchmark (house_validation_annotations.csv" in report.feedback["source"]
    assert [a["metric"] for a in report.alerts] == ["jaccard"]
    assert report.alerts[0]["model_version"] == "1.0.1" and report.alerts[0]["job_id"]
    assert report.job["job_id"] == report.alerts[0]["job_id"]
    assert report.job["status"] == "succeeded" and report.job["trigger"] == "performance-drop"

    # the retraining build: fine-tuned and calibrated on the reviewed training slice, it beats
    # the champion on the reviewed hold-out and is registered as the MINOR version 1.1.0
    assert retrain["trigger"] == "performance-drop" and retrain["candidate_version"] == "1.1.0"
    assert retrain["evaluation"]["set"] == "reviewed-holdout"
    assert retrain["evaluation"]["reviewed"] == 60 and retrain["evaluation"]["holdout"] > 0
    assert retrain["comparison"]["primary_metric"] == "jaccard"
    assert retrain["comparison"]["champion_version"] == "1.0.1"
    assert retrain["comparison"]["contender"] > retrain["comparison"]["champion"], retrain["comparison"]
    assert retrain["metrics"]["jaccard"] == retrain["comparison"]["contender"]
    assert retrain["champion_metrics"]["jaccard"] == retrain["comparison"]["champion"]
    assert (retrain["outcome"], retrain["version"], retrain["bump"]) == ("registered", "1.1.0", "minor")
    assert any(m.strip().startswith("jaccard: contender 1.1.0") and "champion 1.0.1" in m for _, m in lines)
    store = open_store(report.home.joinpath("artifacts").as_uri())
    experiments = {e["key"]: e for e in list_experiments(store)}
    assert experiments[retrain["experiment"]]["trigger"] == "performance-drop"
    assert experiments[retrain["experiment"]]["outcome"] == retrain["outcome"]

    # releases: the earlier version, then the newest, went to PROD; PROD rolled back
    registry = Registry(store)
    newest, earlier = "1.1.0", "1.0.1"
    assert [r["version"] for r in report.releases] == [earlier, newest]
    assert report.rollback == {"from": newest, "to": earlier, "by": "ada"}
    assert report.stages == {"dev": newest, "uat": newest, "prod": earlier}
    assert (registry.stage("dev"), registry.stage("uat"), registry.stage("prod")) == (newest, newest, earlier)
    served = json.loads((report.home / "serving" / "prod" / "pipeline.json").read_text())
    assert served["model_version"] == earlier
    newest_bundle = json.loads((report.home / "serving" / "uat" / "pipeline.json").read_text())
    assert newest_bundle["model_version"] == newest
    assert newest_bundle["output_rule"] == retrain["output_rule"]  # the calibrated rule is served
    trail = [
        (e["version"], e["to"], e["decision"], e["who"])
        for e in report.approvals
        if e["to"] in ("uat", "prod")
    ]
    assert trail == [
        (earlier, "uat", "signed-off", "sam"),
        (earlier, "prod", "approved", "alan"),
        (newest, "uat", "signed-off", "sam"),
        (newest, "prod", "approved", "ada"),
        (earlier, "prod", "rolled-back", "ada"),
    ]
    warehouse = open_warehouse(f"sqlite:///{report.home / 'sea.db'}")
    try:
        actions = [
            (r["actor"], r["action"], r["target"])
            for r in warehouse.query(
                "SELECT actor, action, target FROM audit_log WHERE action LIKE 'release.%' "
                "OR action = 'alert.raise' ORDER BY at, event_id"
            )
        ]
        queued = warehouse.query("SELECT kind, status FROM jobs")
    finally:
        warehouse.close()
    assert ("sam", "release.promote_uat", f"model:{newest}") in actions
    assert ("ada", "release.approve_prod", f"model:{newest}") in actions
    assert ("ada", "release.rollback_prod", f"model:{earlier}") in actions
    assert any(a == "alert.raise" for _, a, _ in actions)
    assert queued == [{"kind": "build", "status": "succeeded"}]
    assert any(m.strip().startswith("stages: DEV=") for _, m in lines)

    # the folder is no longer empty: a second run is refused before touching anything
    with pytest.raises(DemoError, match="not an empty folder"):
        run_demo(home, quick=True, build_config=config)

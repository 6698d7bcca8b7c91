"""The end-to-end story on an empty data folder, step by step (`python -m mlops demo`).

1. schema + store, demo users (admins ada and alan, stakeholder sam, reviewer rita) with one
   freshly generated password, printed once;
2. the bundled ESCO taxonomy imported into the warehouse;
3. the first build: 1.0.0, deployed to DEV;
4. 50 new skills imported, a skills-update build: PATCH 1.0.1 (only the new skills encoded);
5. reviewer feedback from the development benchmark on DEV predictions (through the in-process
   inference client, so each is logged): the Jaccard alert fires and queues a performance-drop
   build, and the reviewers go on through every text (the build needs a reviewed hold-out);
6. that build claimed and run: the encoder fine-tuned on the reviewed training slice, its output
   rule calibrated there, and contender and champion scored on the reviewed hold-out: a
   contender that beats the champion is registered as a MINOR version;
7. releases: the earlier version, then the newest, DEV -> UAT (sam) -> PROD (alan, ada), then
   PROD rolled back to the earlier one (ada); stage pointers, approval trail and audit log.

`run_demo(home, ...)` drives it on a `Bootstrap` of its own data folder and reports every step
through a callback; everything it did is returned as a `DemoReport`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops.bootstrap import Bootstrap
from mlops.config import Settings, load_settings
from mlops.demo.inputs import (
    N_NEW_SKILLS,
    DemoError,
    check_empty,
    demo_users,
    esco_rows,
    new_password,
    new_skill_rows,
    review_items,
    write_esco_csv,
)
from mlops.domain.stages import Stage
from sea_core.output_set import OutputRule

#: Called with (step number, message) for every line the story reports.
StepCallback = Callable[[int, str], None]


@dataclass
class DemoReport:
    """What the story did: versions, counts, metrics, outcomes, pointers and trails."""

    home: Path
    password: str = ""
    users: list[str] = field(default_factory=list)
    taxonomy_versions: list[str] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)
    builds: list[dict[str, Any]] = field(default_factory=list)
    feedback: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    stages: dict[Stage, str | None] = field(default_factory=dict)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# -- the story -------------------------------------------------------------------------------
def demo_settings(home: Path, min_reviews: int) -> Settings:
    """The settings of a demo in `home`: the embedded defaults there (SQLite, local store),
    nothing from the environment or a secrets file but the alert's minimum reviews."""
    env = {"SEA_HOME": str(home), "SEA_ALERT_MIN_REVIEWS": str(min_reviews)}
    return load_settings(env=env, secrets_path=home / "no-secrets.toml")


class _Story:
    def __init__(
        self,
        services: Bootstrap,
        say: StepCallback,
        quick: bool,
        build_config: Any,
        taxonomy_limit: int | None,
        benchmark_files: Sequence[Path],
        golden: list | None,
        max_reviews: int,
    ) -> None:
        self.say, self.quick, self.taxonomy_limit = say, quick, taxonomy_limit
        self.benchmark_files, self.golden, self.max_reviews = benchmark_files, golden, max_reviews
        self.services = services
        self.settings = services.settings
        self.report = DemoReport(home=self.settings.home)
        self.warehouse = services.warehouse
        self.store = services.store
        self.registry = services.registry
        self.target = services.deploy_target
        self.config = build_config
        self.users: dict[str, Any] = {}
        self.step_no = 0

    def out(self, message: str) -> None:
        self.say(self.step_no, message)

    def run(self) -> DemoReport:
        steps = (
            ("init schema, store and users", self.init),
            ("import the bundled ESCO taxonomy", self.import_esco),
            ("first build -> 1.0.0 in DEV", self.first_build),
            (f"add {N_NEW_SKILLS} skills, skills-update build -> PATCH", self.add_skills),
            ("reviewer feedback until the quality alert fires", self.feedback),
            ("run the queued retraining build", self.retrain),
            ("releases: DEV -> UAT -> PROD, then a PROD rollback", self.release),
        )
        for number, (title, fn) in enumerate(steps, start=1):
            self.step_no = number
            self.out(f"== step {number}: {title}")
            started = time.perf_counter()
            fn()
            self.report.timings[f"step{number}"] = round(time.perf_counter() - started, 1)
            self.out(f"   ({self.report.timings[f'step{number}']} s)")
        return self.report

    def _build_config(self) -> Any:
        if self.config is None:
            from mlops.services.build import load_build_config

            # quick: fewer pairs to make and test, but the build's own 150 training steps; with 60
            # the full-taxonomy contender lost to a champion whose rule folds near-duplicates
            # (Jaccard 0.541 against 0.545 on the reviewed hold-out; 150 steps: 0.570)
            overrides: dict[str, Any] = {"max_train_pairs": 1000, "max_test_pairs": 400} if self.quick else {}
            self.config = load_build_config(None, **overrides)
        return self.config

    def _build(self, trigger: str, user: Any) -> Any:
        from mlops.services.build import run_build

        last = [-1.0]

        def progress(fraction: float, message: str) -> None:
            if fraction - last[0] >= 0.1 or fraction >= 1.0:
                last[0] = fraction
                self.out(f"   [{fraction:4.0%}] {message}")

        result = run_build(
            self.settings,
            self.warehouse,
            self.store,
            trigger,
            user=user,
            progress=progress,
            config=self._build_config(),
            deploy_target=self.target,
            golden=self.golden,
        )
        experiment = json.loads(self.store.get_bytes(result.experiment_key))
        self.report.builds.append(
            {
                "trigger": trigger,
                "outcome": result.outcome,
                "version": result.version,
                "bump": result.bump,
                "candidate_version": result.candidate_version,
                "encoded_count": result.encoded_count,
                "metrics": result.metrics,
                "comparison": result.comparison,
                "gate": result.gate,
                "experiment": result.experiment_key,
                "evaluation": experiment.get("evaluation") or {},
                "output_rule": experiment.get("output_rule"),
                "champion_metrics": (experiment.get("champion") or {}).get("metrics") or {},
            }
        )
        metrics = ", ".join(
            f"{k} {v:.3f}"
            for k, v in sorted(result.metrics.items())
            if isinstance(v, float) and not k.endswith("threshold")
        )
        self.out(
            f"   outcome {result.outcome}: version {result.version or '-'} "
            f"(bump {result.bump}, candidate {result.candidate_version}), "
            f"{result.encoded_count} skills encoded"
        )
        self.out(f"   metrics: {metrics}")
        if result.outcome == "gate-failed":
            self.out("   gate failed: " + "; ".join(result.gate.get("reasons", [])))
        return result

    # -- steps -------------------------------------------------------------------------------
    def init(self) -> None:
        from mlops.adapters.warehouse.schema import current_version
        from mlops.entrypoints.commands.init import init_store
        from mlops.services.auth import create_user
        from mlops.services.identity import system_user

        written = init_store(self.store)  # the warehouse's schema was created on opening it
        self.out(
            f"   warehouse schema v{current_version(self.warehouse)} at "
            f"{self.settings.warehouse_url}; store {self.settings.store_url} "
            f"({len(written)} new keys)"
        )
        self.report.password = new_password()
        for account in demo_users():
            self.users[account.username] = create_user(
                self.warehouse, account.username, self.report.password, account.roles, system_user()
            )
            self.report.users.append(account.username)
            self.out(f"   user {account.username}: {', '.join(account.roles)}")
        self.out(f"   (demo password for every user, generated for this run: {self.report.password})")

    def _import(self, path: Path) -> Any:
        from mlops.services.taxonomy_import import import_taxonomy

        result = import_taxonomy(self.warehouse, path, self.users["ada"], queue_build=False)
        self.report.taxonomy_versions.append(result.version)
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        self.out(f"   taxonomy version {result.version} from {path.name}: {counts}")
        return result

    def import_esco(self) -> None:
        self.base_rows = esco_rows(self.taxonomy_limit)
        path = write_esco_csv(self.settings.home / "inputs" / "esco_skills_v1.1.0_en.csv", self.base_rows)
        self._import(path)
        self.report.skills["initial"] = len(self.base_rows)

    def first_build(self) -> None:
        self._build("manual", self.users["ada"])
        self.out(f"   DEV now serves {self.registry.stage('dev')}")

    def add_skills(self) -> None:
        titles = {" ".join(r["preferredLabel"].split()).lower() for r in self.base_rows}
        added = new_skill_rows(titles)
        path = write_esco_csv(
            self.settings.home / "inputs" / "esco_skills_v1.2.0_en.csv", [*self.base_rows, *added]
        )
        self._import(path)
        self.report.skills["added"] = len(added)
        self.out(f"   e.g. {', '.join(r['preferredLabel'] for r in added[:3])}, ...")
        result = self._build("skills-update", self.users["ada"])
        self.out(
            f"   re-encoded {result.encoded_count} skills (only the new ones); "
            f"DEV now serves {self.registry.stage('dev')}"
        )

    def feedback(self) -> None:
        from mlops.services.alerts import check_alerts
        from mlops.services.ground_truth_import import review_labelled

        pipeline = self.services.pipeline(stage="dev")
        client = self.services.inference("dev")  # in-process: logs each prediction
        items, source = review_items(pipeline.taxonomy, self.max_reviews, self.benchmark_files)
        self.out(f"   model {pipeline.model_version} (DEV); {len(items)} reviewer texts: {source}")
        prediction_log = self.services.prediction_log
        reviewed, totals = 0, [0, 0, 0]
        alerts: list[dict[str, Any]] = []
        for sentence, gold in items:
            record = client.predict([sentence])[0]
            prediction_log.deliver_pending()  # in the warehouse before it is reviewed
            # rita confirms the benchmark's skills and rejects the other suggestions
            summary = review_labelled(
                self.warehouse, pipeline.taxonomy, self.users["rita"], record, gold, reject_others=True
            )
            reviewed += 1
            for i, key in enumerate(("n_predicted", "n_confirmed", "n_overlap")):
                totals[i] += summary[key]
            if not alerts and reviewed >= self.settings.alert_min_reviews:
                alerts = check_alerts(self.warehouse, self.settings, notify=None)
                if alerts:
                    self.out(
                        f"   after {reviewed} reviews: ALERT {alerts[0]['message']}; the "
                        "reviewers go on through the remaining texts"
                    )
        prediction_log.flush()
        self.report.feedback = {
            "reviews": reviewed,
            "predicted": totals[0],
            "confirmed": totals[1],
            "overlap": totals[2],
            "source": source,
            "model_version": pipeline.model_version,
        }
        self.out(
            f"   rita reviewed {reviewed} predictions: {totals[0]} skills predicted, "
            f"{totals[1]} confirmed, {totals[2]} in both"
        )
        self.report.alerts = alerts
        if alerts:
            for alert in alerts:
                self.out(f"   build job queued by the alert: {alert['job_id']}")
            return
        from mlops.services import jobs
        from mlops.services.identity import system_user

        job_id = jobs.enqueue(self.warehouse, "build", {"trigger": "performance-drop"}, user=system_user())
        self.out(
            f"   no alert: quality stayed at or above the thresholds "
            f"{self.settings.thresholds}; queued a performance-drop build by hand ({job_id})"
        )

    def retrain(self) -> None:
        from mlops.services import jobs

        job = jobs.claim_next(self.warehouse, "sea-demo", kinds=["build"])
        if job is None:
            raise DemoError("no queued build job to run")
        trigger = (job.params or {}).get("trigger") or "performance-drop"
        self.out(f"   claimed job {job.job_id} (build, trigger {trigger})")
        try:
            result = self._build(trigger, self.users["ada"])
        except Exception as exc:
            jobs.fail(self.warehouse, job.job_id, f"{type(exc).__name__}: {exc}")
            raise
        jobs.finish(
            self.warehouse,
            job.job_id,
            {"outcome": result.outcome, "version": result.version, "experiment": result.experiment_key},
        )
        finished = jobs.get(self.warehouse, job.job_id)
        if finished is None:
            raise DemoError(f"the build job {job.job_id} vanished from the warehouse")
        self.report.job = {
            "job_id": job.job_id,
            "trigger": trigger,
            "outcome": result.outcome,
            "status": finished.status,
        }
        comparison = result.comparison
        built = self.report.builds[-1]
        evaluation = built["evaluation"]
        self.out(f"   evaluation set: {evaluation.get('set')} ({evaluation.get('reason', '')})")
        rule = built["output_rule"]
        self.out(f"   contender's output rule: {OutputRule.from_dict(rule).describe() if rule else '—'}")
        champion = built["champion_metrics"]
        for name in ("jaccard", "precision", "recall", "f1", "mrr", "r_precision@5"):
            if name in result.metrics and name in champion:
                self.out(
                    f"   {name:>14}: contender {result.candidate_version} "
                    f"{result.metrics[name]:.4f}  champion {comparison['champion_version']} "
                    f"{champion[name]:.4f}"
                )
        if "contender" in comparison:
            self.out(
                f"   contender {comparison['primary_metric']} {comparison['contender']:.4f} "
                f"vs champion {comparison['champion_version']} {comparison['champion']:.4f} "
                f"(margin {comparison['margin']})"
            )
        what = f"registered {result.version}" if result.registered else result.outcome
        self.out(f"   {what}: {comparison.get('reason', '')}")
        self.out(f"   experiment recorded: {result.experiment_key}; DEV serves {self.registry.stage('dev')}")

    def release(self) -> None:
        from mlops.services import audit, release

        sam, ada, alan = self.users["sam"], self.users["ada"], self.users["alan"]
        newest = self.registry.stage("dev")
        servable = [
            r["version"] for r in self.registry.versions() if r.get("status", "registered") == "registered"
        ]
        earlier = [v for v in servable if v != newest and servable.index(v) < servable.index(newest)]
        plan = ([(earlier[-1], alan)] if earlier else []) + [(newest, ada)]
        for version, approver in plan:
            if self.registry.stage("dev") != version:
                release.deploy_dev(
                    self.registry,
                    self.warehouse,
                    self.target,
                    version,
                    user=ada,
                    comment=f"redeploy {version} to release it",
                )
                self.out(f"   ada redeployed {version} to DEV")
            release.promote_to_uat(
                self.registry,
                self.warehouse,
                self.target,
                version,
                user=sam,
                comment=f"UAT sign-off: {version} reviewed on sample texts",
            )
            self.out(f"   sam signed {version} off to UAT")
            release.approve_prod(
                self.registry,
                self.warehouse,
                self.target,
                version,
                user=approver,
                comment=f"approved {version} for PROD",
                approver_must_differ=self.settings.approver_must_differ,
            )
            self.out(f"   {approver.username} approved {version} to PROD")
            self.report.releases.append(
                {"version": version, "requested_by": "sam", "approved_by": approver.username}
            )
        if earlier:
            back = earlier[-1]
            current = self.registry.stage("prod")
            release.rollback_prod(
                self.registry,
                self.warehouse,
                self.target,
                back,
                user=ada,
                comment=f"rollback drill: {current} -> {back}",
            )
            self.report.rollback = {"from": current, "to": back, "by": "ada"}
            self.out(f"   ada rolled PROD back from {current} to {back}")
        else:
            self.out("   only one releasable version: no rollback possible")
        self.report.stages = release.current_stages(self.registry)
        self.out("   stages: " + ", ".join(f"{k.upper()}={v or '-'}" for k, v in self.report.stages.items()))
        self.report.approvals = release.stage_history(self.registry)
        self.out("   approval trail:")
        for entry in self.report.approvals:
            self.out(
                f"     {entry.get('when', '')}  {entry['version']:>7} -> "
                f"{str(entry.get('to', '')).upper():<4} {entry.get('decision', ''):<11} "
                f"by {entry.get('who', '')}: {entry.get('comment', '')}"
            )
        with self.warehouse.transaction() as session:
            self.report.audit = list(reversed(audit.events(session, limit=1000)))
        wanted = ("release.", "build.", "alert.", "taxonomy.", "job.")
        trail = [e for e in self.report.audit if e["action"].startswith(wanted)]
        self.out(f"   audit log: {len(self.report.audit)} events; releases, builds and alerts:")
        for event in trail:
            self.out(f"     {event['at']}  {event['actor']:<6} {event['action']:<22} {event['target']}")


def run_demo(
    home: str | Path,
    say: StepCallback | None = None,
    *,
    quick: bool = False,
    build_config: Any = None,
    taxonomy_limit: int | None = None,
    benchmark_files: Sequence[Path] = (),
    golden: list | None = None,
    min_reviews: int = 20,
    max_reviews: int = 200,
) -> DemoReport:
    """Run the whole story in `home` (new or empty; DemoError otherwise), reporting each line
    through `say(step, message)`. `quick` shrinks the training data (1,000 pairs) unless a
    `build_config` is given; `taxonomy_limit` keeps the first N ESCO skills; the reviewer's
    texts come from `benchmark_files` (see `inputs.benchmark_files`), topped up with built-in
    ones; `golden` overrides the gate's golden cases; the alert needs `min_reviews` reviews,
    at most `max_reviews` are made."""
    if min_reviews < 1 or max_reviews < min_reviews:
        raise DemoError(f"need 1 <= min_reviews <= max_reviews, got {min_reviews}, {max_reviews}")
    folder = check_empty(Path(home))
    with Bootstrap(demo_settings(folder, min_reviews)) as services:
        story = _Story(
            services,
            say or (lambda step, message: None),
            quick,
            build_config,
            taxonomy_limit,
            benchmark_files,
            golden,
            max_reviews,
        )
        return story.run()

"""The end-to-end story on an empty data folder, step by step (`python -m mlops demo`).

1. schema + store, demo users (admins ada and alan, stakeholder sam, reviewer rita);
2. the bundled ESCO taxonomy imported into the warehouse;
3. the first build: 1.0.0, deployed to DEV;
4. 50 new skills imported, a skills-update build: PATCH 1.0.1 (only the new skills encoded);
5. reviewer feedback from the development benchmark on DEV predictions until the Jaccard
   alert fires and queues a performance-drop build;
6. that build claimed and run: contender against champion, registered or not promoted;
7. releases: the earlier version, then the newest, DEV -> UAT (sam) -> PROD (alan, ada), then
   PROD rolled back to the earlier one (ada); stage pointers, approval trail and audit log.

`run_demo(home, ...)` drives it and reports every step through a callback; everything it did
is returned as a `DemoReport`.
"""
from __future__ import annotations

import csv
import gzip
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sea_core.taxonomy import BUNDLED_ESCO

#: Called with (step number, message) for every line the story reports.
StepCallback = Callable[[int, str], None]
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BENCHMARK_DIR = PROJECT_ROOT.parent / "shared" / "data" / "benchmark"
DEMO_PASSWORD = "demo-password-123"
DEMO_USERS = (("ada", ("admin",)), ("alan", ("admin",)), ("sam", ("stakeholder",)),
              ("rita", ("reviewer",)))
N_NEW_SKILLS = 50
ESCO_HEADER = ("conceptUri", "preferredLabel", "altLabelsAndDescription")
#: Skills ESCO 1.1.0 does not have, added in step 4 (the first 50 whose titles are free).
NEW_SKILL_TITLES = (
    "prompt engineering", "large language model fine-tuning", "retrieval-augmented generation",
    "vector database administration", "MLOps pipeline design", "model monitoring",
    "feature store management", "data contract design", "dbt modelling", "Airflow orchestration",
    "Kubernetes operator development", "Terraform module authoring", "GitOps delivery",
    "observability engineering", "site reliability budgeting", "chaos engineering",
    "zero-trust network design", "cloud cost optimisation", "serverless application design",
    "edge computing deployment", "WebAssembly development", "Rust systems programming",
    "TypeScript front-end development", "GraphQL API design", "event streaming with Kafka",
    "data mesh governance", "synthetic data generation", "differential privacy engineering",
    "responsible AI assessment", "AI model card writing", "explainable AI reporting",
    "computer vision annotation", "speech recognition tuning", "recommendation system design",
    "A/B test analysis", "causal inference modelling", "time series forecasting with ML",
    "graph neural network modelling", "reinforcement learning from human feedback",
    "quantum algorithm prototyping", "low-code application building", "robotic process automation",
    "digital twin modelling", "drone flight planning", "EV charging network planning",
    "carbon accounting for software", "ESG data reporting", "remote team facilitation",
    "asynchronous collaboration", "accessibility auditing for web", "design token management",
    "product analytics instrumentation", "growth experimentation",
)
#: Built-in reviewer texts used to top up the benchmark (gold: the skills named).
FALLBACK_TEMPLATES = ("We need someone with solid {a} and {b} experience.",
                      "The role involves {a}; knowledge of {b} is a plus.",
                      "Candidates should be able to show {a} as well as {b}.")


class DemoError(RuntimeError):
    """The demo cannot run (e.g. the folder is not empty)."""


@dataclass
class DemoReport:
    """What the story did: versions, counts, metrics, outcomes, pointers and trails."""

    home: Path
    users: list[str] = field(default_factory=list)
    taxonomy_versions: list[str] = field(default_factory=list)
    skills: dict[str, int] = field(default_factory=dict)
    builds: list[dict[str, Any]] = field(default_factory=list)
    feedback: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    job: dict[str, Any] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    stages: dict[str, str | None] = field(default_factory=dict)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


# -- inputs ----------------------------------------------------------------------------------
def esco_rows(limit: int | None = None) -> list[dict[str, str]]:
    """Rows of the bundled ESCO CSV (the first `limit` when given)."""
    with gzip.open(BUNDLED_ESCO, "rt", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[:limit] if limit else rows


def new_skill_rows(existing_titles: set[str], count: int = N_NEW_SKILLS) -> list[dict[str, str]]:
    """`count` ESCO-format rows for skills whose titles are not in `existing_titles`."""
    rows = []
    for title in NEW_SKILL_TITLES:
        if title.lower() in existing_titles:
            continue
        slug = "-".join(title.lower().replace("/", " ").split())
        rows.append({"conceptUri": f"http://example.org/sea-demo/skill/{slug}",
                     "preferredLabel": title,
                     "altLabelsAndDescription": f"{title.lower()} skills "
                                                f"Apply {title.lower()} in day-to-day work."})
        if len(rows) == count:
            return rows
    raise DemoError(f"only {len(rows)} of the {count} demo skills are new to this taxonomy")


def write_esco_csv(path: Path, rows: Sequence[dict[str, str]]) -> Path:
    """Write rows in the ESCO skills CSV format."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ESCO_HEADER, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def review_items(taxonomy: Any, count: int, benchmark_files: Sequence[Path] | None = None
                 ) -> tuple[list[tuple[str, frozenset[str]]], str]:
    """(sentence, gold skill ids) pairs for the reviewer: the benchmark's sentences whose gold
    labels are in `taxonomy`, topped up to `count` with built-in texts naming two skills each;
    with a description of where they came from."""
    from sea_core.evaluate import load_benchmark

    files = list(benchmark_files) if benchmark_files is not None \
        else sorted(DEFAULT_BENCHMARK_DIR.glob("*_validation_annotations.csv"))
    items: list[tuple[str, frozenset[str]]] = []
    for path in files:
        items += [(i.sentence, frozenset(i.gold)) for i in load_benchmark(path, taxonomy)
                  if len(i.sentence) <= 2000]
    from_benchmark = len(items[:count])
    skills = list(taxonomy)
    step = max(1, len(skills) // max(1, 2 * count))
    index = 0
    while len(items) < count:
        a, b = skills[(2 * index * step) % len(skills)], skills[((2 * index + 1) * step) % len(skills)]
        template = FALLBACK_TEMPLATES[index % len(FALLBACK_TEMPLATES)]
        items.append((template.format(a=a.title, b=b.title), frozenset({a.skill_id, b.skill_id})))
        index += 1
    names = ", ".join(p.name for p in files) or "none found"
    return items[:count], (f"{from_benchmark} from the benchmark ({names}), "
                           f"{count - from_benchmark} built-in")


def check_empty(home: Path) -> Path:
    """`home` resolved, created when missing; DemoError when it holds anything."""
    home = Path(home).expanduser().resolve()
    if home.exists() and (not home.is_dir() or any(home.iterdir())):
        raise DemoError(f"{home} is not an empty folder: the demo starts from nothing; "
                        "give a new or empty folder (--home)")
    home.mkdir(parents=True, exist_ok=True)
    return home


# -- the story -------------------------------------------------------------------------------
class _Story:
    def __init__(self, home: Path, say: StepCallback, quick: bool, build_config: Any,
                 taxonomy_limit: int | None, benchmark_files: Sequence[Path] | None,
                 golden: list | None, min_reviews: int, max_reviews: int) -> None:
        from mlops.adapters.deploy import LocalTarget
        from mlops.adapters.store import open_store
        from mlops.adapters.warehouse import open_warehouse
        from mlops.config import load_settings
        from mlops.services.registry import Registry

        self.say, self.quick, self.taxonomy_limit = say, quick, taxonomy_limit
        self.benchmark_files, self.golden, self.max_reviews = benchmark_files, golden, max_reviews
        env = {"SEA_HOME": str(home), "SEA_ALERT_MIN_REVIEWS": str(min_reviews)}
        self.settings = load_settings(env=env, secrets_path=home / "no-secrets.toml")
        self.report = DemoReport(home=self.settings.home)
        self.warehouse = open_warehouse(self.settings.warehouse_url)
        self.store = open_store(self.settings.store_url)
        self.registry = Registry(self.store)
        self.target = LocalTarget(self.store, self.settings.home)
        self.config = build_config
        self.users: dict[str, Any] = {}
        self.step_no = 0

    def out(self, message: str) -> None:
        self.say(self.step_no, message)

    def run(self) -> DemoReport:
        steps = (("init schema, store and users", self.init),
                 ("import the bundled ESCO taxonomy", self.import_esco),
                 ("first build -> 1.0.0 in DEV", self.first_build),
                 (f"add {N_NEW_SKILLS} skills, skills-update build -> PATCH", self.add_skills),
                 ("reviewer feedback until the quality alert fires", self.feedback),
                 ("run the queued retraining build", self.retrain),
                 ("releases: DEV -> UAT -> PROD, then a PROD rollback", self.release))
        try:
            for number, (title, fn) in enumerate(steps, start=1):
                self.step_no = number
                self.out(f"== step {number}: {title}")
                started = time.perf_counter()
                fn()
                self.report.timings[f"step{number}"] = round(time.perf_counter() - started, 1)
                self.out(f"   ({self.report.timings[f'step{number}']} s)")
        finally:
            self.warehouse.close()
        return self.report

    def _build_config(self) -> Any:
        if self.config is None:
            from mlops.services.build import load_build_config

            overrides: dict[str, Any] = {"epochs": 1, "max_train_pairs": 1000,
                                         "max_test_pairs": 400} if self.quick else {}
            self.config = load_build_config(None, **overrides)
        return self.config

    def _build(self, trigger: str, user: Any) -> Any:
        from mlops.services.build import run_build

        last = [-1.0]

        def progress(fraction: float, message: str) -> None:
            if fraction - last[0] >= 0.1 or fraction >= 1.0:
                last[0] = fraction
                self.out(f"   [{fraction:4.0%}] {message}")

        result = run_build(self.settings, self.warehouse, self.store, trigger, user=user,
                           progress=progress, config=self._build_config(),
                           deploy_target=self.target, golden=self.golden)
        self.report.builds.append({"trigger": trigger, "outcome": result.outcome,
                                   "version": result.version, "bump": result.bump,
                                   "candidate_version": result.candidate_version,
                                   "encoded_count": result.encoded_count,
                                   "metrics": result.metrics, "comparison": result.comparison,
                                   "gate": result.gate, "experiment": result.experiment_key})
        metrics = ", ".join(f"{k} {v:.3f}" for k, v in sorted(result.metrics.items())
                            if isinstance(v, float) and not k.endswith("threshold"))
        self.out(f"   outcome {result.outcome}: version {result.version or '-'} "
                 f"(bump {result.bump}, candidate {result.candidate_version}), "
                 f"{result.encoded_count} skills encoded")
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

        self.warehouse.init_schema()
        written = init_store(self.settings.store_url)
        self.out(f"   warehouse schema v{current_version(self.warehouse)} at "
                 f"{self.settings.warehouse_url}; store {self.settings.store_url} "
                 f"({len(written)} new keys)")
        for name, roles in DEMO_USERS:
            self.users[name] = create_user(self.warehouse, name, DEMO_PASSWORD, roles, system_user())
            self.report.users.append(name)
            self.out(f"   user {name}: {', '.join(roles)}")
        self.out(f"   (demo password for every user: {DEMO_PASSWORD})")

    def _import(self, path: Path) -> Any:
        from mlops.services.taxonomy_import import import_taxonomy

        result = import_taxonomy(self.warehouse, path, self.users["ada"], queue_build=False)
        self.report.taxonomy_versions.append(result.version)
        counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
        self.out(f"   taxonomy version {result.version} from {path.name}: {counts}")
        return result

    def import_esco(self) -> None:
        self.base_rows = esco_rows(self.taxonomy_limit)
        path = write_esco_csv(self.settings.home / "inputs" / "esco_skills_v1.1.0_en.csv",
                              self.base_rows)
        self._import(path)
        self.report.skills["initial"] = len(self.base_rows)

    def first_build(self) -> None:
        self._build("manual", self.users["ada"])
        self.out(f"   DEV now serves {self.registry.stage('dev')}")

    def add_skills(self) -> None:
        titles = {" ".join(r["preferredLabel"].split()).lower() for r in self.base_rows}
        added = new_skill_rows(titles)
        path = write_esco_csv(self.settings.home / "inputs" / "esco_skills_v1.2.0_en.csv",
                              [*self.base_rows, *added])
        self._import(path)
        self.report.skills["added"] = len(added)
        self.out(f"   e.g. {', '.join(r['preferredLabel'] for r in added[:3])}, ...")
        result = self._build("skills-update", self.users["ada"])
        self.out(f"   re-encoded {result.encoded_count} skills (only the new ones); "
                 f"DEV now serves {self.registry.stage('dev')}")

    def feedback(self) -> None:
        from mlops.services.alerts import check_alerts
        from mlops.services.feedback import submit_feedback
        from mlops.services.model_loading import load_pipeline
        from mlops.services.prediction_log import open_prediction_log

        pipeline = load_pipeline(self.settings, stage="dev")
        items, source = review_items(pipeline.taxonomy, self.max_reviews, self.benchmark_files)
        self.out(f"   model {pipeline.model_version} (DEV); {len(items)} reviewer texts: {source}")
        plog = open_prediction_log(self.settings, name="demo", background=False)
        reviewed, totals, alerts = 0, [0, 0, 0], []
        try:
            for sentence, gold in items:
                started = time.perf_counter()
                record = pipeline.extract(sentence)
                plog.log(record, "dev", (time.perf_counter() - started) * 1000.0)
                plog.flush()
                predicted = [s["skill_id"] for s in record["skillExtractOutput"]]
                summary = submit_feedback(
                    self.warehouse, pipeline.taxonomy, self.users["rita"], record["requestId"],
                    accepted=[s for s in predicted if s in gold],
                    rejected=[s for s in predicted if s not in gold],
                    added=sorted(gold - set(predicted)))
                reviewed += 1
                for i, key in enumerate(("n_predicted", "n_confirmed", "n_overlap")):
                    totals[i] += summary[key]
                if reviewed >= self.settings.alert_min_reviews:
                    alerts = check_alerts(self.warehouse, self.settings, notify=None)
                    if alerts:
                        break
            plog.flush()
        finally:
            plog.close()
        self.report.feedback = {"reviews": reviewed, "predicted": totals[0], "confirmed": totals[1],
                                "overlap": totals[2], "source": source,
                                "model_version": pipeline.model_version}
        self.out(f"   rita reviewed {reviewed} predictions: {totals[0]} skills predicted, "
                 f"{totals[1]} confirmed, {totals[2]} in both")
        self.report.alerts = alerts
        if alerts:
            for alert in alerts:
                self.out(f"   ALERT {alert['message']}; build job queued: {alert['job_id']}")
            return
        from mlops.services import jobs
        from mlops.services.identity import system_user

        job_id = jobs.enqueue(self.warehouse, "build", {"trigger": "performance-drop"},
                              user=system_user())
        self.out(f"   no alert: quality stayed at or above the thresholds "
                 f"{self.settings.thresholds}; queued a performance-drop build by hand ({job_id})")

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
        jobs.finish(self.warehouse, job.job_id, {"outcome": result.outcome,
                                                 "version": result.version,
                                                 "experiment": result.experiment_key})
        self.report.job = {"job_id": job.job_id, "trigger": trigger, "outcome": result.outcome,
                           "status": jobs.get(self.warehouse, job.job_id).status}
        comparison = result.comparison
        if "contender" in comparison:
            self.out(f"   contender {comparison['primary_metric']} {comparison['contender']:.4f} "
                     f"vs champion {comparison['champion_version']} {comparison['champion']:.4f} "
                     f"(margin {comparison['margin']})")
        what = f"registered {result.version}" if result.registered else result.outcome
        self.out(f"   {what}: {comparison.get('reason', '')}")
        self.out(f"   experiment recorded: {result.experiment_key}; DEV serves "
                 f"{self.registry.stage('dev')}")

    def release(self) -> None:
        from mlops.services import audit, release

        sam, ada, alan = self.users["sam"], self.users["ada"], self.users["alan"]
        newest = self.registry.stage("dev")
        servable = [r["version"] for r in self.registry.versions()
                    if r.get("status", "registered") == "registered"]
        earlier = [v for v in servable if v != newest and servable.index(v) < servable.index(newest)]
        plan = ([(earlier[-1], alan)] if earlier else []) + [(newest, ada)]
        for version, approver in plan:
            if self.registry.stage("dev") != version:
                release.deploy_dev(self.registry, self.warehouse, self.target, version, user=ada,
                                   comment=f"redeploy {version} to release it")
                self.out(f"   ada redeployed {version} to DEV")
            release.promote_to_uat(self.registry, self.warehouse, self.target, version, user=sam,
                                   comment=f"UAT sign-off: {version} reviewed on sample texts")
            self.out(f"   sam signed {version} off to UAT")
            release.approve_prod(self.registry, self.warehouse, self.target, version,
                                 user=approver, comment=f"approved {version} for PROD",
                                 approver_must_differ=self.settings.approver_must_differ)
            self.out(f"   {approver.username} approved {version} to PROD")
            self.report.releases.append({"version": version, "requested_by": "sam",
                                         "approved_by": approver.username})
        if earlier:
            back = earlier[-1]
            current = self.registry.stage("prod")
            release.rollback_prod(self.registry, self.warehouse, self.target, back, user=ada,
                                  comment=f"rollback drill: {current} -> {back}")
            self.report.rollback = {"from": current, "to": back, "by": "ada"}
            self.out(f"   ada rolled PROD back from {current} to {back}")
        else:
            self.out("   only one releasable version: no rollback possible")
        self.report.stages = release.current_stages(self.registry)
        self.out("   stages: " + ", ".join(f"{k.upper()}={v or '-'}"
                                           for k, v in self.report.stages.items()))
        self.report.approvals = release.stage_history(self.registry)
        self.out("   approval trail:")
        for entry in self.report.approvals:
            self.out(f"     {entry.get('when', '')}  {entry['version']:>7} -> "
                     f"{str(entry.get('to', '')).upper():<4} {entry.get('decision', ''):<11} "
                     f"by {entry.get('who', '')}: {entry.get('comment', '')}")
        with self.warehouse.transaction() as session:
            self.report.audit = list(reversed(audit.events(session, limit=1000)))
        wanted = ("release.", "build.", "alert.", "taxonomy.", "job.")
        trail = [e for e in self.report.audit if e["action"].startswith(wanted)]
        self.out(f"   audit log: {len(self.report.audit)} events; releases, builds and alerts:")
        for event in trail:
            self.out(f"     {event['at']}  {event['actor']:<6} {event['action']:<22} {event['target']}")


def run_demo(home: str | Path, say: StepCallback | None = None, *, quick: bool = False,
             build_config: Any = None, taxonomy_limit: int | None = None,
             benchmark_files: Sequence[Path] | None = None, golden: list | None = None,
             min_reviews: int = 20, max_reviews: int = 200) -> DemoReport:
    """Run the whole story in `home` (new or empty; DemoError otherwise), reporting each line
    through `say(step, message)`. `quick` shrinks training (1 epoch, 1000 pairs) unless a
    `build_config` is given; `taxonomy_limit` keeps the first N ESCO skills; `benchmark_files`
    (default: the development benchmark) feed the reviewer; `golden` overrides the gate's
    golden cases; the alert needs `min_reviews` reviews, at most `max_reviews` are made."""
    if min_reviews < 1 or max_reviews < min_reviews:
        raise DemoError(f"need 1 <= min_reviews <= max_reviews, got {min_reviews}, {max_reviews}")
    folder = check_empty(Path(home))
    story = _Story(folder, say or (lambda step, message: None), quick, build_config,
                   taxonomy_limit, benchmark_files, golden, min_reviews, max_reviews)
    return story.run()

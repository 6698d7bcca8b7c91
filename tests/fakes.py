"""In-memory fakes of the warehouse repositories (`mlops.adapters.warehouse.repositories`), for
unit tests of the services: the same contracts as the SQL implementations (orderings, status
conditions), no database. `MemoryRepositories.transaction()` serialises callers and rolls every
repository back when the block raises."""
from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Iterator

from mlops.adapters.warehouse.alerts import AlertRepository
from mlops.adapters.warehouse.audit import AuditEvent, AuditRepository
from mlops.adapters.warehouse.feedback import CONFIRMING, FeedbackRepository, Submission
from mlops.adapters.warehouse.jobs import (CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job,
                                           JobRepository)
from mlops.adapters.warehouse.monitoring import METRIC_SQL, MonitoringQueries, UsageGroup
from mlops.adapters.warehouse.predictions import LoggedRequest, LoggedSkill, PredictionRepository
from mlops.adapters.warehouse.repositories import Repositories
from mlops.adapters.warehouse.taxonomy import PendingUpdate, TaxonomyRepository
from mlops.adapters.warehouse.training_pairs import FeedbackExample, TrainingPairRepository
from mlops.adapters.warehouse.users import StoredUser, UserRepository
from mlops.services.monitoring import request_metrics
from sea_core.taxonomy import Skill


@dataclass
class State:
    """Everything the fakes store."""

    audit: list[AuditEvent] = field(default_factory=list)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: dict[str, LoggedRequest] = field(default_factory=dict)
    skills: dict[str, list[LoggedSkill]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    taxonomy_skills: dict[str, list[Skill]] = field(default_factory=dict)
    pending_updates: list[PendingUpdate] = field(default_factory=list)
    pairs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, StoredUser] = field(default_factory=dict)


class MemoryAudit(AuditRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, event: AuditEvent) -> None:
        self.state.audit.append(event)

    def events(self, actor=None, action=None, since=None, until=None, limit=500,
               target=None) -> list[AuditEvent]:
        rows = [e for e in self.state.audit
                if (not actor or e.actor == actor) and (not action or e.action == action)
                and (not target or e.target == target)
                and (not since or e.at >= since) and (not until or e.at <= until)]
        rows.sort(key=lambda e: e.event_id)
        rows.sort(key=lambda e: e.at, reverse=True)
        return rows[:limit]


class MemoryAlerts(AlertRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, alert: dict[str, Any]) -> None:
        self.state.alerts[alert["alert_id"]] = dict(alert)

    def get(self, alert_id: str) -> dict[str, Any] | None:
        found = self.state.alerts.get(alert_id)
        return None if found is None else dict(found)

    def with_status(self, status: str) -> list[dict[str, Any]]:
        rows = sorted((dict(a) for a in self.state.alerts.values() if a["status"] == status),
                      key=lambda a: a["alert_id"])
        return sorted(rows, key=lambda a: a["created_at"], reverse=True)

    def exists(self, metric: str, model_version: str, status: str) -> bool:
        return any((a["metric"], a["model_version"], a["status"]) == (metric, model_version, status)
                   for a in self.state.alerts.values())

    def set_status(self, alert_id: str, status: str) -> None:
        if alert_id in self.state.alerts:
            self.state.alerts[alert_id]["status"] = status


class MemoryFeedback(FeedbackRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def submission(self, request_id: str) -> Submission | None:
        found = self.state.submissions.get(request_id)
        if found is None:
            return None
        return replace(found, accepted=tuple(sorted(found.accepted)),
                       rejected=tuple(sorted(found.rejected)), added=tuple(sorted(found.added)))

    def count(self, request_id: str) -> int:
        return int(request_id in self.state.submissions)

    def replace(self, submission: Submission) -> None:
        self.state.submissions[submission.request_id] = submission

    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        out = {}
        for request_id in request_ids:
            found = self.state.submissions.get(request_id)
            if found is not None:
                out[request_id] = {s for s, d in found.decisions() if d in CONFIRMING}
        return out


class MemoryJobs(JobRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def _change(self, job_id: str, expected: Iterable[str], **changes: Any) -> bool:
        job = self.state.jobs.get(job_id)
        if job is None or job.status not in tuple(expected):
            return False
        self.state.jobs[job_id] = replace(job, **changes)
        return True

    def add(self, job: Job) -> None:
        self.state.jobs[job.job_id] = copy.deepcopy(job)

    def get(self, job_id: str) -> Job | None:
        return copy.deepcopy(self.state.jobs.get(job_id))

    def recent(self, status=None, kind=None, limit=100) -> list[Job]:
        rows = [j for j in self.state.jobs.values()
                if (status is None or j.status == status) and (kind is None or j.kind == kind)]
        rows.sort(key=lambda j: (j.created_at or "", j.job_id), reverse=True)
        return copy.deepcopy(rows[:limit])

    def queued(self, kinds=None, limit=None) -> list[Job]:
        rows = [j for j in self.state.jobs.values() if j.status == QUEUED and (not kinds or j.kind in kinds)]
        rows.sort(key=lambda j: (j.created_at or "", j.job_id))
        return copy.deepcopy(rows if limit is None else rows[:limit])

    def claim(self, job_id: str, worker: str, now: str) -> bool:
        return self._change(job_id, [QUEUED], status=RUNNING, started_at=now, heartbeat_at=now,
                            worker=worker, message=f"started by {worker}")

    def heartbeat(self, job_id: str, now: str) -> bool:
        return self._change(job_id, [RUNNING], heartbeat_at=now)

    def set_progress(self, job_id: str, fraction: float, message: str, now: str) -> bool:
        return self._change(job_id, [RUNNING], progress=fraction, message=message, heartbeat_at=now)

    def finish(self, job_id: str, result: dict[str, Any], now: str) -> bool:
        return self._change(job_id, [RUNNING], status=SUCCEEDED, progress=1.0,
                            result=copy.deepcopy(result), finished_at=now, heartbeat_at=now,
                            message="done")

    def fail(self, job_id: str, error: str, now: str) -> bool:
        return self._change(job_id, [RUNNING], status=FAILED, error=error, finished_at=now,
                            heartbeat_at=now, message="failed")

    def cancel(self, job_id: str, was: str, message: str, now: str) -> bool:
        return self._change(job_id, [was], status=CANCELLED, finished_at=now, message=message)

    def stale(self, cutoff: str) -> list[Job]:
        return copy.deepcopy([j for j in self.state.jobs.values() if j.status == RUNNING and (
            (j.heartbeat_at is not None and j.heartbeat_at < cutoff)
            or (j.heartbeat_at is None and (j.started_at or "") < cutoff))])

    def reap(self, job_id: str, seen: str | None, error: str, now: str) -> bool:
        job = self.state.jobs.get(job_id)
        if job is None or job.heartbeat_at not in (seen, None):
            return False
        return self._change(job_id, [RUNNING], status=FAILED, error=error, finished_at=now,
                            message="failed")

    def requeue(self, job_id: str, seen: str | None, error: str, message: str) -> bool:
        job = self.state.jobs.get(job_id)
        if job is None or job.heartbeat_at not in (seen, None):
            return False
        return self._change(job_id, [RUNNING], status=QUEUED, error=error, message=message,
                            progress=0.0, worker=None, started_at=None, heartbeat_at=None)


class MemoryPredictions(PredictionRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def replace(self, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> None:
        self.state.requests[request.request_id] = request
        self.state.skills[request.request_id] = list(skills)

    def latest(self, request_id: str) -> LoggedRequest | None:
        return self.state.requests.get(request_id)

    def skills(self, request_id: str) -> list[LoggedSkill]:
        return sorted(self.state.skills.get(request_id, []), key=lambda s: (s.rank, s.skill_id))

    def oldest_unreviewed(self, status: str, stage: str | None = None) -> str | None:
        waiting = sorted((r.created_at, r.request_id) for r in self.state.requests.values()
                         if r.status == status and (stage is None or r.stage == stage)
                         and r.request_id not in self.state.submissions)
        return waiting[0][1] if waiting else None

    def recent_texts(self, limit: int, status: str, reviewed_only: bool = False) -> list[dict[str, Any]]:
        rows = [{"request_id": r.request_id, "created_at": r.created_at, "text": r.original_input}
                for r in self.state.requests.values() if r.status == status
                and (not reviewed_only or r.request_id in self.state.submissions)]
        rows.sort(key=lambda r: r["request_id"])
        rows.sort(key=lambda r: r["created_at"], reverse=True)
        return rows[:limit]


class MemoryTaxonomy(TaxonomyRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def current_version(self) -> dict[str, Any] | None:
        ordered = sorted(self.state.versions, key=lambda v: (v["created_at"], v["version"]), reverse=True)
        return dict(ordered[0]) if ordered else None

    def has_version(self, version: str) -> bool:
        return any(v["version"] == version for v in self.state.versions)

    def skills(self, version: str) -> list[Skill]:
        return sorted(self.state.taxonomy_skills.get(version, []), key=lambda s: (s.title, s.skill_id))

    def add_version(self, version: dict[str, Any], skills: Iterable[Skill],
                    updates: list[PendingUpdate]) -> None:
        self.state.versions.append(dict(version))
        self.state.taxonomy_skills[version["version"]] = list(skills)
        self.state.pending_updates.extend(updates)


class MemoryTrainingPairs(TrainingPairRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def feedback_examples(self, since: str | None = None) -> list[FeedbackExample]:
        out = []
        for request_id, sub in self.state.submissions.items():
            if since is not None and sub.submitted_at < since:
                continue
            request = self.state.requests.get(request_id)
            skills = {s.skill_id: s for s in self.state.skills.get(request_id, [])}
            for skill_id, decision in sub.decisions():
                skill = skills.get(skill_id)
                out.append(FeedbackExample(request_id, skill_id, decision,
                                           skill.phrase if skill else None,
                                           skill.skill_title if skill else None,
                                           request.original_input if request else None))
        return out

    def data_versions(self) -> list[str]:
        return list(self.state.pairs)

    def count(self, data_version: str) -> int:
        return len(self.state.pairs.get(data_version, []))

    def replace(self, data_version: str, pairs: Sequence[dict[str, Any]]) -> None:
        self.state.pairs[data_version] = [dict(p) for p in pairs]

    def load(self, data_version: str) -> list[dict[str, Any]]:
        rows = sorted((dict(p) for p in self.state.pairs.get(data_version, [])), key=lambda p: p["pair_id"])
        for row in rows:
            row["label"] = float(row["label"])
        return rows


class MemoryUsers(UserRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def _set(self, username: str, **changes: Any) -> None:
        if username in self.state.users:
            self.state.users[username] = replace(self.state.users[username], **changes)

    def get(self, username: str) -> StoredUser | None:
        return self.state.users.get(username)

    def all(self) -> list[StoredUser]:
        return [self.state.users[name] for name in sorted(self.state.users)]

    def add(self, user: StoredUser) -> None:
        self.state.users[user.username] = user

    def set_roles(self, username: str, roles: list[str]) -> None:
        self._set(username, roles=frozenset(roles))

    def set_password_hash(self, username: str, password_hash: str) -> None:
        self._set(username, password_hash=password_hash, failed_logins=0, locked_until=None)

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._set(username, disabled=bool(disabled))

    def set_failures(self, username: str, failed_logins: int, locked_until: str | None) -> None:
        self._set(username, failed_logins=failed_logins, locked_until=locked_until)

    def add_failure(self, username: str) -> int:
        user = self.state.users.get(username)
        if user is None:
            return 0
        self._set(username, failed_logins=user.failed_logins + 1)
        return user.failed_logins + 1


class MemoryMonitoring(MonitoringQueries):
    """Quality aggregates computed from the stored submissions with `request_metrics`; the
    usage and error-analysis aggregates are SQL-only (tested against real warehouses)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def _aggregate(self, subs: list[Submission], **head: Any) -> dict[str, Any]:
        values = [request_metrics(s.n_predicted, s.n_confirmed, s.n_overlap) for s in subs]
        return {**head, "n_reviews": len(subs),
                **{m: sum(v[m] for v in values) / len(values) for m in METRIC_SQL}}

    def quality(self, bucket, start_day, end_day, model_versions=None) -> list[dict[str, Any]]:
        groups: dict[tuple, list[Submission]] = {}
        for s in self.state.submissions.values():
            if (start_day and s.day < start_day) or (end_day and s.day > end_day) or (
                    model_versions is not None and s.model_version not in model_versions):
                continue
            key = (getattr(s, bucket) if bucket else None, s.model_version)
            groups.setdefault(key, []).append(s)
        rows = []
        for (value, version), subs in sorted(groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")):
            head = {"bucket": value} if bucket else {"first_day": min(s.day for s in subs),
                                                     "last_day": max(s.day for s in subs)}
            rows.append(self._aggregate(subs, model_version=version, **head))
        return rows

    def window_quality(self, since: str, until: str) -> list[dict[str, Any]]:
        groups: dict[Any, list[Submission]] = {}
        for s in self.state.submissions.values():
            if since <= s.submitted_at <= until:
                groups.setdefault(s.model_version, []).append(s)
        return [self._aggregate(groups[v], model_version=v) for v in sorted(groups, key=str)]

    def skill_decisions(self, ranked_by, limit, start_day, end_day, model_version) -> list[dict[str, Any]]:
        raise NotImplementedError("error analysis is SQL-only: see tests/integration/test_monitoring.py")

    def usage(self, start_day, end_day, stage, length_edges, percentiles) -> list[UsageGroup]:
        raise NotImplementedError("usage is SQL-only: see tests/integration/test_monitoring.py")


class MemoryRepositories(Repositories):
    """Every repository over one in-memory `State`."""

    def __init__(self, state: State | None = None) -> None:
        self.state = state or State()
        self._lock = threading.RLock()
        self._depth = 0
        self.alerts = MemoryAlerts(self.state)
        self.audit = MemoryAudit(self.state)
        self.feedback = MemoryFeedback(self.state)
        self.jobs = MemoryJobs(self.state)
        self.monitoring = MemoryMonitoring(self.state)
        self.predictions = MemoryPredictions(self.state)
        self.taxonomy = MemoryTaxonomy(self.state)
        self.training_pairs = MemoryTrainingPairs(self.state)
        self.users = MemoryUsers(self.state)
        #: The lock names each outermost transaction asked for (what a test can check).
        self.locks_taken: list[tuple[str, ...]] = []

    @contextmanager
    def transaction(self, *locks: str) -> Iterator["MemoryRepositories"]:
        with self._lock:
            if self._depth == 0:
                self.locks_taken.append(locks)
            snapshot = copy.deepcopy(self.state.__dict__) if self._depth == 0 else None
            self._depth += 1
            try:
                yield self
            except BaseException:
                if snapshot is not None:
                    self.state.__dict__.update(snapshot)
                raise
            finally:
                self._depth -= 1

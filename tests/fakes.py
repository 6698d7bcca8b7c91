"""In-memory fakes of the warehouse repositories (`mlops.adapters.warehouse.repositories`), for
unit tests of the services: the same contracts as the SQL implementations (orderings, status
conditions), no database. `MemoryRepositories.transaction()` serialises callers and rolls every
repository back when the block raises."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from mlops.adapters.warehouse.alerts import AlertRepository
from mlops.adapters.warehouse.audit import AuditEvent, AuditRepository
from mlops.adapters.warehouse.feedback import CONFIRMING, FeedbackRepository, Score, Submission, majority
from mlops.adapters.warehouse.jobs import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, Job, JobRepository
from mlops.adapters.warehouse.monitoring import (
    METRIC_SQL,
    MonitoringQueries,
    PairAgreement,
    ReviewerDay,
    UsageGroup,
)
from mlops.adapters.warehouse.predictions import (
    LEAST_SURE,
    QUEUE_ORDERS,
    LoggedRequest,
    LoggedSkill,
    PredictionRepository,
    lowest_confidence,
)
from mlops.adapters.warehouse.repositories import Repositories
from mlops.adapters.warehouse.taxonomy import PendingUpdate, TaxonomyRepository
from mlops.adapters.warehouse.tokens import StoredToken, TokenRepository
from mlops.adapters.warehouse.training_pairs import FeedbackExample, TrainingPairRepository
from mlops.adapters.warehouse.users import StoredUser, UserRepository
from mlops.services.monitoring import request_metrics
from sea_core.taxonomy import Skill


@dataclass
class State:
    """Everything the fakes store."""

    audit: list[AuditEvent] = field(default_factory=list)
    alerts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: reviews by (request id, reviewer); scores by (request id, model version, reviewer)
    submissions: dict[tuple[str, str], Submission] = field(default_factory=dict)
    scores: dict[tuple[str, str | None, str], Score] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    #: predictions by (request id, model version)
    requests: dict[tuple[str, str], LoggedRequest] = field(default_factory=dict)
    skills: dict[tuple[str, str], list[LoggedSkill]] = field(default_factory=dict)
    versions: list[dict[str, Any]] = field(default_factory=list)
    taxonomy_skills: dict[str, list[Skill]] = field(default_factory=dict)
    pending_updates: list[PendingUpdate] = field(default_factory=list)
    pairs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, StoredUser] = field(default_factory=dict)
    tokens: dict[str, StoredToken] = field(default_factory=dict)


class MemoryAudit(AuditRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def add(self, event: AuditEvent) -> None:
        self.state.audit.append(event)

    def events(
        self, actor=None, action=None, since=None, until=None, limit=500, target=None
    ) -> list[AuditEvent]:
        rows = [
            e
            for e in self.state.audit
            if (not actor or e.actor == actor)
            and (not action or e.action == action)
            and (not target or e.target == target)
            and (not since or e.at >= since)
            and (not until or e.at <= until)
        ]
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
        rows = sorted(
            (dict(a) for a in self.state.alerts.values() if a["status"] == status),
            key=lambda a: a["alert_id"],
        )
        return sorted(rows, key=lambda a: a["created_at"], reverse=True)

    def exists(self, metric: str, model_version: str, status: str) -> bool:
        return any(
            (a["metric"], a["model_version"], a["status"]) == (metric, model_version, status)
            for a in self.state.alerts.values()
        )

    def set_status(self, alert_id: str, status: str) -> None:
        if alert_id in self.state.alerts:
            self.state.alerts[alert_id]["status"] = status


class MemoryFeedback(FeedbackRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def _of(self, request_id: str, reviewer: str | None = None) -> list[Submission]:
        found = [
            s
            for (rid, who), s in sorted(self.state.submissions.items())
            if rid == request_id and (reviewer is None or who == reviewer)
        ]
        return [
            replace(
                s,
                accepted=tuple(sorted(s.accepted)),
                rejected=tuple(sorted(s.rejected)),
                added=tuple(sorted(s.added)),
            )
            for s in found
        ]

    def submission(self, request_id: str, reviewer: str | None = None) -> Submission | None:
        found = sorted(self._of(request_id, reviewer), key=lambda s: s.submitted_at, reverse=True)
        return found[0] if found else None

    def reviews(self, request_id: str) -> list[Submission]:
        return self._of(request_id)

    def count(self, request_id: str, reviewer: str | None = None) -> int:
        return len(self._of(request_id, reviewer))

    def replace(self, submission: Submission, scores: Sequence[Score] = ()) -> None:
        key = (submission.request_id, submission.reviewer)
        self.state.submissions[key] = submission
        for k in [k for k in self.state.scores if (k[0], k[2]) == key]:
            del self.state.scores[k]
        self._add(scores)

    def replace_scores(self, request_id: str, model_version: str | None, scores: Sequence[Score]) -> None:
        for k in [k for k in self.state.scores if k[:2] == (request_id, model_version)]:
            del self.state.scores[k]
        self._add(scores)

    def _add(self, scores: Sequence[Score]) -> None:
        for score in scores:
            self.state.scores[(score.request_id, score.model_version, score.reviewer)] = score

    def confirmed(self, request_ids: Sequence[str]) -> dict[str, set[str]]:
        out = {}
        for request_id in request_ids:
            reviews = self._of(request_id)
            if reviews:
                votes: dict[str, int] = {}
                for review in reviews:
                    for skill_id, decision in review.decisions():
                        if decision in CONFIRMING:
                            votes[skill_id] = votes.get(skill_id, 0) + 1
                out[request_id] = majority(votes, len(reviews))
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
        rows = [
            j
            for j in self.state.jobs.values()
            if (status is None or j.status == status) and (kind is None or j.kind == kind)
        ]
        rows.sort(key=lambda j: (j.created_at or "", j.job_id), reverse=True)
        return copy.deepcopy(rows[:limit])

    def queued(self, kinds=None, limit=None) -> list[Job]:
        rows = [j for j in self.state.jobs.values() if j.status == QUEUED and (not kinds or j.kind in kinds)]
        rows.sort(key=lambda j: (j.created_at or "", j.job_id))
        return copy.deepcopy(rows if limit is None else rows[:limit])

    def claim(self, job_id: str, worker: str, now: str) -> bool:
        return self._change(
            job_id,
            [QUEUED],
            status=RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=worker,
            message=f"started by {worker}",
        )

    def heartbeat(self, job_id: str, now: str) -> bool:
        return self._change(job_id, [RUNNING], heartbeat_at=now)

    def set_progress(self, job_id: str, fraction: float, message: str, now: str) -> bool:
        return self._change(job_id, [RUNNING], progress=fraction, message=message, heartbeat_at=now)

    def finish(self, job_id: str, result: dict[str, Any], now: str) -> bool:
        return self._change(
            job_id,
            [RUNNING],
            status=SUCCEEDED,
            progress=1.0,
            result=copy.deepcopy(result),
            finished_at=now,
            heartbeat_at=now,
            message="done",
        )

    def fail(self, job_id: str, error: str, now: str) -> bool:
        return self._change(
            job_id, [RUNNING], status=FAILED, error=error, finished_at=now, heartbeat_at=now, message="failed"
        )

    def cancel(self, job_id: str, was: str, message: str, now: str) -> bool:
        return self._change(job_id, [was], status=CANCELLED, finished_at=now, message=message)

    def stale(self, cutoff: str) -> list[Job]:
        return copy.deepcopy(
            [
                j
                for j in self.state.jobs.values()
                if j.status == RUNNING
                and (
                    (j.heartbeat_at is not None and j.heartbeat_at < cutoff)
                    or (j.heartbeat_at is None and (j.started_at or "") < cutoff)
                )
            ]
        )

    def reap(self, job_id: str, seen: str | None, error: str, now: str) -> bool:
        job = self.state.jobs.get(job_id)
        if job is None or job.heartbeat_at not in (seen, None):
            return False
        return self._change(job_id, [RUNNING], status=FAILED, error=error, finished_at=now, message="failed")

    def requeue(self, job_id: str, seen: str | None, error: str, message: str) -> bool:
        job = self.state.jobs.get(job_id)
        if job is None or job.heartbeat_at not in (seen, None):
            return False
        return self._change(
            job_id,
            [RUNNING],
            status=QUEUED,
            error=error,
            message=message,
            progress=0.0,
            worker=None,
            started_at=None,
            heartbeat_at=None,
        )


class MemoryPredictions(PredictionRepository):
    def __init__(self, state: State) -> None:
        self.state = state
        #: lowest confidence per prediction, as the SQL repository stores it
        self.lowest: dict[tuple[str, str], float | None] = {}

    def replace(self, request: LoggedRequest, skills: Sequence[LoggedSkill]) -> None:
        key = (request.request_id, request.model_version)
        self.state.requests[key] = request
        self.state.skills[key] = list(skills)
        self.lowest[key] = lowest_confidence(skills)

    def latest(self, request_id: str, model_version: str | None = None) -> LoggedRequest | None:
        found = sorted(
            (
                r
                for (rid, version), r in self.state.requests.items()
                if rid == request_id and (model_version is None or version == model_version)
            ),
            key=lambda r: (r.created_at, r.model_version),
            reverse=True,
        )
        return found[0] if found else None

    def versions(self, request_id: str) -> list[str]:
        return sorted(version for rid, version in self.state.requests if rid == request_id)

    def skills(self, request_id: str, model_version: str) -> list[LoggedSkill]:
        return sorted(
            self.state.skills.get((request_id, model_version), []), key=lambda s: (s.rank, s.skill_id)
        )

    def _reviewed(self, request_id: str) -> bool:
        return any(rid == request_id for rid, _ in self.state.submissions)

    def unreviewed(
        self, status: str, stage: str | None = None, order: str = LEAST_SURE
    ) -> tuple[str, str] | None:
        if order not in QUEUE_ORDERS:
            raise ValueError(f"order must be one of {', '.join(QUEUE_ORDERS)}, got {order!r}")
        waiting = []
        for key, r in self.state.requests.items():
            if r.status == status and (stage is None or r.stage == stage) and not self._reviewed(key[0]):
                lowest = self.lowest.get(key)
                sure = (lowest is None, lowest or 0.0) if order == LEAST_SURE else (False, 0.0)
                waiting.append((*sure, r.created_at, *key))
        return tuple(min(waiting)[-2:]) if waiting else None  # type: ignore[return-value]

    def recent_texts(self, limit: int, status: str, reviewed_only: bool = False) -> list[dict[str, Any]]:
        newest: dict[str, LoggedRequest] = {}
        for (request_id, _), r in self.state.requests.items():
            if r.status == status and (not reviewed_only or self._reviewed(request_id)):
                if request_id not in newest or r.created_at > newest[request_id].created_at:
                    newest[request_id] = r
        rows = [
            {"request_id": r.request_id, "created_at": r.created_at, "text": r.original_input}
            for r in newest.values()
        ]
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

    def add_version(
        self, version: dict[str, Any], skills: Iterable[Skill], updates: list[PendingUpdate]
    ) -> None:
        self.state.versions.append(dict(version))
        self.state.taxonomy_skills[version["version"]] = list(skills)
        self.state.pending_updates.extend(updates)


class MemoryTrainingPairs(TrainingPairRepository):
    def __init__(self, state: State) -> None:
        self.state = state

    def feedback_examples(self, since: str | None = None) -> list[FeedbackExample]:
        out = []
        for (request_id, _), sub in self.state.submissions.items():
            if since is not None and sub.submitted_at < since:
                continue
            key = (request_id, sub.model_version)  # the prediction the reviewer saw
            request = self.state.requests.get(key)  # type: ignore[arg-type]
            skills = {s.skill_id: s for s in self.state.skills.get(key, [])}  # type: ignore[arg-type]
            for skill_id, decision in sub.decisions():
                skill = skills.get(skill_id)
                out.append(
                    FeedbackExample(
                        request_id,
                        skill_id,
                        decision,
                        skill.phrase if skill else None,
                        skill.skill_title if skill else None,
                        request.original_input if request else None,
                    )
                )
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
    """Quality aggregates computed from the stored scores with `request_metrics`, and the
    reviewers' aggregates from the stored reviews; the usage and error-analysis aggregates are
    SQL-only (tested against real warehouses)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def _aggregate(self, scores: list[Score], **head: Any) -> dict[str, Any]:
        values = [request_metrics(s.n_predicted, s.n_confirmed, s.n_overlap) for s in scores]
        return {
            **head,
            "n_reviews": len(scores),
            **{m: sum(v[m] for v in values) / len(values) for m in METRIC_SQL},
        }

    def quality(self, bucket, start_day, end_day, model_versions=None) -> list[dict[str, Any]]:
        groups: dict[tuple, list[Score]] = {}
        for s in self.state.scores.values():
            if (
                (start_day and s.day < start_day)
                or (end_day and s.day > end_day)
                or (model_versions is not None and s.model_version not in model_versions)
            ):
                continue
            key = (getattr(s, bucket) if bucket else None, s.model_version)
            groups.setdefault(key, []).append(s)
        rows = []
        for (value, version), scores in sorted(
            groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or "")
        ):
            head = (
                {"bucket": value}
                if bucket
                else {"first_day": min(s.day for s in scores), "last_day": max(s.day for s in scores)}
            )
            rows.append(self._aggregate(scores, model_version=version, **head))
        return rows

    def window_quality(self, since: str, until: str) -> list[dict[str, Any]]:
        groups: dict[Any, list[Score]] = {}
        for s in self.state.scores.values():
            if since <= s.scored_at <= until:
                groups.setdefault(s.model_version, []).append(s)
        return [self._aggregate(groups[v], model_version=v) for v in sorted(groups, key=str)]

    def agreement(self, start_day, end_day) -> list[PairAgreement]:
        by_text: dict[str, list[Submission]] = {}
        for (request_id, _), review in sorted(self.state.submissions.items()):
            by_text.setdefault(request_id, []).append(review)
        pairs = []  # (request id, reviewer a, reviewer b, jaccard)
        for request_id, reviews in by_text.items():
            for i, a in enumerate(reviews):
                for b in reviews[i + 1 :]:
                    day = max(a.day, b.day)
                    if (start_day and day < start_day) or (end_day and day > end_day):
                        continue
                    set_a, set_b = ({s for s, d in r.decisions() if d in CONFIRMING} for r in (a, b))
                    jaccard = request_metrics(len(set_a), len(set_b), len(set_a & set_b))["jaccard"]
                    pairs.append((request_id, a.reviewer, b.reviewer, jaccard))

        def summary(reviewer, rows) -> PairAgreement:
            return PairAgreement(
                reviewer,
                len({r[0] for r in rows}),
                len(rows),
                sum(r[3] for r in rows) / len(rows) if rows else None,
            )

        names = sorted({name for p in pairs for name in p[1:3]})
        return [summary(None, pairs)] + [summary(n, [p for p in pairs if n in p[1:3]]) for n in names]

    def reviewer_days(self, start_day, end_day) -> list[ReviewerDay]:
        groups: dict[tuple[str, str], list[Submission]] = {}
        for s in self.state.submissions.values():
            if not ((start_day and s.day < start_day) or (end_day and s.day > end_day)):
                groups.setdefault((s.day, s.reviewer), []).append(s)
        return [
            ReviewerDay(day, reviewer, len(subs), sum(s.n_confirmed for s in subs))
            for (day, reviewer), subs in sorted(groups.items())
        ]

    def skill_decisions(self, ranked_by, limit, start_day, end_day, model_version) -> list[dict[str, Any]]:
        raise NotImplementedError("error analysis is SQL-only: see tests/integration/test_monitoring.py")

    def usage(self, start_day, end_day, stage, length_edges, percentiles) -> list[UsageGroup]:
        raise NotImplementedError("usage is SQL-only: see tests/integration/test_monitoring.py")

    def review_times(self, start_day, end_day) -> list:
        raise NotImplementedError("review times are SQL-only: see tests/integration/test_monitoring.py")

    def confirmed_skills(self, start_day, end_day) -> list:
        raise NotImplementedError(
            "the ground truth export is SQL-only: see tests/integration/test_monitoring.py"
        )


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
        self.tokens = MemoryTokens(self.state)
        #: The lock names each outermost transaction asked for (what a test can check).
        self.locks_taken: list[tuple[str, ...]] = []

    @contextmanager
    def transaction(self, *locks: str) -> Iterator[MemoryRepositories]:
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


# -- service tokens (appended) -------------------------------------------------------------------
class MemoryTokens(TokenRepository):
    """Service tokens in `State.tokens` (by token id), ordered as the SQL repository orders."""

    def __init__(self, state: State) -> None:
        self.state = state

    def get(self, token_id: str) -> StoredToken | None:
        return self.state.tokens.get(token_id)

    def named(self, name: str) -> list[StoredToken]:
        return [t for t in self.all() if t.name == name]

    def all(self) -> list[StoredToken]:
        return sorted(self.state.tokens.values(), key=lambda t: (t.name, t.created_at, t.token_id))

    def add(self, token: StoredToken) -> None:
        self.state.tokens[token.token_id] = token

    def revoke(self, token_id: str, at: str, by: str) -> None:
        if token_id in self.state.tokens:
            self.state.tokens[token_id] = replace(self.state.tokens[token_id], revoked_at=at, revoked_by=by)

    def touch(self, token_id: str, at: str) -> None:
        if token_id in self.state.tokens:
            self.state.tokens[token_id] = replace(self.state.tokens[token_id], last_used_at=at)


# -- web sessions (mlops.adapters.warehouse.sessions) ---------------------------------------------
from mlops.adapters.warehouse.sessions import SessionRepository, StoredSession  # noqa: E402


class MemorySessions(SessionRepository):
    """`SessionRepository` in memory: the same conditions as the SQL one (timestamps compare as
    text)."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredSession] = {}

    def add(self, session: StoredSession) -> None:
        if session.secret_hash in self.rows:
            raise ValueError("duplicate session")
        self.rows[session.secret_hash] = session

    def get(self, secret_hash: str) -> StoredSession | None:
        return self.rows.get(secret_hash)

    def take_pending(self, secret_hash: str, now: str) -> bool:
        row = self.rows.get(secret_hash)
        if row is None or row.state != "pending" or row.expires_at <= now:
            return False
        del self.rows[secret_hash]
        return True

    def delete(self, secret_hash: str) -> int:
        return 1 if self.rows.pop(secret_hash, None) is not None else 0

    def delete_user(self, username: str) -> int:
        gone = [h for h, row in self.rows.items() if row.username == username]
        for h in gone:
            del self.rows[h]
        return len(gone)

    def delete_expired(self, now: str) -> int:
        gone = [h for h, row in self.rows.items() if row.expires_at <= now]
        for h in gone:
            del self.rows[h]
        return len(gone)

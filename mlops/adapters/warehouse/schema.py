"""The warehouse tables, in the column types Redshift, PostgreSQL and SQLite all accept, and the
idempotent, concurrency-safe `apply()` that creates or upgrades them.

Conventions: ids are client-generated strings; timestamps are ISO-8601 UTC strings with `day`
(`YYYY-MM-DD`) and `week` (`YYYY-Www`) beside them; list/dict fields are JSON text; booleans are
INTEGER 0/1. Primary keys are declared only on uuid-style ids (Redshift does not enforce them,
PostgreSQL and SQLite do): `prediction_requests.request_id` is a stable hash of the input, so it is
indexed, not unique.

Keys (kept by the repositories, not declared): a prediction is (`request_id`, `model_version`)
in `prediction_requests` and `prediction_skills` (the same text served by two versions is two
predictions); a review is (`request_id`, `reviewer`) in `feedback_submissions` and `feedback`
(every reviewer's review of a text is kept); `prediction_scores` holds one row per (prediction,
review) of the same text: the counts monitoring averages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mlops.adapters.warehouse.base import WarehouseError

if TYPE_CHECKING:
    from mlops.adapters.warehouse.base import Warehouse

ID = "VARCHAR(256)"
LONG = "VARCHAR(65535)"  # Redshift's maximum (bytes); TEXT-compatible everywhere
TS = "VARCHAR(40)"
DAY = "VARCHAR(10)"
WEEK = "VARCHAR(8)"
REAL = "DOUBLE PRECISION"

TABLES: dict[str, tuple[str, ...]] = {
    "taxonomy_versions": (
        f"version {ID} NOT NULL PRIMARY KEY",
        "name VARCHAR(256)",
        "checksum VARCHAR(128)",
        "skill_count INTEGER",
        f"created_at {TS}",
        "created_by VARCHAR(256)",
    ),
    "taxonomy_skills": (
        f"taxonomy_version {ID} NOT NULL",
        f"skill_id {ID} NOT NULL",
        "title VARCHAR(1024)",
        "skill_type VARCHAR(64)",
        f"description {LONG}",
        f"alt_labels {LONG}",
        f"tags {LONG}",
        f"proficiency_levels {LONG}",
        "sector VARCHAR(512)",
        "category VARCHAR(512)",
        "source VARCHAR(256)",
        "code VARCHAR(256)",
        "content_hash VARCHAR(128)",
        "PRIMARY KEY (taxonomy_version, skill_id)",
    ),
    "pending_skill_updates": (
        f"update_id {ID} NOT NULL PRIMARY KEY",
        f"skill_id {ID}",
        "action VARCHAR(32)",
        f"payload {LONG}",
        "status VARCHAR(32)",
        f"created_at {TS}",
        f"applied_at {TS}",
    ),
    "training_pairs": (
        f"pair_id {ID} NOT NULL PRIMARY KEY",
        f"anchor {LONG}",
        f"candidate {LONG}",
        f"label {REAL}",
        "source VARCHAR(64)",
        f"request_id {ID}",
        f"skill_id {ID}",
        "data_version VARCHAR(64)",
        f"created_at {TS}",
    ),
    "prediction_requests": (
        f"request_id {ID} NOT NULL",
        "model_version VARCHAR(64)",
        "stage VARCHAR(16)",
        f"created_at {TS}",
        f"day {DAY}",
        f"week {WEEK}",
        f"original_input {LONG}",
        "input_chars INTEGER",
        f"latency_ms {REAL}",
        "status VARCHAR(32)",
        f"error {LONG}",
        f"lowest_confidence {REAL}",
    ),
    "prediction_skills": (
        f"request_id {ID} NOT NULL",
        "rank INTEGER",
        f"skill_id {ID}",
        "skill_title VARCHAR(1024)",
        "skill_type VARCHAR(64)",
        f"confidence {REAL}",
        "phrase VARCHAR(4096)",
        "occurrence INTEGER",
        f"tags {LONG}",
        "proficiency_level VARCHAR(64)",
        "model_version VARCHAR(64)",
    ),
    "feedback": (
        f"request_id {ID} NOT NULL",
        f"skill_id {ID} NOT NULL",
        "decision VARCHAR(16)",
        "reviewer VARCHAR(256)",
        f"reviewed_at {TS}",
        f"day {DAY}",
        f"week {WEEK}",
    ),
    "feedback_submissions": (
        f"request_id {ID} NOT NULL",
        "reviewer VARCHAR(256)",
        "model_version VARCHAR(64)",
        f"submitted_at {TS}",
        f"day {DAY}",
        f"week {WEEK}",
        "n_predicted INTEGER",
        "n_confirmed INTEGER",
        "n_overlap INTEGER",
    ),
    "prediction_scores": (
        f"request_id {ID} NOT NULL",
        "model_version VARCHAR(64)",
        "reviewer VARCHAR(256)",
        f"scored_at {TS}",
        f"day {DAY}",
        f"week {WEEK}",
        "n_predicted INTEGER",
        "n_confirmed INTEGER",
        "n_overlap INTEGER",
    ),
    "alerts": (
        f"alert_id {ID} NOT NULL PRIMARY KEY",
        "metric VARCHAR(64)",
        f"value {REAL}",
        f"threshold {REAL}",
        f"window_start {TS}",
        f"window_end {TS}",
        "n_reviews INTEGER",
        "model_version VARCHAR(64)",
        "status VARCHAR(32)",
        f"created_at {TS}",
        f"message {LONG}",
    ),
    "jobs": (
        f"job_id {ID} NOT NULL PRIMARY KEY",
        "kind VARCHAR(64)",
        "status VARCHAR(32)",
        f"progress {REAL}",
        f"message {LONG}",
        f"params {LONG}",
        f"result {LONG}",
        f"error {LONG}",
        f"created_at {TS}",
        f"started_at {TS}",
        f"finished_at {TS}",
        f"heartbeat_at {TS}",
        "worker VARCHAR(256)",
    ),
    "users": (
        "username VARCHAR(256) NOT NULL PRIMARY KEY",
        "password_hash VARCHAR(512)",
        "roles VARCHAR(1024)",
        f"created_at {TS}",
        "disabled INTEGER DEFAULT 0",
        "failed_logins INTEGER DEFAULT 0",
        f"locked_until {TS}",
    ),
    "audit_log": (
        f"event_id {ID} NOT NULL PRIMARY KEY",
        f"at {TS}",
        "actor VARCHAR(256)",
        "action VARCHAR(64)",
        "target VARCHAR(1024)",
        f"details {LONG}",
    ),
    # -- version 4: service tokens (CLI actor authentication for CI and cron) -------------------
    "service_tokens": (
        f"token_id {ID} NOT NULL PRIMARY KEY",
        "name VARCHAR(128) NOT NULL",
        "secret_hash VARCHAR(128) NOT NULL",
        "roles VARCHAR(1024)",
        f"created_at {TS}",
        "created_by VARCHAR(256)",
        f"expires_at {TS}",
        f"revoked_at {TS}",
        "revoked_by VARCHAR(256)",
        f"last_used_at {TS}",
    ),
    # -- end of version 4 ----------------------------------------------------------------------
}

# -- web sessions (version 5): the app's sign-in sessions (mlops.adapters.warehouse.sessions) --
#: Only a SHA-256 of each session secret is stored; `state` is `pending` (a one-time claim code,
#: valid for a minute) or `active` (the id in the browser's HTTP-only cookie).
WEB_SESSION_TABLE: tuple[str, ...] = (
    "secret_hash VARCHAR(128) NOT NULL PRIMARY KEY",
    "username VARCHAR(256) NOT NULL",
    "method VARCHAR(32)",
    "state VARCHAR(16) NOT NULL",
    f"created_at {TS}",
    f"expires_at {TS} NOT NULL",
)
TABLES["web_sessions"] = WEB_SESSION_TABLE
V5_STATEMENTS: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS web_sessions ({', '.join(WEB_SESSION_TABLE)})",
)
# -- end of web sessions ----------------------------------------------------------------------

INDEXES: tuple[tuple[str, str, str], ...] = (
    ("ix_taxonomy_skills_skill", "taxonomy_skills", "skill_id"),
    ("ix_pending_updates_status", "pending_skill_updates", "status, created_at"),
    ("ix_training_pairs_version", "training_pairs", "data_version"),
    ("ix_prediction_requests_key", "prediction_requests", "request_id, model_version"),
    # covers the dashboard's usage aggregates (index-only, in GROUP BY order) and its percentile
    # look-ups (day, model_version, stage, then latency order)
    (
        "ix_prediction_requests_usage",
        "prediction_requests",
        "day, model_version, stage, latency_ms, status, input_chars",
    ),
    # the review queue, least sure first and oldest first (walked in order, LIMIT 1)
    (
        "ix_prediction_requests_queue",
        "prediction_requests",
        "status, lowest_confidence, created_at, request_id",
    ),
    ("ix_prediction_requests_oldest", "prediction_requests", "status, created_at, request_id"),
    ("ix_prediction_skills_key", "prediction_skills", "request_id, model_version"),
    ("ix_feedback_review", "feedback", "request_id, reviewer, decision, skill_id"),
    ("ix_feedback_day", "feedback", "day"),
    # most rejected / added skills: the ranking (by decision) and the per-skill counts
    ("ix_feedback_decision", "feedback", "decision, skill_id, day, request_id"),
    ("ix_feedback_skill", "feedback", "skill_id, decision, day, request_id"),
    # one review per (text, reviewer); agreement reads the reviewers of each text index-only
    (
        "ix_feedback_submissions_review",
        "feedback_submissions",
        "request_id, reviewer, model_version, n_confirmed, day",
    ),
    ("ix_feedback_submissions_reviewer", "feedback_submissions", "day, reviewer"),
    # quality over time / per version (by day) and the alerts' window (by scored_at): index-only
    (
        "ix_prediction_scores_quality",
        "prediction_scores",
        "day, model_version, n_predicted, n_confirmed, n_overlap",
    ),
    (
        "ix_prediction_scores_window",
        "prediction_scores",
        "scored_at, model_version, n_predicted, n_confirmed, n_overlap",
    ),
    ("ix_prediction_scores_key", "prediction_scores", "request_id, model_version, reviewer"),
    ("ix_alerts_status", "alerts", "status, created_at"),
    ("ix_jobs_status", "jobs", "status, created_at"),
    ("ix_audit_log_at", "audit_log", "at"),
    ("ix_web_sessions_expiry", "web_sessions", "expires_at"),  # web sessions (version 4)
    ("ix_web_sessions_user", "web_sessions", "username"),  # web sessions (version 4)
)

VERSION_TABLE = "schema_version"
CREATE_VERSION_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL, applied_at {TS} NOT NULL)"
)


#: Indexes a later version replaced (a wider index with the same leading columns took over, or
#: the table it served is no longer read that way).
RETIRED_INDEXES: tuple[str, ...] = (
    "ix_prediction_requests_day",
    "ix_feedback_submissions_request",
    "ix_feedback_submissions_day",
    # version 3: predictions keyed by (request id, model version), reviews by (request id,
    # reviewer), quality read from prediction_scores
    "ix_prediction_requests_id",
    "ix_prediction_skills_request",
    "ix_feedback_request",
    "ix_feedback_submissions_version",
    "ix_feedback_submissions_quality",
    "ix_feedback_submissions_window",
)

#: Version 3 (history and agreement): predictions keyed by (request id, model version), every
#: reviewer's review kept, one score row per (prediction, review). Plain statements that Redshift,
#: PostgreSQL and SQLite (>= 3.33, for UPDATE ... FROM) accept; they run once, under the lock,
#: in the upgrade's transaction, and keep every row: the version 2 data has one prediction per
#: request id and one review per request, so each review's counts are its prediction's score.
V3_STATEMENTS: tuple[str, ...] = (
    f"ALTER TABLE prediction_requests ADD COLUMN lowest_confidence {REAL}",
    "ALTER TABLE prediction_skills ADD COLUMN model_version VARCHAR(64)",
    "UPDATE prediction_skills SET model_version = prediction_requests.model_version "
    "FROM prediction_requests WHERE prediction_requests.request_id = prediction_skills.request_id",
    "UPDATE prediction_requests SET lowest_confidence = m.lowest FROM (SELECT request_id, "
    "MIN(confidence) AS lowest FROM prediction_skills GROUP BY request_id) m "
    "WHERE m.request_id = prediction_requests.request_id",
    f"CREATE TABLE IF NOT EXISTS prediction_scores ({', '.join(TABLES['prediction_scores'])})",
    "INSERT INTO prediction_scores (request_id, model_version, reviewer, scored_at, day, week, "
    "n_predicted, n_confirmed, n_overlap) SELECT request_id, model_version, reviewer, "
    "submitted_at, day, week, n_predicted, n_confirmed, n_overlap FROM feedback_submissions",
)


#: Version 4 (service tokens): one new table, no change to existing rows.
V4_STATEMENTS: tuple[str, ...] = (
    f"CREATE TABLE IF NOT EXISTS service_tokens ({', '.join(TABLES['service_tokens'])})",
)


def _index_statements() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {ix} ON {table} ({cols})" for ix, table, cols in INDEXES]


def create_statements(with_indexes: bool) -> list[str]:
    """The whole current schema, for a database that has none (idempotent: IF NOT EXISTS)."""
    tables = [f"CREATE TABLE IF NOT EXISTS {name} ({', '.join(columns)})" for name, columns in TABLES.items()]
    return tables + (_index_statements() if with_indexes else [])


def migrations(with_indexes: bool) -> list[tuple[int, list[str]]]:
    """(version, statements) that upgrade a database from the version before, in order. Version
    1 was the first schema (a database with none gets `create_statements` at once); 2 added the
    dashboard indexes (usage, most rejected/added skills); 3 is `V3_STATEMENTS` (history and
    agreement); 4 is `V4_STATEMENTS` (service tokens); 5 is `V5_STATEMENTS` (the app's web
    sessions). The index statements (idempotent: IF [NOT] EXISTS) bring the indexes to
    `INDEXES` and drop the `RETIRED_INDEXES`; they come last, in the newest step, after every
    column they cover exists."""
    indexes = (
        _index_statements() + [f"DROP INDEX IF EXISTS {ix}" for ix in RETIRED_INDEXES] if with_indexes else []
    )
    return [(2, []), (3, list(V3_STATEMENTS)), (4, list(V4_STATEMENTS)), (5, [*V5_STATEMENTS, *indexes])]


LATEST_VERSION = max(version for version, _ in migrations(False))


def _ensure_version_table(warehouse: Warehouse) -> None:
    """Create `schema_version`, tolerating another process creating it at the same moment."""
    try:
        warehouse.execute(CREATE_VERSION_TABLE)
    except WarehouseError as exc:
        # PostgreSQL can report a unique-key race on the catalog when two sessions create the
        # same table at once; if the table is there now, the other session won.
        try:
            warehouse.scalar(f"SELECT COUNT(*) FROM {VERSION_TABLE}")
        except WarehouseError:
            raise exc from None


def apply(warehouse: Warehouse, *, with_indexes: bool | None = None) -> int:
    """Create or upgrade the schema; returns the schema version now in place. Indexes are
    created when `with_indexes` (default: `warehouse.supports_indexes`).

    A database without a schema gets the current one in one step (one `schema_version` row);
    an older one runs the `migrations` after its version. Either runs in one transaction that
    first locks `schema_version` (`warehouse.lock`), so a second process waits, then sees the
    version recorded and does nothing.
    """
    if with_indexes is None:
        with_indexes = warehouse.supports_indexes
    try:  # the usual case: already current, so no lock and no DDL
        applied = int(warehouse.scalar(f"SELECT MAX(version) FROM {VERSION_TABLE}") or 0)
        if applied >= LATEST_VERSION:
            return applied
    except WarehouseError:
        pass  # no table yet (or unreachable: the next statement says so)
    _ensure_version_table(warehouse)
    with warehouse.lock(VERSION_TABLE) as session:
        current = int(session.scalar(f"SELECT MAX(version) FROM {VERSION_TABLE}") or 0)
        if current == 0:  # a new database: the current schema in one step
            steps = [(LATEST_VERSION, create_statements(with_indexes))]
        else:
            steps = [(v, statements) for v, statements in migrations(with_indexes) if v > current]
        for version, statements in steps:
            for statement in statements:
                session.execute(statement)
            session.execute(
                f"INSERT INTO {VERSION_TABLE} (version, applied_at) VALUES (?, ?)",
                (version, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            current = version
        return current


def current_version(warehouse: Warehouse) -> int:
    """The applied schema version (0 when the schema was never created)."""
    try:
        return int(warehouse.scalar(f"SELECT MAX(version) FROM {VERSION_TABLE}") or 0)
    except WarehouseError:
        return 0

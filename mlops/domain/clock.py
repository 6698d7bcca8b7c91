"""The one time format of the backend.

Every timestamp SEA writes (warehouse rows, registry records, audit events, jobs) is
`timestamp()`: ISO-8601 UTC with milliseconds and a `Z`, e.g. `2026-11-27T05:54:01.123Z`.
It is fixed-width, so timestamps compare correctly as text in SQL. Warehouse rows carry `day`
(`YYYY-MM-DD`) and ISO `week` (`YYYY-Www`) beside it, so bucketing needs no dialect-specific
date functions. `parse_timestamp` reads this format, any ISO-8601 string and the production
team's old `dd/mm/YYYY/HHMM` records."""

from __future__ import annotations

from datetime import UTC, date, datetime

_OLD_TIMESTAMP = "%d/%m/%Y/%H%M"


def utc(moment: datetime | None = None) -> datetime:
    """`moment` (default: now) as a naive UTC datetime to the millisecond; aware datetimes are
    converted, naive ones are taken as UTC."""
    if moment is None:
        moment = datetime.now(UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def timestamp(moment: datetime | None = None) -> str:
    """The timestamp string of `moment` (default: now), e.g. `2026-11-27T05:54:01.123Z`."""
    return utc(moment).isoformat(timespec="milliseconds") + "Z"


def utc_now() -> str:
    """`timestamp()` of now."""
    return timestamp()


def parse_timestamp(value: object) -> datetime | None:
    """A timestamp as an aware UTC datetime: ISO-8601 (naive means UTC, `Z` allowed) or the old
    production format `dd/mm/YYYY/HHMM`; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, _OLD_TIMESTAMP)
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def day_of(moment: date) -> str:
    """`YYYY-MM-DD`."""
    return moment.strftime("%Y-%m-%d")


def week_of(moment: date) -> str:
    """The ISO week `YYYY-Www` (Monday-based; 2027-01-01 is in `2026-W53`)."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def day_bound(value: date | datetime | str | None) -> str | None:
    """A `day` filter value from a date, datetime or `YYYY-MM-DD...` string (None stays None)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return day_of(utc(value))
    if isinstance(value, date):
        return day_of(value)
    text = str(value).strip()
    try:
        return day_of(date.fromisoformat(text[:10]))
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None

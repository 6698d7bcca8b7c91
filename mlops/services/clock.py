"""Warehouse time formats: ISO-8601 UTC timestamps (no offset, seconds) with `day` (`YYYY-MM-DD`)
and ISO `week` (`YYYY-Www`) beside them, so bucketing needs no dialect-specific date functions."""
from __future__ import annotations

from datetime import date, datetime, timezone


def utc(moment: datetime | None = None) -> datetime:
    """`moment` (default: now) as a naive UTC datetime; aware datetimes are converted."""
    if moment is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def timestamp(moment: datetime | None = None) -> str:
    """The warehouse timestamp string of `moment` (default: now), e.g. `2026-11-27T05:54:01`."""
    return utc(moment).isoformat(timespec="seconds")


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

"""RFC 3339 timestamps as written in run reports, read back for durations and merging."""

from __future__ import annotations

from datetime import datetime, timezone

from ihe_test_util.errors import UsageError


def parse_timestamp(value: str, *, source: str) -> datetime:
    """An RFC 3339 date-time as an aware datetime (a missing offset is read as UTC)."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{source}: {value!r} is not an RFC 3339 date-time",
                         hint="write times like 2025-01-15T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def duration_seconds(started_at: str, finished_at: str) -> float | None:
    """Seconds between two report timestamps, or ``None`` when either cannot be read."""
    try:
        started = parse_timestamp(started_at, source="started_at")
        finished = parse_timestamp(finished_at, source="finished_at")
    except UsageError:
        return None
    return max((finished - started).total_seconds(), 0.0)

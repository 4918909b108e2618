"""When a scheduled post goes out (pure): the next morning, noon or evening slot in program time."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_TIMES = {"morning": time(8, 0), "noon": time(12, 0), "evening": time(20, 0)}


def scheduled_at(slot: str, at: datetime, timezone: str) -> datetime:
    """``at`` for "now"; otherwise the slot's next local time at or after ``at``, in UTC."""
    if slot == "now":
        return at
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    candidate = datetime.combine(local.date(), SLOT_TIMES[slot], tzinfo=zone)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), SLOT_TIMES[slot], tzinfo=zone)
    return candidate.astimezone(UTC)

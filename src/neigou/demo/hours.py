"""The shoppers' hours of the demo: a seeded click, claim or order is moved into the daytime of the
program's time zone, so the hourly charts of a demo built at any hour (say 02:00 in Shanghai) look like
a real day's. Deterministic: the same instant always moves to the same place."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

OPENS = time(8)
CLOSES = time(22, 30)  # a claim a minute after the day's last click is still before 23:00
DAY = timedelta(days=1)


def in_daytime(at: datetime, zone: ZoneInfo, *, latest: datetime, closes: time = CLOSES) -> datetime:
    """``at`` moved within its local day into the hours from ``OPENS`` to ``closes``: the day's 24
    hours are laid over those, so a day's instants keep their order. A daytime instant later than
    ``latest`` (the demo built in the night, before the day's shoppers) takes the day before's."""
    local = at.astimezone(zone)
    day = local.date()
    opens = datetime.combine(day, OPENS, tzinfo=zone)
    span = datetime.combine(day, closes, tzinfo=zone) - opens
    moved = opens + (local - datetime.combine(day, time(0), tzinfo=zone)) * (span / DAY)
    if moved > latest:
        moved -= DAY
    return moved.astimezone(UTC)


def spread_in_daytime(
    count: int, zone: ZoneInfo, *, after: datetime, before: datetime, closes: time = CLOSES
) -> list[datetime]:
    """``count`` instants in order, evenly spread over the shoppers' hours (``OPENS`` to ``closes``, local)
    that lie strictly between ``after`` and ``before``; none when no such hours lie between them (both in
    the same night: a demo built before 08:00 on a month's first day, with this month's recruits), or
    too few microseconds of them to keep every instant apart from their ends."""
    spans: list[tuple[datetime, datetime]] = []
    day, last = after.astimezone(zone).date(), before.astimezone(zone).date()
    while day <= last:
        # In UTC, so that lengths are elapsed time whatever the zone's clock changes do.
        opens = max(datetime.combine(day, OPENS, tzinfo=zone).astimezone(UTC), after.astimezone(UTC))
        shuts = min(datetime.combine(day, closes, tzinfo=zone).astimezone(UTC), before.astimezone(UTC))
        if opens < shuts:
            spans.append((opens, shuts))
        day += DAY
    total = sum((shuts - opens for opens, shuts in spans), timedelta())
    if total < timedelta(microseconds=count + 1):
        return []
    instants: list[datetime] = []
    for n in range(count):
        left = total * (n + 1) / (count + 1)
        for opens, shuts in spans:
            if left <= shuts - opens:
                instants.append(opens + left)
                break
            left -= shuts - opens
    return instants

"""Pure rules of the distribution network: a period's UTC bounds in a program's zone and masked names.

No I/O. Month arithmetic is the tier evaluation's (``tiers.periods``), so a team's or leaderboard's
"this month" is exactly the month tiers are evaluated on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neigou.tiers import periods as months


@dataclass(frozen=True)
class Period:
    """A calendar month of a program's time zone, as ``[start, end)`` in UTC."""

    label: str
    start: datetime
    end: datetime


def _bounds(month: months.Period, timezone: str) -> Period:
    return Period(label=str(month), start=month.start(timezone), end=month.end(timezone))


def parse_period(label: str, timezone: str) -> Period | None:
    """``"2026-03"`` in ``timezone`` as UTC bounds, or None when it is not a month we accept."""
    text = label.strip()
    # ASCII digits only: a full-width "２０２６-03" is not a period, whatever int() would make of it.
    month = months.parse_period(text) if text.isascii() else None
    if month is None or month.year > months.MAX_YEAR:  # the last year tiers evaluate, too
        return None
    return _bounds(month, timezone)


def month_period(year: int, month: int, timezone: str) -> Period:
    """The month ``year-month`` of ``timezone``: from its first midnight to the next month's."""
    return _bounds(months.Period(year, month), timezone)


def period_of(at: datetime, timezone: str) -> Period:
    """The month of ``timezone`` that contains the instant ``at``."""
    return _bounds(months.period_of(at, timezone), timezone)


def previous_period(period: Period, timezone: str) -> Period:
    """The month before ``period``."""
    return _bounds(months.Period(int(period.label[:4]), int(period.label[5:])).previous(), timezone)


def mask_name(name: str) -> str:
    """Another member's name as a leaderboard shows it: ``群主·王小美`` → ``群****美``, ``王伟`` → ``王*``."""
    name = name.strip()
    if len(name) <= 1:
        return name or "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * min(len(name) - 2, 4) + name[-1]

"""Evaluation periods: calendar months in the program's time zone, as UTC instants ``[start, end)``.

Pure code (no I/O): the period of an instant, a period's bounds and its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from neigou.kit.dates import MONTH_PATTERN

# ASCII digits only, the whole text: ``\d`` would take full-width digits and ``$`` a trailing newline.
PERIOD_PATTERN = MONTH_PATTERN
# The last year a period may be evaluated in: a later one lies in the future (and year 9999's months
# have no end in the calendar); it caps a team's or leaderboard's month too (``network.rules``).
MAX_YEAR = 2100


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month, written ``YYYY-MM``."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Period:
        """The month after."""
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Period:
        """The month before."""
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def start(self, timezone: str) -> datetime:
        """The first instant of the month in ``timezone``, in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=ZoneInfo(timezone)).astimezone(UTC)

    def end(self, timezone: str) -> datetime:
        """The first instant after the month (the next month's start), in UTC."""
        return self.next().start(timezone)


def parse_period(text: str) -> Period | None:
    """``"2026-03"`` → Period(2026, 3); None when it is not a month of years 2000–9999 written
    ``YYYY-MM`` in ASCII digits, nothing before or after it."""
    match = PERIOD_PATTERN.fullmatch(text)
    if match is None:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 9999 and 1 <= month <= 12):
        return None
    return Period(year, month)


def period_of(at: datetime, timezone: str) -> Period:
    """The month ``at`` falls in, read in ``timezone``."""
    local = at.astimezone(ZoneInfo(timezone))
    return Period(local.year, local.month)

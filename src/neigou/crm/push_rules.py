"""The rules a push obeys before a message is written (pure): frequency cap and quiet hours.

* frequency cap: a customer gets at most ``cap`` pushes in any window of ``days`` days
  (half-open, ``[s, s + days)``). A new push at ``t`` is refused when some window holding ``t``
  already holds ``cap`` of the customer's pushes.
* quiet hours: from ``start`` to ``end`` in the program's time zone (``22:00``–``08:00`` wraps
  midnight; equal ends mean no quiet hours). A message due inside them is scheduled for their end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The most customers one push reaches, listed or resolved from a segment (each is locked while it is written).
MAX_CUSTOMERS = 500
DEFAULT_CAP = 2
DEFAULT_CAP_DAYS = 7
DEFAULT_QUIET_START = time(22, 0)
DEFAULT_QUIET_END = time(8, 0)


@dataclass(frozen=True)
class Cap:
    """At most ``pushes`` pushes per customer in any ``days`` days."""

    pushes: int = DEFAULT_CAP
    days: int = DEFAULT_CAP_DAYS

    @property
    def window(self) -> timedelta:
        """The window's length."""
        return timedelta(days=self.days)


def within_cap(earlier: Iterable[datetime], at: datetime, cap: Cap) -> bool:
    """True when one more push at ``at`` keeps every ``cap.days`` window at ``cap.pushes`` or fewer.

    ``earlier`` are the send times of the customer's pushes (before or after ``at``: scheduled ones count).
    The fullest window holding ``at`` starts at ``at`` or at one of the pushes in ``(at − window, at]``.
    """
    if cap.pushes <= 0:
        return False
    window = cap.window
    near = sorted(t for t in earlier if at - window < t < at + window)
    starts = [at, *(t for t in near if t <= at)]
    fullest = max(sum(1 for t in near if s <= t < s + window) for s in starts)
    return fullest + 1 <= cap.pushes


@dataclass(frozen=True)
class QuietHours:
    """Hours (program time) in which nothing is sent."""

    start: time = DEFAULT_QUIET_START
    end: time = DEFAULT_QUIET_END

    def holds(self, moment: time) -> bool:
        """True when the wall-clock time ``moment`` is inside the quiet hours."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def send_at(due: datetime, quiet: QuietHours, timezone: str) -> datetime:
    """When a message due at ``due`` goes out (UTC): ``due``, or the end of the quiet hours it falls in."""
    zone = ZoneInfo(timezone)
    local = due.astimezone(zone)
    if not quiet.holds(local.time().replace(tzinfo=None)):
        return due.astimezone(UTC)
    day = local.date()
    if quiet.start > quiet.end and local.time().replace(tzinfo=None) >= quiet.start:
        day = day + timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=zone).astimezone(UTC)

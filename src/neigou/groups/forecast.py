"""Pure forecast of a group's size from its recent growth, in exact integer maths.

The pace is the least-squares slope (members per day) through the group's daily counts of the
last ``FORECAST_WINDOW_DAYS`` days, kept as an exact fraction. The projection starts from the
latest count actually observed and adds the pace for each day ahead, rounded down:
``projected = last_count + floor(pace × days_ahead)``, never below 0. With fewer than two days
of counts in the window the pace is unknown and the group is assumed not to grow.

"At this pace it reaches 371 by 2 April, 29 short": projected 371 against a requirement of 400.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

FORECAST_WINDOW_DAYS = 7


@dataclass(frozen=True)
class Projection:
    """Where a group will be on ``on`` at its pace, against what it must have then."""

    on: date
    required: int
    projected: int
    pace_per_day: Fraction | None

    @property
    def short_by(self) -> int:
        """Members missing at the checkpoint (0 when it makes it)."""
        return max(0, self.required - self.projected)

    @property
    def at_risk(self) -> bool:
        """True when the group will miss the checkpoint at its pace."""
        return self.projected < self.required

    @property
    def pace_per_week(self) -> int | None:
        """The pace over a week, rounded down (for display)."""
        return None if self.pace_per_day is None else math.floor(self.pace_per_day * 7)


def pace(series: Sequence[tuple[date, int]]) -> Fraction | None:
    """Least-squares slope in members per day of ``(day, count)`` points; None below two days."""
    if len({day for day, _ in series}) < 2:
        return None
    origin = min(day for day, _ in series)
    xs = [(day - origin).days for day, _ in series]
    ys = [count for _, count in series]
    n = len(series)
    sum_x, sum_y = sum(xs), sum(ys)
    sum_xx = sum(x * x for x in xs)
    sum_xy = sum(x * y for x, y in zip(xs, ys, strict=True))
    return Fraction(n * sum_xy - sum_x * sum_y, n * sum_xx - sum_x * sum_x)


def recent(
    series: Sequence[tuple[date, int]], on: date, *, window_days: int = FORECAST_WINDOW_DAYS
) -> list[tuple[date, int]]:
    """The daily counts of the ``window_days`` days ending with ``on``."""
    return sorted((day, count) for day, count in series if 0 <= (on - day).days < window_days)


def project(
    *, last_day: date, last_count: int, slope: Fraction | None, on: date, required: int
) -> Projection:
    """The projection to ``on`` from the latest observed count at the given pace."""
    ahead = max(0, (on - last_day).days)
    gained = 0 if slope is None else math.floor(slope * ahead)
    return Projection(on=on, required=required, projected=max(0, last_count + gained), pace_per_day=slope)

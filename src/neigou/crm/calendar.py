"""The salesperson's calendar (pure): the days a birthday falls on this week, and the season change
a push of new-season clothes is timed for.

Seasons are meteorological in the program's local dates: spring from 1 March, summer from 1 June,
autumn from 1 September, winter from 1 December. A season change is worth a task from
``SEASON_LEAD_DAYS`` days before its first day to ``SEASON_TAIL_DAYS`` days after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from neigou.kit.i18n import Message

SEASON_LEAD_DAYS = 14
SEASON_TAIL_DAYS = 7
BIRTHDAY_DAYS = 7
_SEASONS = ((3, Message("spring")), (6, Message("summer")), (9, Message("autumn")), (12, Message("winter")))


@dataclass(frozen=True)
class SeasonChange:
    """The season that starts (or started) on ``starts_on``."""

    season: Message
    starts_on: date


def birthday_days(today: date, days: int = BIRTHDAY_DAYS) -> list[tuple[int, int]]:
    """(month, day) of ``today`` and the ``days - 1`` days after it; 29 February counts on 28 February
    in a common year, so nobody's birthday is skipped."""
    found: list[tuple[int, int]] = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        found.append((day.month, day.day))
        if (day.month, day.day) == (2, 28) and not _leap(day.year):
            found.append((2, 29))
    return found


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def next_birthday(birthday: date, today: date) -> date:
    """The first day on or after ``today`` the birthday is celebrated (28 February in a common year
    for 29 February)."""
    for year in (today.year, today.year + 1):
        day = (
            min(birthday.day, 28)
            if (birthday.month, birthday.day) == (2, 29) and not _leap(year)
            else birthday.day
        )
        celebrated = date(year, birthday.month, day)
        if celebrated >= today:
            return celebrated
    raise AssertionError("a birthday recurs within a year")  # pragma: no cover


def season_change(today: date) -> SeasonChange | None:
    """The season change around ``today``, if it is within the lead or the tail, else None."""
    for year in (today.year - 1, today.year, today.year + 1):
        for month, name in _SEASONS:
            starts = date(year, month, 1)
            if (
                starts - timedelta(days=SEASON_LEAD_DAYS)
                <= today
                <= starts + timedelta(days=SEASON_TAIL_DAYS)
            ):
                return SeasonChange(season=name, starts_on=starts)
    return None

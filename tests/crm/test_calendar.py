"""The salesperson's calendar: birthdays this week, season changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.crm.calendar import SeasonChange, birthday_days, next_birthday, season_change
from neigou.kit.i18n import Message

pytestmark = pytest.mark.no_database


def test_birthday_days_wrap_the_year_and_keep_the_leap_day() -> None:
    assert birthday_days(date(2026, 12, 29)) == [(12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3), (1, 4)]
    assert birthday_days(date(2027, 2, 27), days=3) == [(2, 27), (2, 28), (2, 29), (3, 1)]
    assert birthday_days(date(2028, 2, 27), days=3) == [(2, 27), (2, 28), (2, 29)]


def test_next_birthday() -> None:
    assert next_birthday(date(1990, 12, 6), date(2026, 12, 4)) == date(2026, 12, 6)
    assert next_birthday(date(1990, 1, 2), date(2026, 12, 4)) == date(2027, 1, 2)
    assert next_birthday(date(1992, 2, 29), date(2027, 2, 1)) == date(2027, 2, 28)
    assert next_birthday(date(1992, 2, 29), date(2028, 2, 1)) == date(2028, 2, 29)


def test_season_changes() -> None:
    assert season_change(date(2026, 12, 4)) == SeasonChange(Message("winter"), date(2026, 12, 1))
    assert season_change(date(2026, 11, 17)) == SeasonChange(Message("winter"), date(2026, 12, 1))
    assert season_change(date(2026, 11, 16)) is None
    assert season_change(date(2026, 12, 9)) is None
    assert season_change(date(2027, 2, 20)) == SeasonChange(Message("spring"), date(2027, 3, 1))


@given(
    st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 12, 31)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
)
def test_a_birthday_this_week_is_one_of_its_days(today: date, birthday: date) -> None:
    upcoming = next_birthday(birthday, today)
    assert today <= upcoming < today + timedelta(days=366)
    in_week = upcoming < today + timedelta(days=7)
    assert in_week == ((birthday.month, birthday.day) in birthday_days(today))

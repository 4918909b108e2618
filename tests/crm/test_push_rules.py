"""Frequency cap and quiet hours, exhaustively (Hypothesis) and on the field's defaults."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.crm.push_rules import Cap, QuietHours, send_at, within_cap

pytestmark = pytest.mark.no_database

AT = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
SHANGHAI = "Asia/Shanghai"


def test_two_pushes_in_seven_days_by_default() -> None:
    cap = Cap()
    assert within_cap([], AT, cap)
    assert within_cap([AT - timedelta(days=3)], AT, cap)
    assert not within_cap([AT - timedelta(days=3), AT - timedelta(days=1)], AT, cap)
    # A week and more ago no longer counts; a push scheduled ahead does.
    assert within_cap([AT - timedelta(days=7), AT - timedelta(days=1)], AT, cap)
    assert not within_cap([AT - timedelta(days=1), AT + timedelta(days=2)], AT, cap)
    assert within_cap([AT - timedelta(days=6), AT + timedelta(days=1, seconds=1)], AT, cap)


def test_a_cap_of_zero_refuses_every_push() -> None:
    assert not within_cap([], AT, Cap(pushes=0, days=7))


offsets = st.lists(st.integers(min_value=-20 * 24, max_value=20 * 24), max_size=8)


@given(
    hours=offsets, pushes=st.integers(min_value=1, max_value=4), days=st.integers(min_value=1, max_value=10)
)
def test_cap_matches_every_window(hours: list[int], pushes: int, days: int) -> None:
    earlier = [AT + timedelta(hours=h) for h in hours]
    cap = Cap(pushes=pushes, days=days)
    window = timedelta(days=days)
    # Brute force: every window start, hour by hour, that holds AT.
    starts = [AT - timedelta(hours=h) for h in range(days * 24)]
    fullest = max(sum(1 for t in [*earlier, AT] if s <= t < s + window) for s in starts)
    assert within_cap(earlier, AT, cap) is (fullest <= pushes)


def shanghai(hour: int, minute: int = 0, day: int = 24) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def test_inside_quiet_hours_the_message_waits_for_their_end() -> None:
    quiet = QuietHours()
    assert send_at(shanghai(12), quiet, SHANGHAI) == shanghai(12)
    assert send_at(shanghai(21, 59), quiet, SHANGHAI) == shanghai(21, 59)
    assert send_at(shanghai(22), quiet, SHANGHAI) == shanghai(8, day=25)
    assert send_at(shanghai(23, 30), quiet, SHANGHAI) == shanghai(8, day=25)
    assert send_at(shanghai(3), quiet, SHANGHAI) == shanghai(8)
    assert send_at(shanghai(8), quiet, SHANGHAI) == shanghai(8)
    assert send_at(shanghai(3), quiet, SHANGHAI).tzinfo is UTC


def test_quiet_hours_inside_one_day_and_none() -> None:
    lunch = QuietHours(time(12), time(14))
    assert send_at(shanghai(13), lunch, SHANGHAI) == shanghai(14)
    assert send_at(shanghai(23), lunch, SHANGHAI) == shanghai(23)
    assert send_at(shanghai(23), QuietHours(time(0), time(0)), SHANGHAI) == shanghai(23)


def test_quiet_hours_follow_the_program_zone() -> None:
    # 23:00 in Berlin (summer time, UTC+2) is quiet; it waits for 08:00 Berlin time.
    due = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
    assert send_at(due, QuietHours(), "Europe/Berlin") == datetime(2026, 7, 2, 6, 0, tzinfo=UTC)


clock = st.times().map(lambda t: t.replace(microsecond=0))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001


@given(due=moments, start=clock, end=clock)
def test_never_sent_inside_quiet_hours_and_never_early(due: datetime, start: time, end: time) -> None:
    quiet = QuietHours(start, end)
    sent = send_at(due, quiet, SHANGHAI)
    assert due <= sent <= due + timedelta(days=1)
    assert not quiet.holds((sent + timedelta(hours=8)).time())
    assert (sent == due) is not quiet.holds((due + timedelta(hours=8)).time())

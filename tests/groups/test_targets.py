"""The pure group-target rules, exactly and exhaustively."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.groups.targets import (
    TargetPoint,
    TargetSchedule,
    next_checkpoint,
    required_members,
    required_on,
    schedule_problems,
)

pytestmark = pytest.mark.no_database

FIELD = TargetSchedule(
    starts_on=date(2026, 3, 24),
    points=(TargetPoint(date(2026, 3, 24), 250), TargetPoint(date(2026, 4, 2), 400)),
    daily_increase_after=3,
)


def test_the_field_schedule() -> None:
    expected = {
        date(2026, 3, 23): None,
        date(2026, 3, 24): 250,
        date(2026, 4, 1): 250,
        date(2026, 4, 2): 400,
        date(2026, 4, 3): 403,
        date(2026, 4, 10): 424,
    }
    assert {day: required_on([FIELD], day) for day in expected} == expected


def test_next_checkpoint_is_the_next_point_then_a_week_ahead() -> None:
    assert next_checkpoint([FIELD], date(2026, 3, 20)) == (date(2026, 3, 24), 250)
    assert next_checkpoint([FIELD], date(2026, 3, 24)) == (date(2026, 4, 2), 400)
    assert next_checkpoint([FIELD], date(2026, 4, 1)) == (date(2026, 4, 2), 400)
    assert next_checkpoint([FIELD], date(2026, 4, 2)) == (date(2026, 4, 9), 421)
    assert next_checkpoint([], date(2026, 4, 2)) is None


def test_a_later_schedule_takes_over_from_its_start() -> None:
    later = TargetSchedule(date(2026, 4, 5), (TargetPoint(date(2026, 4, 8), 300),), 0)
    plan = [later, FIELD]
    assert required_on(plan, date(2026, 4, 4)) == 406
    assert required_on(plan, date(2026, 4, 5)) is None  # the new schedule's first point is later
    assert required_on(plan, date(2026, 4, 20)) == 300
    # The old schedule's rising tail is not a checkpoint once the new one has started.
    assert next_checkpoint(plan, date(2026, 4, 3)) == (date(2026, 4, 8), 300)


def test_schedule_problems() -> None:
    day = date(2026, 1, 1)
    assert schedule_problems([TargetPoint(day, 1)], 0) == []
    codes = [p.code for p in schedule_problems([TargetPoint(day, -1), TargetPoint(day, 2)], -1)]
    assert codes == ["duplicate_point_date", "negative_target", "negative_increase"]
    assert [p.code for p in schedule_problems([], 0)] == ["empty_schedule"]


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
points = st.lists(
    st.builds(TargetPoint, days, st.integers(min_value=0, max_value=5000)),
    min_size=1,
    max_size=6,
    unique_by=lambda p: p.on,
)


@given(points=points, increase=st.integers(min_value=0, max_value=50), day=days)
def test_requirement_follows_the_latest_point(points: list[TargetPoint], increase: int, day: date) -> None:
    ordered = sorted(points)
    got = required_members(points, increase, day)
    earlier = [p for p in ordered if p.on <= day]
    if not earlier:
        assert got is None
    elif earlier[-1] == ordered[-1]:
        assert got == ordered[-1].min_members + increase * (day - ordered[-1].on).days
    else:
        assert got == earlier[-1].min_members
    assert required_members(list(reversed(points)), increase, day) == got  # order of input is irrelevant


@given(points=points, increase=st.integers(min_value=0, max_value=50))
def test_each_point_is_required_on_its_own_date(points: list[TargetPoint], increase: int) -> None:
    for point in points:
        assert required_members(points, increase, point.on) == point.min_members
    first = min(points)
    assert required_members(points, increase, first.on - timedelta(days=1)) is None


@given(points=points, increase=st.integers(min_value=0, max_value=50), day=days, later=st.integers(1, 400))
def test_non_decreasing_points_never_lower_the_requirement(
    points: list[TargetPoint], increase: int, day: date, later: int
) -> None:
    ordered = sorted(points)
    rising = [TargetPoint(p.on, sum(q.min_members for q in ordered[: i + 1])) for i, p in enumerate(ordered)]
    first = required_members(rising, increase, day)
    second = required_members(rising, increase, day + timedelta(days=later))
    if first is not None:
        assert second is not None
        assert second >= first


@given(
    schedules=st.lists(
        st.builds(TargetSchedule, days, points.map(tuple), st.integers(min_value=0, max_value=10)),
        min_size=1,
        max_size=4,
        unique_by=lambda s: s.starts_on,
    ),
    day=days,
)
def test_the_schedule_in_force_decides(schedules: list[TargetSchedule], day: date) -> None:
    started = [s for s in schedules if s.starts_on <= day]
    got = required_on(schedules, day)
    if not started:
        assert got is None
    else:
        current = max(started, key=lambda s: s.starts_on)
        assert got == required_members(current.points, current.daily_increase_after, day)
    checkpoint = next_checkpoint(schedules, day)
    if checkpoint is not None:
        assert checkpoint[0] > day
        assert checkpoint[1] == required_on(schedules, checkpoint[0])

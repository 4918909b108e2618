"""The demo's shoppers' hours: instants spread over the daytime between two instants."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.demo.hours import CLOSES, OPENS, spread_in_daytime

pytestmark = pytest.mark.no_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC))  # noqa: DTZ001
ZONES = st.sampled_from([SHANGHAI, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("UTC")])


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_a_span_wholly_in_one_night_holds_no_daytime() -> None:
    # Joined at 00:06 on a month's first day, the demo built at 00:30 or 02:00, or at 07:59.
    for built in (_at(2026, 3, 1, 0, 30), _at(2026, 3, 1, 2), _at(2026, 3, 1, 7, 59)):
        assert spread_in_daytime(3, SHANGHAI, after=_at(2026, 3, 1, 0, 6), before=built) == []
    assert spread_in_daytime(2, SHANGHAI, after=_at(2026, 3, 1, 22, 30), before=_at(2026, 3, 2, 8)) == []


def test_instants_spread_over_the_daytime_only() -> None:
    # From 22:00 to 09:00 the next day: half an hour of one evening and an hour of the next morning.
    spread = spread_in_daytime(2, SHANGHAI, after=_at(2026, 3, 30, 22), before=_at(2026, 3, 31, 9))
    assert [at.astimezone(SHANGHAI) for at in spread] == [_at(2026, 3, 30, 22, 30), _at(2026, 3, 31, 8, 30)]
    assert all(at.tzinfo is UTC for at in spread)
    # Twenty minutes of the first morning of a month, after a join in its night.
    morning = spread_in_daytime(3, SHANGHAI, after=_at(2026, 3, 1, 1, 40), before=_at(2026, 3, 1, 8, 20))
    assert [at.astimezone(SHANGHAI) for at in morning] == [
        _at(2026, 3, 1, 8, 5),
        _at(2026, 3, 1, 8, 10),
        _at(2026, 3, 1, 8, 15),
    ]


@given(
    zone=ZONES,
    start=MOMENTS,
    length=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=45)),
    count=st.integers(min_value=0, max_value=6),
)
def test_spread_instants_are_in_daytime_between_the_two_in_order(
    zone: ZoneInfo, start: datetime, length: timedelta, count: int
) -> None:
    end = start + length
    spread = spread_in_daytime(count, zone, after=start, before=end)
    assert len(spread) in (0, count)
    assert spread == sorted(spread)
    for at in spread:
        assert start < at < end
        assert OPENS <= at.astimezone(zone).time() <= CLOSES
    # A whole day's shoppers' hours between the two always hold every instant.
    if length >= timedelta(days=2):
        assert len(spread) == count


def test_a_later_closing_hour_is_honoured() -> None:
    spread = spread_in_daytime(
        1, SHANGHAI, after=_at(2026, 3, 1, 19), before=_at(2026, 3, 1, 23), closes=time(20)
    )
    assert [at.astimezone(SHANGHAI) for at in spread] == [_at(2026, 3, 1, 19, 30)]

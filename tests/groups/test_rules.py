"""Pure rules of the groups domain: forecast maths, implausible counts, the CSV format."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.groups import count_files, csv_rows
from neigou.groups.forecast import pace, project, recent
from neigou.groups.plausibility import IMPLAUSIBLE_JUMP, OVER_PLATFORM_LIMIT, PlausibilityRule, review_reason
from neigou.kit.tabular import read_table

pytestmark = pytest.mark.no_database

DAY = date(2026, 3, 27)
T0 = datetime(2026, 3, 24, 12, tzinfo=UTC)


def test_at_this_pace_it_reaches_371_by_2_april_29_short() -> None:
    series = [(DAY - timedelta(days=3 - i), 347 + 4 * i) for i in range(4)]  # 347, 351, 355, 359
    slope = pace(series)
    assert slope == Fraction(4)
    projection = project(last_day=DAY, last_count=359, slope=slope, on=date(2026, 4, 2), required=400)
    assert (projection.projected, projection.short_by, projection.at_risk) == (383, 17, True)
    slower = project(last_day=DAY, last_count=359, slope=Fraction(2), on=date(2026, 4, 2), required=400)
    assert (slower.projected, slower.short_by, slower.pace_per_week) == (371, 29, 14)


def test_pace_is_exact_and_rounds_down_only_at_the_end() -> None:
    series = [(DAY, 300), (DAY + timedelta(days=1), 301), (DAY + timedelta(days=2), 301)]
    assert pace(series) == Fraction(1, 2)
    assert (
        project(
            last_day=DAY + timedelta(days=2),
            last_count=301,
            slope=Fraction(1, 2),
            on=DAY + timedelta(days=5),
            required=0,
        ).projected
        == 302
    )
    assert pace([(DAY, 300)]) is None
    assert pace([(DAY, 300), (DAY, 310)]) is None
    shrinking = project(
        last_day=DAY, last_count=5, slope=Fraction(-3), on=DAY + timedelta(days=10), required=1
    )
    assert shrinking.projected == 0


def test_recent_keeps_the_window_ending_on_the_date() -> None:
    series = [(DAY - timedelta(days=n), n) for n in range(10)]
    assert [count for _, count in recent(series, DAY)] == [6, 5, 4, 3, 2, 1, 0]
    assert recent([(DAY + timedelta(days=1), 1)], DAY) == []


@given(
    start=st.integers(min_value=0, max_value=500),
    step=st.integers(min_value=-20, max_value=40),
    n=st.integers(min_value=2, max_value=7),
    ahead=st.integers(min_value=0, max_value=60),
)
def test_a_straight_line_is_projected_exactly(start: int, step: int, n: int, ahead: int) -> None:
    series = [(DAY + timedelta(days=i), start + step * i) for i in range(n)]
    assert pace(series) == step
    last_day, last = series[-1]
    projection = project(
        last_day=last_day,
        last_count=last,
        slope=pace(series),
        on=last_day + timedelta(days=ahead),
        required=400,
    )
    assert projection.projected == max(0, last + step * ahead)
    assert projection.at_risk is (projection.projected < 400)
    assert projection.short_by == max(0, 400 - projection.projected)


def test_implausible_counts() -> None:
    rule = PlausibilityRule(size_limit=500)
    assert review_reason(rule, member_count=501, observed_at=T0, previous=None) == OVER_PLATFORM_LIMIT
    assert review_reason(rule, member_count=500, observed_at=T0, previous=None) is None
    day = timedelta(days=1)
    assert review_reason(rule, member_count=340, observed_at=T0 + day, previous=(T0, 300)) is None
    assert review_reason(rule, member_count=380, observed_at=T0 + day, previous=(T0, 300)) == IMPLAUSIBLE_JUMP
    assert review_reason(rule, member_count=60, observed_at=T0 + day, previous=(T0, 30)) is None
    assert review_reason(rule, member_count=420, observed_at=T0 + 3 * day, previous=(T0, 300)) is None
    # Part of a day counts as a whole one: +100 over 25 hours is within two days' allowance.
    assert (
        review_reason(rule, member_count=400, observed_at=T0 + day + timedelta(hours=1), previous=(T0, 300))
        is None
    )
    assert review_reason(rule, member_count=100, observed_at=T0 + day, previous=(T0, 450)) is None
    assert review_reason(PlausibilityRule(), member_count=9000, observed_at=T0, previous=None) is None


@given(
    previous=st.integers(min_value=0, max_value=3000),
    gain=st.integers(min_value=-3000, max_value=3000),
    hours=st.integers(min_value=1, max_value=24 * 30),
)
def test_a_jump_needs_both_thresholds(previous: int, gain: int, hours: int) -> None:
    rule = PlausibilityRule(size_limit=None, jump_members_per_day=50, jump_bp_per_day=2000)
    days = -(-hours // 24)
    reason = review_reason(
        rule,
        member_count=max(0, previous + gain),
        observed_at=T0 + timedelta(hours=hours),
        previous=(T0, previous),
    )
    real_gain = max(0, previous + gain) - previous
    expected = real_gain > 50 * days and real_gain * 10_000 > previous * 2000 * days
    assert (reason == IMPLAUSIBLE_JUMP) is expected


def test_csv_rows_and_their_errors() -> None:
    text = (
        "群主ID,群名称,人数,统计时间\n"
        "12,内购1群,363,2026-03-24T21:00:00+08:00\n"
        "\n"
        "x,内购1群,363,2026-03-24T21:00:00+08:00\n"
        "12,,363,2026-03-24T21:00:00+08:00\n"
        "12,内购1群,-1,2026-03-24T21:00:00+08:00\n"
        "12,内购1群,363,2026-03-24 21:00\n"
        "12,内购1群,363,yesterday\n"
    )
    rows, errors = csv_rows.parse(read_table(text, csv_rows.LAYOUT))
    assert rows == [csv_rows.CountRow(2, 12, "内购1群", 363, datetime(2026, 3, 24, 13, tzinfo=UTC))]
    assert [(e.row, e.code) for e in errors] == [
        (4, "bad_owner"),
        (5, "bad_group"),
        (6, "bad_count"),
        (7, "naive_time"),
        (8, "bad_time"),
    ]
    assert count_files.parse_file("")[1][0].code == "empty_file"
    assert count_files.parse_file("owner_member_id,count\n1,2\n")[1][0].code == "missing_columns"
    assert count_files.parse_file("群主ID,群名称,人数,统计时间\n".encode("gb18030"))[1] == []
    assert count_files.parse_file("\ufeff群主ID,群名称,人数,统计时间\n".encode())[1] == []
    # A NUL is its row's error and the rows after it are read; a time is ISO text, never Unix seconds.
    rows, errors = count_files.parse_file(
        "群主ID,群名称,人数,统计时间\n"
        "12,内\x00购1群,363,2026-03-24T21:00:00+08:00\n"
        "12,内购1群,363,1774357200\n"
        "12,内购1群,364,2026-03-24T22:00:00+08:00\n"
    )
    assert [(e.row, e.code) for e in errors] == [(2, "nul_character"), (3, "bad_time")]
    assert [r.line for r in rows] == [4]

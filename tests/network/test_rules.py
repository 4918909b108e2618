"""Pure rules: Shanghai months as UTC bounds, masked names, and signed recruiting codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.network.recruit_codes import inviter_of, recruit_code
from neigou.network.rules import mask_name, parse_period, period_of, previous_period

pytestmark = pytest.mark.no_database

SHANGHAI = "Asia/Shanghai"


def test_a_shanghai_month_in_utc() -> None:
    march = parse_period("2026-03", SHANGHAI)
    assert march is not None
    assert (march.start, march.end) == (
        datetime(2026, 2, 28, 16, tzinfo=UTC),
        datetime(2026, 3, 31, 16, tzinfo=UTC),
    )
    december = parse_period("2026-12", SHANGHAI)
    assert december is not None
    assert december.end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert previous_period(march, SHANGHAI).label == "2026-02"
    assert previous_period(parse_period("2026-01", SHANGHAI) or march, SHANGHAI).label == "2025-12"


def test_the_last_second_and_the_first_midnight() -> None:
    last = datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC)  # 23:59:59 on 31 March in Shanghai
    assert period_of(last, SHANGHAI).label == "2026-03"
    assert period_of(last + timedelta(seconds=1), SHANGHAI).label == "2026-04"


def test_malformed_periods() -> None:
    for bad in ("", "2026", "2026-3", "2026-13", "2026-00", "1999-12", "2101-01", "2026/03", "２０２６-03"):
        assert parse_period(bad, SHANGHAI) is None, bad


# Hypothesis takes naive bounds and attaches the zone itself.
NAIVE_MIN, NAIVE_MAX = datetime(2001, 1, 1), datetime(2099, 12, 1)  # noqa: DTZ001


@given(st.datetimes(min_value=NAIVE_MIN, max_value=NAIVE_MAX, timezones=st.just(UTC)))
def test_every_instant_is_in_its_month(at: datetime) -> None:
    period = period_of(at, SHANGHAI)
    assert period.start <= at < period.end
    assert parse_period(period.label, SHANGHAI) == period


def test_mask_name() -> None:
    assert mask_name("群主·王小美") == "群****美"
    assert mask_name("王伟") == "王*"
    assert mask_name("静") == "静"
    assert mask_name("seller") == "s****r"
    assert mask_name("a very long english name") == "a****e"


@given(st.integers(min_value=1, max_value=2**62))
def test_codes_round_trip_and_reject_other_keys(member_id: int) -> None:
    code = recruit_code("secret-a", member_id)
    assert inviter_of("secret-a", code) == member_id
    assert inviter_of("secret-b", code) is None
    assert str(member_id) != code


def test_tampered_codes_are_refused() -> None:
    code = recruit_code("secret-a", 42)
    for index in range(len(code)):
        replacement = "A" if code[index] != "A" else "B"
        assert inviter_of("secret-a", code[:index] + replacement + code[index + 1 :]) is None
    assert inviter_of("secret-a", "0" + code) is None  # same id, non-canonical
    for garbage in ("", "42", "1", code + "x", code[:-1], "../" + code, "x" * 400):
        assert inviter_of("secret-a", garbage) is None

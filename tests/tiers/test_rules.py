"""The pure tier rules and periods, exhaustively and by property."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.tiers.periods import Period, parse_period, period_of
from neigou.tiers.rules import (
    Condition,
    Keep,
    LadderTier,
    Metrics,
    decide,
    holds,
    ladder_from_rows,
    progress,
    progress_text,
    upgrade_to,
)

pytestmark = pytest.mark.no_database

SUPER = LadderTier("super_member", "超级会员", 1)
MENTOR = LadderTier(
    "mentor",
    "导师",
    2,
    upgrade=(Condition("direct_recruits", 3, "super_member"), Condition("orders", 10)),
    keep=Keep(2, (Condition("orders", 5),)),
)
PARTNER = LadderTier("partner", "合伙人", 3, upgrade=(Condition("gmv_fen", 1_000_000),))
LADDER = [SUPER, MENTOR, PARTNER]


def metrics(recruits: dict[str, int] | None = None, orders: int = 0, gmv: int = 0) -> Metrics:
    by_tier = recruits or {}
    return Metrics(sum(by_tier.values()), by_tier, orders, gmv)


def test_ladder_from_stored_rows() -> None:
    rows = [
        (
            "mentor",
            "导师",
            2,
            {
                "period": "month",
                "all": [{"metric": "orders", "gte": 10, "tier": None}],
                "keep": {"periods": 3, "all": [{"metric": "orders", "gte": 5}]},
            },
        ),
        ("super_member", "超级会员", 1, None),
    ]
    ladder = ladder_from_rows(rows)
    assert [t.code for t in ladder] == ["super_member", "mentor"]
    assert ladder[1].upgrade == (Condition("orders", 10),)
    assert ladder[1].keep == Keep(3, (Condition("orders", 5),))


def test_recruits_at_a_tier_or_higher_count() -> None:
    cond = (Condition("direct_recruits", 3, "super_member"),)
    assert holds(LADDER, metrics({"super_member": 2, "mentor": 1}), cond)
    assert not holds(LADDER, metrics({"super_member": 2, "ghost": 5}), cond)
    assert not holds(LADDER, metrics({"super_member": 2}), (Condition("direct_recruits", 3, "mentor"),))
    assert holds(LADDER, Metrics(direct_recruits=3), (Condition("direct_recruits", 3),))


def test_upgrade_needs_every_condition_and_climbs_to_the_highest() -> None:
    assert upgrade_to(LADDER, "super_member", metrics({"super_member": 3}, orders=9)) is None
    assert upgrade_to(LADDER, "super_member", metrics({"super_member": 3}, orders=10)) == MENTOR
    both = metrics({"super_member": 3}, orders=10, gmv=1_000_000)
    assert upgrade_to(LADDER, "super_member", both) == PARTNER
    assert upgrade_to(LADDER, "partner", both) is None
    assert upgrade_to(LADDER, "ghost", both) is None
    assert upgrade_to(LADDER, None, metrics(orders=10, recruits={"super_member": 3})) == MENTOR


def test_keep_rule_drops_one_tier_after_n_short_periods() -> None:
    short, fine = metrics(orders=4), metrics(orders=5)
    assert decide(LADDER, "mentor", [short]) is None
    assert decide(LADDER, "mentor", [short, fine]) is None
    dropped = decide(LADDER, "mentor", [short, short])
    assert dropped is not None
    assert (dropped.from_tier, dropped.to_tier, dropped.kind) == ("mentor", "super_member", "demotion")
    assert [r.code for r in dropped.reasons] == ["keep_rule_missed", "keep_condition_missed"]
    # an upgrade wins over a keep rule
    up = decide(LADDER, "mentor", [metrics(orders=4, gmv=1_000_000), short])
    assert up is not None
    assert (up.to_tier, up.kind) == ("partner", "upgrade")


def test_progress_names_what_is_missing() -> None:
    prog = progress(LADDER, "super_member", metrics({"super_member": 0}, orders=0))
    assert prog is not None
    assert prog.target == MENTOR
    assert progress_text(LADDER, prog, "zh-CN") == "还差 3 位超级会员 · 10 单"
    prog = progress(LADDER, "super_member", metrics({"mentor": 2}, orders=9))
    assert prog is not None
    assert progress_text(LADDER, prog, "zh-CN") == "还差 1 位超级会员 · 1 单"
    assert progress_text(LADDER, prog, "en") == "1 more 超级会员 recruit · 1 more order to 导师"
    met = progress(LADDER, "super_member", metrics({"super_member": 3}, orders=10))
    assert met is not None
    assert met.met
    assert progress_text(LADDER, met, "zh-CN") == "已全部达标，下月起升为导师"
    gmv = progress(LADDER, "mentor", metrics(gmv=999_900))
    assert gmv is not None
    assert progress_text(LADDER, gmv, "zh-CN") == "还差 成交额 ¥1.00"
    assert progress(LADDER, "partner", metrics()) is None


counts = st.integers(min_value=0, max_value=50)


@given(counts, counts, counts, st.integers(min_value=0, max_value=2_000_000))
def test_decisions_move_along_the_ladder(recruits: int, higher: int, orders: int, gmv: int) -> None:
    m = metrics({"super_member": recruits, "mentor": higher}, orders=orders, gmv=gmv)
    ranks = {t.code: t.rank for t in LADDER}
    for current in ("super_member", "mentor", "partner"):
        decision = decide(LADDER, current, [m])
        if decision is None:
            continue
        assert decision.kind == "upgrade"  # one period never triggers a two-period keep rule
        assert ranks[decision.to_tier] > ranks[current]
        target = next(t for t in LADDER if t.code == decision.to_tier)
        assert holds(LADDER, m, target.upgrade)
        assert not any(holds(LADDER, m, t.upgrade) for t in LADDER if t.rank > target.rank)


@given(counts, counts)
def test_more_activity_never_loses_an_upgrade(orders: int, extra: int) -> None:
    base = metrics({"super_member": 3}, orders=orders)
    more = metrics({"super_member": 3}, orders=orders + extra)
    before, after = upgrade_to(LADDER, "super_member", base), upgrade_to(LADDER, "super_member", more)
    assert (after.rank if after else 0) >= (before.rank if before else 0)


def test_periods() -> None:
    assert parse_period("2026-03") == Period(2026, 3)
    assert [parse_period(t) for t in ("2026-13", "2026-00", "26-03", "2026-3", "1999-01")] == [None] * 5
    # ASCII digits and nothing around them: no full-width or other scripts' digits, no newline or space
    written = ("２０２６-０３", "٢٠٢٦-٠٣", "2026-03\n", " 2026-03", "2026-03 ", "2026-03\n\n")
    assert [parse_period(t) for t in written] == [None] * len(written)
    assert str(Period(2026, 12).next()) == "2027-01"
    assert str(Period(2026, 1).previous()) == "2025-12"
    assert Period(2026, 4).start("Asia/Shanghai") == datetime(2026, 3, 31, 16, tzinfo=UTC)
    assert period_of(datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC), "Asia/Shanghai") == Period(2026, 3)
    assert period_of(datetime(2026, 3, 31, 16, tzinfo=UTC), "Asia/Shanghai") == Period(2026, 4)


@given(st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 1), timezones=st.just(UTC)))  # noqa: DTZ001
def test_an_instant_lies_in_its_period(at: datetime) -> None:
    for zone in ("Asia/Shanghai", "America/New_York", "UTC"):
        period = period_of(at, zone)
        assert period.start(zone) <= at < period.end(zone)
        assert period.next().start(zone) == period.end(zone)
        assert period.next().previous() == period
        assert period.end(zone) - period.start(zone) >= timedelta(days=27)

"""The pure program rules, exhaustively."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.programs.rules import (
    MAX_LEGAL_LEVELS,
    TierRule,
    UpgradeCondition,
    ladder_problems,
    levels_problem,
    would_loop,
)

pytestmark = pytest.mark.no_database

SUPER = TierRule("super_member", 1, 2000, 500)
MENTOR = TierRule(
    "mentor",
    2,
    3000,
    1000,
    (UpgradeCondition("direct_recruits", 10, "super_member"), UpgradeCondition("orders", 100)),
)


@pytest.mark.parametrize("levels", range(-2, 8))
def test_levels(levels: int) -> None:
    problem = levels_problem(levels)
    assert (problem is None) == (1 <= levels <= MAX_LEGAL_LEVELS)
    if levels > MAX_LEGAL_LEVELS:
        assert problem is not None
        assert problem.code == "too_many_levels"


def test_valid_ladder() -> None:
    assert ladder_problems([SUPER, MENTOR], max_levels=2) == []


def codes(tiers: list[TierRule], max_levels: int = 2) -> list[str]:
    return [p.code for p in ladder_problems(tiers, max_levels=max_levels)]


def test_ladder_problems() -> None:
    assert codes([]) == ["empty_ladder"]
    assert codes([SUPER, TierRule("super_member", 2, 1, 0)]) == ["duplicate_tier_code"]
    assert codes([SUPER, TierRule("x", 1, 1, 0)]) == ["duplicate_tier_rank"]
    assert codes([SUPER], max_levels=1) == ["override_without_levels"]
    assert codes([TierRule("a", 1, 10_001, 0)]) == ["rate_out_of_range"]
    assert codes([TierRule("a", 1, 2000, 0, (UpgradeCondition("likes", 1),))]) == ["unknown_metric"]
    assert codes([TierRule("a", 1, 2000, 0, (UpgradeCondition("orders", 1, "a"),))]) == [
        "tier_on_wrong_metric"
    ]
    assert codes([TierRule("a", 1, 2000, 0, (UpgradeCondition("direct_recruits", 1, "zz"),))]) == [
        "unknown_tier"
    ]
    assert codes([TierRule("a", 1, 2000, 0, (UpgradeCondition("orders", -1),))]) == ["negative_threshold"]
    # 3 levels: share 6000 + 2 × 2500 = 11000 bp > the whole pool.
    assert codes([TierRule("a", 1, 6000, 2500)], max_levels=3) == ["shares_exceed_pool"]
    assert codes([TierRule("a", 1, 5000, 2500)], max_levels=3) == []


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.integers(1, 3))
def test_pool_never_overpaid(share: int, override: int, levels: int) -> None:
    problems = codes([TierRule("a", 1, share, override)], max_levels=levels)
    overpaid = share + (levels - 1) * override > 10_000
    assert ("shares_exceed_pool" in problems) == (overpaid and not (levels == 1 and override > 0))


@given(st.lists(st.integers(1, 50), unique=True, max_size=20), st.integers(1, 50), st.integers(1, 50))
def test_would_loop(upline: list[int], member: int, inviter: int) -> None:
    assert would_loop(member, inviter, upline) == (member == inviter or member in upline)

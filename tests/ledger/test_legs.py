"""Postings balance by construction, or are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.ledger.legs import Leg, UnbalancedPosting, balanced, earned, move, reversed_from
from neigou.ledger.payout_rules import PayoutRules, fee, refusal

pytestmark = pytest.mark.no_database

amounts = st.dictionaries(st.integers(1, 50), st.integers(0, 10**9), max_size=5)


@given(amounts)
def test_every_shape_balances(per_member: dict[int, int]) -> None:
    for legs in (
        earned(per_member, to="pending", expense="commission_expense"),
        move(per_member, source="pending", target="frozen"),
        reversed_from(per_member, source="available", expense="commission_expense"),
    ):
        assert sum(leg.amount_fen for leg in legs) == 0
        assert all(leg.amount_fen != 0 for leg in legs)


def test_unbalanced_legs_are_refused() -> None:
    with pytest.raises(UnbalancedPosting):
        balanced([Leg(1, "pending", 10), Leg(None, "commission_expense", -9)])
    with pytest.raises(TypeError):
        balanced([Leg(1, "pending", 1.5)])  # type: ignore[arg-type]


@given(st.integers(1, 10**9), st.integers(0, 10_000), st.integers(0, 10_000), st.integers(0, 5000))
def test_fee_and_refusals(amount: int, minimum: int, fixed: int, bp: int) -> None:
    rules = PayoutRules(min_withdrawal_fen=minimum, fee_fixed_fen=fixed, fee_bp=bp)
    charged = fee(rules, amount)
    assert charged == fixed + amount * bp // 10_000
    problem = refusal(rules, amount, available_fen=amount - 1)
    if amount < minimum:
        assert problem is not None
        assert problem[0] == "below_minimum"
    elif charged >= amount:
        assert problem is not None
        assert problem[0] == "fee_exceeds_amount"
    else:
        assert problem is not None
        assert problem[0] == "insufficient_balance"
        assert refusal(rules, amount, available_fen=amount) is None

"""The commission maths, exhaustively: per-line floors, levels, self-purchase, refunds, tier history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.orders.commission import (
    Earner,
    Line,
    compute,
    earners,
    line_reversal,
    reversal,
    tier_at,
    worth_after_refunds,
)

pytestmark = pytest.mark.no_database

lines = st.lists(
    st.builds(
        Line,
        paid_fen=st.integers(0, 10**9),
        quantity=st.integers(1, 50),
        commission_rate_bp=st.integers(0, 10_000),
        fixed_commission_fen=st.none() | st.integers(0, 10**6),
    ),
    min_size=1,
    max_size=5,
)
bps = st.integers(0, 10_000)


def test_the_field_example() -> None:
    # ¥100 at 20%: pool ¥20; a super member's 20% is ¥4, a mentor's 30% ¥6
    line = Line(paid_fen=10_000, quantity=1, commission_rate_bp=2000)
    assert line.pool_fen == 2000
    assert [
        e.amount_fen for e in compute([line], [Earner(1, 1, "super", 2000), Earner(2, 2, "mentor", 3000)])
    ] == [
        400,
        600,
    ]


@given(lines, st.lists(bps, min_size=1, max_size=3))
def test_each_amount_is_the_sum_of_per_line_floors(ls: list[Line], shares: list[int]) -> None:
    chain = [Earner(n, n, None, bp) for n, bp in enumerate(shares, start=1)]
    out = {e.member_id: e.amount_fen for e in compute(ls, chain)}
    for earner in chain:
        expected = sum(
            (line.pool_fen * earner.bp // 10_000)
            if line.fixed_commission_fen is not None
            else line.paid_fen * line.commission_rate_bp * earner.bp // 10**8
            for line in ls
        )
        assert out.get(earner.member_id, 0) == expected


@given(lines, st.lists(bps, min_size=1, max_size=3))
def test_the_platform_never_pays_more_than_the_pool(ls: list[Line], shares: list[int]) -> None:
    total_bp = sum(shares)
    chain = [Earner(n, n, None, bp) for n, bp in enumerate(shares, start=1)]
    paid = sum(e.amount_fen for e in compute(ls, chain))
    exact_pool_times_bp = sum(
        line.pool_fen * 10_000
        if line.fixed_commission_fen is not None
        else line.paid_fen * line.commission_rate_bp
        for line in ls
    )
    assert paid * 10**8 <= exact_pool_times_bp * total_bp
    assert all(line.pool_fen <= line.paid_fen for line in ls)


@given(
    st.integers(1, 3),
    st.lists(st.tuples(st.integers(2, 99), bps), max_size=4),
    st.booleans(),
    st.booleans(),
)
def test_levels_and_self_purchase(
    max_levels: int, ups: list[tuple[int, int]], own: bool, pays_self: bool
) -> None:
    chain = earners(
        seller=(1, "s", 2000),
        uplines=[(m, "u", bp) for m, bp in ups],
        max_levels=max_levels,
        self_purchase=own,
        self_purchase_commission=pays_self,
    )
    assert all(e.level <= max_levels for e in chain)
    assert [e.level for e in chain if e.level > 1] == list(range(2, min(max_levels, len(ups) + 1) + 1))
    assert (1 in {e.member_id for e in chain}) == (not own or pays_self)
    assert (
        earners(seller=None, uplines=[], max_levels=2, self_purchase=False, self_purchase_commission=True)
        == []
    )


def test_more_than_three_levels_is_refused() -> None:
    with pytest.raises(ValueError, match="max_levels"):
        earners(
            seller=(1, None, 0), uplines=[], max_levels=4, self_purchase=False, self_purchase_commission=True
        )


@given(st.integers(0, 10**7), st.integers(1, 10**9), st.lists(st.integers(1, 10**9), max_size=6))
def test_refunds_reverse_exactly_whatever_the_split(amount: int, paid: int, parts: list[int]) -> None:
    reversed_so_far, refunded = 0, 0
    for wanted in parts:
        part = min(wanted, paid - refunded)
        if part == 0:
            break
        refunded += part
        delta = reversal(amount, reversed_so_far, refunded, paid)
        assert delta >= 0
        reversed_so_far += delta
        assert (
            amount - reversed_so_far
            == amount - amount * refunded // paid
            == worth_after_refunds(amount, refunded, paid)
        )
    assert worth_after_refunds(amount, paid, paid) == 0
    assert worth_after_refunds(amount, 0, paid) == amount


platform_lines = st.lists(
    st.builds(
        lambda paid, pool: Line(paid, 1, 0, platform_pool_fen=pool),
        st.integers(0, 10**9),
        st.integers(0, 10**7),
    ),
    min_size=1,
    max_size=4,
)


@given(platform_lines, bps, st.data())
def test_line_refunds_take_back_each_line_share_whatever_the_steps(
    ls: list[Line], bp: int, data: st.DataObject
) -> None:
    """Refunds of each line in any steps take back ``floor(s_l × R_l / P_l)`` of each line's share in
    all, never more than the commission."""
    earned = compute(ls, [Earner(1, 1, None, bp)])
    amount = earned[0].amount_fen if earned else 0
    taken, expected = 0, 0
    for line in ls:
        share = line.share(bp)
        ends = sorted(data.draw(st.lists(st.integers(0, line.paid_fen), max_size=4)))
        before = 0
        for after in ends:
            step = line_reversal(share, line.paid_fen, before, after)
            assert step >= 0
            taken += step
            before = after
        expected += share - worth_after_refunds(share, before, line.paid_fen)
    assert taken == expected <= amount


def test_a_line_refund_beyond_the_line_or_shrinking_is_refused() -> None:
    with pytest.raises(ValueError, match="only grow"):
        line_reversal(100, 1000, 0, 1001)
    with pytest.raises(ValueError, match="only grow"):
        line_reversal(100, 1000, 500, 400)


def test_refunds_beyond_paid_are_refused() -> None:
    with pytest.raises(ValueError, match="refunds"):
        worth_after_refunds(100, 11, 10)


def test_tier_at_reads_the_dated_history() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    periods = [(t0, "super"), (t0 + timedelta(days=31), "mentor")]
    assert tier_at(periods, t0 - timedelta(days=1), None) == "super"  # before joining: the joining tier
    assert tier_at(periods, t0 + timedelta(days=30), None) == "super"
    assert tier_at(periods, t0 + timedelta(days=31), None) == "mentor"
    assert tier_at([], t0, "guide") == "guide"

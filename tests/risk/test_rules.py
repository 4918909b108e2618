"""The pure rules: thresholds decide exactly; severities, subjects and explanations are stable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.risk import rules
from neigou.risk.thresholds import DEFAULTS, merged

pytestmark = pytest.mark.no_database

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)


def _facts(member_id: int, n: int) -> list[rules.OrderFact]:
    return [
        rules.OrderFact(member_id * 1000 + i, member_id, 500, T0 + timedelta(minutes=i)) for i in range(n)
    ]


def test_defaults_are_the_documented_ones() -> None:
    assert (
        DEFAULTS.brushing_min_orders,
        DEFAULTS.brushing_max_paid_fen,
        DEFAULTS.brushing_window_minutes,
    ) == (
        10,
        500,
        60,
    )
    assert DEFAULTS.hoarding_min_refs == 5
    assert merged({"hoarding_min_refs": 7, "unknown": 1}).hoarding_min_refs == 7
    assert merged(None) == DEFAULTS


@given(st.integers(min_value=0, max_value=40))
def test_brushing_opens_from_the_minimum_on(n: int) -> None:
    found = rules.order_brushing(rules.Context(brushing_bursts=_facts(7, n)), DEFAULTS)
    if n < 10:
        assert found == []
        return
    [case] = found
    assert (case.rule, case.subject, case.member_id) == ("order_brushing", "member:7", 7)
    assert len(case.order_ids) == n
    assert case.severity == ("high" if n >= 20 else "medium")
    assert case.evidence["burst_paid_fen"] == 500 * n


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=12))
def test_hoarding_counts_references_not_claims(refs: int, extra_claims: int) -> None:
    cluster = rules.ClaimCluster(3, "visitor-abcdef12", refs, refs + extra_claims, (9,), T0, T0)
    found = rules.coupon_hoarding(rules.Context(claim_clusters=[cluster]), DEFAULTS)
    assert len(found) == (1 if refs >= 5 else 0)
    if found:
        assert found[0].subject == "coupon:3:visitor:visitor-abcdef12"
        assert found[0].evidence["visitor"] == "visitor-"  # only a prefix of the cookie is shown


def test_refund_abuse_compares_with_the_programs_rate() -> None:
    figures = [rules.RefundFigures(1, 10, 3), rules.RefundFigures(2, 10, 5)]
    # Program: 8 of 100 → 800 bp, bar max(2000, 2400) = 2400: both members are above it.
    ctx = rules.Context(refund_figures=figures, program_released=100, program_refunded_after=8)
    assert [c.member_id for c in rules.refund_abuse(ctx, DEFAULTS)] == [1, 2]
    # Program: 20 of 100 → 2000 bp, bar 6000: neither is.
    ctx = rules.Context(refund_figures=figures, program_released=100, program_refunded_after=20)
    assert rules.refund_abuse(ctx, DEFAULTS) == []
    assert rules.rate_bp(1, 3) == 3333
    assert rules.rate_bp(1, 0) == 0


def test_invite_ring_needs_two_sharing_recruits_or_a_full_idle_burst() -> None:
    shared = [rules.RingFact(1, 11, "shared_device")]
    assert rules.invite_ring(rules.Context(ring_facts=shared), DEFAULTS) == []
    shared.append(rules.RingFact(1, 12, "shared_device"))
    [ring] = rules.invite_ring(rules.Context(ring_facts=shared), DEFAULTS)
    assert (ring.severity, ring.evidence["shared_recruits"]) == ("high", [11, 12])
    idle = [rules.RingFact(2, 100 + i, "idle_burst") for i in range(10)]
    [burst] = rules.invite_ring(rules.Context(ring_facts=idle), DEFAULTS)
    assert (burst.member_id, burst.severity) == (2, "medium")
    assert rules.invite_ring(rules.Context(ring_facts=idle[:9]), DEFAULTS) == []


def test_shared_identity_is_high_only_when_the_seller_is_involved() -> None:
    upline = [rules.SharedOrder(5, 1, "phone", "upline")]
    assert rules.shared_identity(rules.Context(shared_orders=upline), DEFAULTS)[0].severity == "medium"
    both = [*upline, rules.SharedOrder(6, 1, "device", "seller")]
    [case] = rules.shared_identity(rules.Context(shared_orders=both), DEFAULTS)
    assert (case.severity, case.order_ids, case.evidence["shared"]) == (
        "high",
        (5, 6),
        ["device_seller", "phone_upline"],
    )


def test_every_rule_is_registered_and_runs_on_an_empty_context() -> None:
    assert set(rules.RULES) == {
        "order_brushing",
        "coupon_hoarding",
        "shared_identity",
        "invite_ring",
        "refund_abuse",
        "padded_group",
    }
    assert rules.run(rules.Context(), DEFAULTS) == []

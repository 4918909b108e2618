"""The rules' prepared context: a few set-based queries over one program and window.

Every query works on the whole program at once (window functions and joins, no per-row Python
loop) and may be narrowed to some members (``member_ids``, at order ingest) or one coupon
(``coupon_id``, at claim time). Times are compared in seconds on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    and_,
    case,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.orm import Session

from neigou.groups.models import CountReview, Group, GroupCount
from neigou.links.models import CouponClaim
from neigou.orders.models import CommissionState, Order, Refund, Settlement
from neigou.programs.models import Member, MemberTierPeriod
from neigou.risk import rules
from neigou.risk.identities import ring_facts, shared_orders
from neigou.risk.scope import Scope, members_in, seconds_between
from neigou.risk.thresholds import Thresholds


def brushing_bursts(session: Session, scope: Scope, t: Thresholds) -> list[rules.OrderFact]:
    """Small orders lying in a window of ``brushing_window_minutes`` that holds at least
    ``brushing_min_orders`` small orders of the same member.

    For each small order, the paid time of the (n−1)-th next one (``LEAD``) says whether a burst
    starts there; a running maximum of the bursts' ends then marks every order inside one.
    """
    n = t.brushing_min_orders
    small = (
        select(Order.id, Order.member_id, Order.paid_fen, Order.paid_at)
        .where(
            Order.program_id == scope.program_id,
            Order.member_id.is_not(None),
            Order.paid_fen <= t.brushing_max_paid_fen,
            Order.paid_at >= scope.since,
            Order.paid_at <= scope.as_of,
            members_in(scope, Order.member_id),
        )
        .subquery("small")
    )
    ahead = func.lead(small.c.paid_at, n - 1).over(
        partition_by=small.c.member_id, order_by=(small.c.paid_at, small.c.id)
    )
    starts = select(small, ahead.label("nth_at")).subquery("starts")
    window_s = t.brushing_window_minutes * 60 + 0.001
    burst_end = case(
        (
            and_(
                starts.c.nth_at.is_not(None),
                seconds_between(session, starts.c.paid_at, starts.c.nth_at) <= window_s,
            ),
            starts.c.nth_at,
        ),
        else_=None,
    )
    covered = func.max(burst_end).over(
        partition_by=starts.c.member_id,
        order_by=(starts.c.paid_at, starts.c.id),
        rows=(None, 0),
    )
    marked = select(starts, covered.label("covered_until")).subquery("marked")
    rows = session.execute(
        select(marked.c.id, marked.c.member_id, marked.c.paid_fen, marked.c.paid_at).where(
            marked.c.covered_until >= marked.c.paid_at
        )
    )
    return [rules.OrderFact(int(i), int(m), int(f), at) for i, m, f, at in rows]


def brushing_refunded(session: Session, scope: Scope, t: Thresholds) -> list[rules.OrderFact]:
    """Orders paid in the 31 days before a tier upgrade took effect and refunded in full after it."""
    upgrade = (
        select(MemberTierPeriod.member_id, MemberTierPeriod.effective_from)
        .join(Member, Member.id == MemberTierPeriod.member_id)
        .where(
            Member.program_id == scope.program_id,
            MemberTierPeriod.reason.like("evaluation %: upgrade"),
            MemberTierPeriod.effective_from >= scope.since - timedelta(days=31),
            MemberTierPeriod.effective_from <= scope.as_of,
            members_in(scope, Member.id),
        )
        .subquery("upgrade")
    )
    late_refund = exists(
        select(Refund.id).where(Refund.order_id == Order.id, Refund.at >= upgrade.c.effective_from)
    )
    rows = session.execute(
        select(Order.id, Order.member_id, Order.paid_fen, Order.paid_at)
        .join(upgrade, upgrade.c.member_id == Order.member_id)
        .where(
            Order.program_id == scope.program_id,
            Order.paid_at < upgrade.c.effective_from,
            seconds_between(session, Order.paid_at, upgrade.c.effective_from) <= 31 * 86400,
            Order.refunded_fen >= Order.paid_fen,
            Order.paid_fen > 0,
            late_refund,
        )
        .distinct()
    )
    return [rules.OrderFact(int(i), int(m or 0), int(f), at) for i, m, f, at in rows]


def claim_clusters(session: Session, scope: Scope, t: Thresholds) -> list[rules.ClaimCluster]:
    """Per (coupon, visitor), claims under ``hoarding_min_refs`` or more customer references, with
    the attributed orders those references paid after their first claim."""
    where = [
        CouponClaim.program_id == scope.program_id,
        CouponClaim.visitor_id.is_not(None),
        CouponClaim.claimed_at >= scope.since,
        CouponClaim.claimed_at <= scope.as_of,
    ]
    if scope.coupon_id is not None:
        where.append(CouponClaim.coupon_id == scope.coupon_id)
    clusters = (
        select(CouponClaim.coupon_id, CouponClaim.visitor_id)
        .where(*where)
        .group_by(CouponClaim.coupon_id, CouponClaim.visitor_id)
        .having(func.count(func.distinct(CouponClaim.customer_ref_hash)) >= t.hoarding_min_refs)
        .subquery("clusters")
    )
    claims = session.execute(
        select(
            CouponClaim.coupon_id,
            CouponClaim.visitor_id,
            CouponClaim.customer_ref_hash,
            CouponClaim.member_id,
            CouponClaim.claimed_at,
        )
        .join(
            clusters,
            and_(
                clusters.c.coupon_id == CouponClaim.coupon_id, clusters.c.visitor_id == CouponClaim.visitor_id
            ),
        )
        .where(*where)
    ).all()
    if not claims:
        return []
    grouped: dict[tuple[int, str], list[Any]] = {}
    for row in claims:
        grouped.setdefault((int(row[0]), str(row[1])), []).append(row)
    refs = sorted({str(r[2]) for r in claims})
    first = min(r[4] for r in claims)
    paid = session.execute(
        select(Order.id, Order.customer_ref_hash, Order.paid_at).where(
            Order.program_id == scope.program_id,
            Order.member_id.is_not(None),
            Order.customer_ref_hash.in_(refs),
            Order.paid_at >= first,
            Order.paid_at <= scope.as_of,
        )
    ).all()
    out = []
    for (coupon_id, visitor_id), rows in sorted(grouped.items()):
        mine = {str(r[2]): r[4] for r in sorted(rows, key=lambda r: r[4], reverse=True)}
        orders = tuple(int(i) for i, h, at in paid if h in mine and at >= mine[h])
        out.append(
            rules.ClaimCluster(
                coupon_id=coupon_id,
                visitor_id=visitor_id,
                refs=len(mine),
                claims=len(rows),
                member_ids=tuple(sorted({int(r[3]) for r in rows if r[3] is not None})),
                first_at=min(r[4] for r in rows),
                last_at=max(r[4] for r in rows),
                order_ids=orders,
            )
        )
    return out


def refund_figures(
    session: Session, scope: Scope, t: Thresholds
) -> tuple[list[rules.RefundFigures], int, int]:
    """Per member: orders released in the window and those refunded after their release; the
    program's totals; and each flagged candidate's orders not yet released (what a case holds)."""
    late = exists(select(Refund.id).where(Refund.order_id == Order.id, Refund.at >= Settlement.as_of))
    per_member = session.execute(
        select(
            Order.member_id,
            func.count(Order.id),
            func.sum(case((late, 1), else_=0)),
        )
        .join(Settlement, Settlement.id == Order.settlement_id)
        .where(
            Order.program_id == scope.program_id,
            Order.member_id.is_not(None),
            Order.commission_state == CommissionState.AVAILABLE,
            Order.paid_at >= scope.since,
            Order.paid_at <= scope.as_of,
            members_in(scope, Order.member_id),
        )
        .group_by(Order.member_id)
    ).all()
    released = sum(int(n) for _, n, _ in per_member)
    refunded = sum(int(r or 0) for _, _, r in per_member)
    candidates = [
        (int(m), int(n), int(r or 0))
        for m, n, r in per_member
        if int(n) >= t.refund_abuse_min_orders and int(r or 0) >= t.refund_abuse_min_refunds
    ]
    open_orders: dict[int, list[int]] = {}
    if candidates:
        for order_id, member_id in session.execute(
            select(Order.id, Order.member_id).where(
                Order.program_id == scope.program_id,
                Order.member_id.in_([m for m, _, _ in candidates]),
                Order.commission_state != CommissionState.AVAILABLE,
                Order.commission_fen > 0,
            )
        ):
            open_orders.setdefault(int(member_id or 0), []).append(int(order_id))
    figures = [rules.RefundFigures(m, n, r, tuple(open_orders.get(m, []))) for m, n, r in candidates]
    return figures, released, refunded


def implausible_counts(session: Session, scope: Scope) -> list[rules.ImplausibleCount]:
    """Group counts the plausibility check holds for review."""
    rows = session.execute(
        select(
            GroupCount.id,
            GroupCount.group_id,
            Group.owner_member_id,
            GroupCount.member_count,
            GroupCount.review_reason,
            GroupCount.observed_at,
        )
        .join(Group, Group.id == GroupCount.group_id)
        .where(
            GroupCount.program_id == scope.program_id,
            GroupCount.review == CountReview.NEEDS_REVIEW,
            members_in(scope, Group.owner_member_id),
        )
    )
    return [rules.ImplausibleCount(int(c), int(g), int(m), int(n), r, at) for c, g, m, n, r, at in rows]


def prepare(session: Session, scope: Scope, t: Thresholds, names: Sequence[str]) -> rules.Context:
    """The context the named rules need, and nothing more.

    On PostgreSQL, JIT compilation is switched off for the rest of the transaction: the device joins'
    row estimates are far above what they read, and compiling them cost seconds that the query
    itself does not (measured in ``bench/risk.py``).
    """
    wanted = set(names)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
    figures: tuple[list[rules.RefundFigures], int, int] = ([], 0, 0)
    if "refund_abuse" in wanted:
        figures = refund_figures(session, scope, t)
    return rules.Context(
        brushing_bursts=brushing_bursts(session, scope, t) if "order_brushing" in wanted else (),
        brushing_refunded=brushing_refunded(session, scope, t) if "order_brushing" in wanted else (),
        claim_clusters=claim_clusters(session, scope, t) if "coupon_hoarding" in wanted else (),
        shared_orders=shared_orders(session, scope, t) if "shared_identity" in wanted else (),
        ring_facts=ring_facts(session, scope, t) if "invite_ring" in wanted else (),
        refund_figures=figures[0],
        program_released=figures[1],
        program_refunded_after=figures[2],
        implausible_counts=implausible_counts(session, scope) if "padded_group" in wanted else (),
    )

"""The rules' facts about identities shared between members and buyers: orders whose buyer is the
seller, their inviter or someone on their devices (``shared_identity``), and invite rings of recruits
who share devices or were recruited in a burst and never sold (``invite_ring``). Set-based, like
``risk.context``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, exists, func, literal, select, union
from sqlalchemy.orm import Session, aliased

from neigou.links.models import CouponClaim, LinkClick, Visitor
from neigou.orders.models import Order
from neigou.programs.models import Member, Program
from neigou.risk import rules
from neigou.risk.scope import Scope, members_in, seconds_between
from neigou.risk.thresholds import Thresholds


def _identities(scope: Scope) -> Any:
    """(visitor, customer hash) pairs: identified visitors, identified clicks, and claims. A cookie's
    linkage counts only where the shopper identified to the program's own organization (migration 0052):
    another organization's, or one stored before organizations were recorded, is not this scan's to use."""
    organization = select(Program.organization_id).where(Program.id == scope.program_id).scalar_subquery()
    return union(
        select(Visitor.visitor_id.label("visitor_id"), Visitor.customer_ref_hash.label("ref")).where(
            Visitor.organization_id == organization
        ),
        select(LinkClick.visitor_id, LinkClick.customer_ref_hash).where(
            LinkClick.program_id == scope.program_id,
            LinkClick.visitor_id.is_not(None),
            LinkClick.customer_ref_hash.is_not(None),
        ),
        select(CouponClaim.visitor_id, CouponClaim.customer_ref_hash).where(
            CouponClaim.program_id == scope.program_id, CouponClaim.visitor_id.is_not(None)
        ),
    ).cte("identities")


def _member_devices(scope: Scope) -> Any:
    """(member, customer hash seen on one of the member's own devices) for members with a phone."""
    ident = _identities(scope)
    mine, other = ident.alias("mine"), ident.alias("other")
    return (
        select(Member.id.label("member_id"), other.c.ref.label("ref"))
        .join(mine, mine.c.ref == Member.customer_ref_hash)
        .join(other, and_(other.c.visitor_id == mine.c.visitor_id, other.c.ref != mine.c.ref))
        .where(Member.program_id == scope.program_id, Member.customer_ref_hash.is_not(None))
        .distinct()
        .cte("member_devices")
    )


def shared_orders(session: Session, scope: Scope, t: Thresholds) -> list[rules.SharedOrder]:
    """Attributed orders whose buyer is the upline by phone, or shares a device with the seller or
    the upline (a buyer who is the seller by phone is the program's self-purchase rule, not fraud)."""
    seller = aliased(Member, name="seller")
    devices = _member_devices(scope)
    base = [
        Order.program_id == scope.program_id,
        Order.member_id.is_not(None),
        Order.paid_at >= scope.since,
        Order.paid_at <= scope.as_of,
        members_in(scope, Order.member_id),
    ]
    by_phone = (
        select(Order.id, Order.member_id, literal("phone"), literal("upline"))
        .join(seller, seller.id == Order.member_id)
        .join(Member, Member.id == seller.inviter_id)
        .where(*base, Member.customer_ref_hash == Order.customer_ref_hash)
    )
    seller_device = (
        select(Order.id, Order.member_id, literal("device"), literal("seller"))
        .join(devices, and_(devices.c.member_id == Order.member_id, devices.c.ref == Order.customer_ref_hash))
        .where(*base)
    )
    upline_device = (
        select(Order.id, Order.member_id, literal("device"), literal("upline"))
        .join(seller, seller.id == Order.member_id)
        .join(
            devices, and_(devices.c.member_id == seller.inviter_id, devices.c.ref == Order.customer_ref_hash)
        )
        .where(*base)
    )
    rows = session.execute(union(by_phone, seller_device, upline_device))
    return [rules.SharedOrder(int(i), int(m or 0), str(via), str(whom)) for i, m, via, whom in rows]


def ring_facts(session: Session, scope: Scope, t: Thresholds) -> list[rules.RingFact]:
    """Recruits (joined in the window) sharing a device with another recruit of the same inviter (a
    phone is one member per program), and recruits who never bought inside a burst of
    ``ring_burst_joins`` joins."""
    recruit, other = aliased(Member, name="recruit"), aliased(Member, name="other_recruit")
    joined = [
        recruit.program_id == scope.program_id,
        recruit.inviter_id.is_not(None),
        recruit.joined_at >= scope.since,
        recruit.joined_at <= scope.as_of,
        members_in(scope, recruit.inviter_id),
    ]
    devices = _member_devices(scope)
    device = (
        select(recruit.inviter_id, recruit.id, literal("shared_device"))
        .join(devices, devices.c.member_id == recruit.id)
        .join(
            other,
            and_(
                other.inviter_id == recruit.inviter_id,
                other.id != recruit.id,
                other.customer_ref_hash == devices.c.ref,
            ),
        )
        .where(*joined)
    )
    # Two anti-joins, not one OR: each can use its own index (or hash) instead of a scan per recruit.
    sold = exists(select(Order.id).where(Order.member_id == recruit.id))
    bought = exists(
        select(Order.id).where(
            Order.program_id == scope.program_id, Order.customer_ref_hash == recruit.customer_ref_hash
        )
    )
    idle = (
        select(recruit.id, recruit.inviter_id, recruit.joined_at)
        .where(*joined, ~sold, ~bought)
        .subquery("idle")
    )
    ahead = func.lead(idle.c.joined_at, t.ring_burst_joins - 1).over(
        partition_by=idle.c.inviter_id, order_by=(idle.c.joined_at, idle.c.id)
    )
    starts = select(idle, ahead.label("nth_at")).subquery("idle_starts")
    burst_end = case(
        (
            and_(
                starts.c.nth_at.is_not(None),
                seconds_between(session, starts.c.joined_at, starts.c.nth_at)
                <= t.ring_burst_hours * 3600 + 0.001,
            ),
            starts.c.nth_at,
        ),
        else_=None,
    )
    covered = func.max(burst_end).over(
        partition_by=starts.c.inviter_id, order_by=(starts.c.joined_at, starts.c.id), rows=(None, 0)
    )
    marked = select(starts, covered.label("covered_until")).subquery("idle_marked")
    burst = select(marked.c.inviter_id, marked.c.id, literal("idle_burst")).where(
        marked.c.covered_until >= marked.c.joined_at
    )
    rows = session.execute(union(device, burst))
    return [rules.RingFact(int(i), int(r), str(why)) for i, r, why in rows]

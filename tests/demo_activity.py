"""Checks of the demo's activity, whatever hour it was built at: its clicks, claims and orders fall in
the shoppers' daytime hours of their program's zone, every claim through a link carries the visitor
whose click on that link it followed (as a claim from the landing page does), so a link's funnel can
follow a visitor from click to claim to order, and nothing is credited to a member before they joined."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.ledger.models import Entry
from neigou.links.models import CouponClaim, LinkClick, ShareLink, Touch
from neigou.orders.models import Commission, Order
from neigou.programs.models import Member, Program

DAYTIME = range(7, 23)  # 07:00 to 22:59, local
# An order falls in the shoppers' hours proper (a claim may follow the day's last click by a minute).
ORDER_HOURS = (time(8), time(22, 30))


def night_hours(session: Session) -> Counter[tuple[str, int]]:
    """The demo's clicks and claims outside ``DAYTIME`` and its orders outside ``ORDER_HOURS``, counted by
    kind and local hour."""
    zones = {p.id: ZoneInfo(p.timezone) for p in session.scalars(select(Program))}
    found: Counter[tuple[str, int]] = Counter()
    for kind, rows in (
        ("click", session.execute(select(LinkClick.program_id, LinkClick.clicked_at))),
        ("claim", session.execute(select(CouponClaim.program_id, CouponClaim.claimed_at))),
        ("order", session.execute(select(Order.program_id, Order.paid_at))),
    ):
        for program_id, at in rows:
            local = _local(at, zones[program_id]).time() if program_id in zones else time(12)
            if local.hour not in DAYTIME or (
                kind == "order" and not ORDER_HOURS[0] <= local <= ORDER_HOURS[1]
            ):
                found[(kind, local.hour)] += 1
    return found


def claims_without_their_click(session: Session) -> list[int]:
    """The claims through a link that carry no visitor, or one with no click on that link before it."""
    clicks: dict[tuple[int, str], datetime] = {}
    for link_id, visitor, at in session.execute(
        select(LinkClick.link_id, LinkClick.visitor_id, LinkClick.clicked_at)
    ):
        if visitor is not None:
            clicks[(link_id, visitor)] = min(clicks.get((link_id, visitor), at), at)
    missing: list[int] = []
    for claim_id, claim_link, claimer, claimed_at in session.execute(
        select(CouponClaim.id, CouponClaim.link_id, CouponClaim.visitor_id, CouponClaim.claimed_at)
    ):
        if claim_link is None:
            continue
        first = clicks.get((claim_link, claimer)) if claimer is not None else None
        if first is None or first > claimed_at:
            missing.append(claim_id)
    return missing


def before_joining(session: Session) -> Counter[str]:
    """The demo's facts dated before the member they are credited to joined, counted by kind: share
    links made, clicks, claims and touches on them, orders attributed, commissions earned on an order
    paid before then (the upline's too) and ledger entries on the member's accounts."""
    joined = _joined(session)
    dated = {
        "link": select(ShareLink.member_id, ShareLink.created_at),
        "click": select(LinkClick.member_id, LinkClick.clicked_at),
        "claim": select(CouponClaim.member_id, CouponClaim.claimed_at),
        "touch": select(Touch.member_id, Touch.touched_at),
        "order": select(Order.member_id, Order.paid_at),
        "commission": select(Commission.member_id, Order.paid_at).join(
            Order, Order.id == Commission.order_id
        ),
        "ledger entry": select(Entry.member_id, Entry.at),
    }
    found: Counter[str] = Counter()
    for kind, query in dated.items():
        for member_id, at in session.execute(query):
            if member_id is not None and member_id in joined and at < joined[member_id]:
                found[kind] += 1
    return found


def joined_before_their_inviter(session: Session) -> list[int]:
    """The members who joined before the member who brought them in."""
    joined = _joined(session)
    return [
        member_id
        for member_id, inviter_id, at in session.execute(
            select(Member.id, Member.inviter_id, Member.joined_at).where(Member.inviter_id.is_not(None))
        )
        if inviter_id in joined and at < joined[inviter_id]
    ]


def _joined(session: Session) -> dict[int, datetime]:
    return dict(session.execute(select(Member.id, Member.joined_at)).all())


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone)

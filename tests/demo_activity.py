"""Checks of the demo's activity, whatever hour it was built at: its clicks, claims and orders fall in
the shoppers' daytime hours of their program's zone, every claim through a link carries the visitor
whose click on that link it followed (as a claim from the landing page does), so a link's funnel can
follow a visitor from click to claim to order, nothing is credited to a member before they joined, and
nothing is dated before what it depends on existed (a group before its activity, a link or coupon
before what goes through it, a product before its sales, a customer before the pushes to them)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.campaigns.models import Campaign, CampaignItem
from neigou.crm.models import Customer, PushMessage
from neigou.events.models import Event, Reservation
from neigou.feed.models import GroupPost
from neigou.groups.models import Group, GroupAlert, GroupCount, LiveCode, LiveCodeGroup, TargetScheduleRow
from neigou.integrations.models import Integration
from neigou.ledger.models import Entry
from neigou.links.models import Binding, CouponClaim, LinkClick, ShareLink, Touch
from neigou.offers.models import CouponTemplate, Product, Promotion
from neigou.orders.models import Commission, Order, OrderLine
from neigou.platforms.models import PlatformOrder
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
        # the platforms' orders too, those never taken in (invalid, an unknown code) among them
        ("platform order", session.execute(select(PlatformOrder.program_id, PlatformOrder.paid_at))),
    ):
        for program_id, at in rows:
            local = _local(at, zones[program_id]).time() if program_id in zones else time(12)
            if local.hour not in DAYTIME or (
                kind in ("order", "platform order") and not ORDER_HOURS[0] <= local <= ORDER_HOURS[1]
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


def before_their_group(session: Session) -> Counter[str]:
    """The demo's chat groups dated before their owner joined, and the facts tagged with a group dated
    before the group was made, counted by kind: links made for it, claims, touches, bindings and orders
    through them, its member counts, its posts, the live codes over it and its alerts."""
    made = dict(session.execute(select(Group.id, Group.created_at)).all())
    joined = _joined(session)
    found: Counter[str] = Counter(
        "group before its owner"
        for owner_id, at in session.execute(select(Group.owner_member_id, Group.created_at))
        if owner_id in joined and at < joined[owner_id]
    )
    dated = {
        "link": select(ShareLink.group_id, ShareLink.created_at),
        "claim": select(CouponClaim.group_id, CouponClaim.claimed_at),
        "touch": select(Touch.group_id, Touch.touched_at),
        "binding": select(Binding.group_id, Binding.bound_at),
        "order": select(Order.group_id, Order.paid_at),
        "member count": select(GroupCount.group_id, GroupCount.observed_at),
        "post": select(GroupPost.group_id, GroupPost.created_at),
        "live code": select(LiveCodeGroup.group_id, LiveCode.created_at).join(
            LiveCode, LiveCode.id == LiveCodeGroup.live_code_id
        ),
        "alert": select(GroupAlert.group_id, GroupAlert.created_at),
    }
    for kind, query in dated.items():
        for group_id, at in session.execute(query):
            if group_id is not None and group_id in made and at < made[group_id]:
                found[kind] += 1
    return found


def before_their_link(session: Session) -> Counter[str]:
    """The demo's clicks, claims, touches, bindings, orders (a platform's too) and event reservations
    through a share link dated before the link was made, counted by kind."""
    made = dict(session.execute(select(ShareLink.id, ShareLink.created_at)).all())
    dated = {
        "click": select(LinkClick.link_id, LinkClick.clicked_at),
        "claim": select(CouponClaim.link_id, CouponClaim.claimed_at),
        "touch": select(Touch.link_id, Touch.touched_at),
        "binding": select(Binding.link_id, Binding.bound_at),
        "order": select(ShareLink.id, Order.paid_at).join(ShareLink, ShareLink.code == Order.link_code),
        "platform order": select(ShareLink.id, PlatformOrder.paid_at).join(
            ShareLink, ShareLink.code == PlatformOrder.link_code
        ),
        "reservation": select(Reservation.link_id, Reservation.reserved_at),
    }
    found: Counter[str] = Counter()
    for kind, query in dated.items():
        for link_id, at in session.execute(query):
            if link_id is not None and link_id in made and at < made[link_id]:
                found[kind] += 1
    return found


def before_their_coupon(session: Session) -> Counter[str]:
    """The demo's coupon claims dated before their coupon was made or opened, and its links and
    campaigns with a coupon made before the coupon was, counted by kind."""
    coupons = {
        coupon_id: (created_at, starts_at)
        for coupon_id, created_at, starts_at in session.execute(
            select(CouponTemplate.id, CouponTemplate.created_at, CouponTemplate.starts_at)
        )
    }
    found: Counter[str] = Counter()
    for coupon_id, at in session.execute(select(CouponClaim.coupon_id, CouponClaim.claimed_at)):
        created_at, starts_at = coupons[coupon_id]
        if at < created_at:
            found["claim before the coupon was made"] += 1
        if at < starts_at:
            found["claim before the coupon opened"] += 1
    for kind, query in (
        ("link", select(ShareLink.coupon_id, ShareLink.created_at)),
        ("campaign", select(Campaign.coupon_id, Campaign.created_at)),
    ):
        for made_with, at in session.execute(query):
            if made_with is not None and at < coupons[made_with][0]:
                found[kind] += 1
    return found


def before_what_they_depend_on(session: Session) -> Counter[str]:
    """The demo's other facts dated before what they depend on existed, counted by kind: links to a
    product and order lines of one before the product was added, pushes to a customer before the
    customer entered the salesperson's book, a platform's orders before their integration was registered, event reservations before their event was made, campaigns
    and promotions before their products and campaigns and group target schedules before their program."""
    found: Counter[str] = Counter()
    added = dict(session.execute(select(Product.sku, Product.created_at)).all())
    for kind, query in (
        ("link to a product", select(ShareLink.sku, ShareLink.created_at)),
        (
            "order of a product",
            select(OrderLine.sku, Order.paid_at).join(Order, Order.id == OrderLine.order_id),
        ),
    ):
        for sku, at in session.execute(query):
            if sku in added and at < added[sku]:
                found[kind] += 1
    known = dict(session.execute(select(Customer.id, Customer.created_at)).all())
    for customer_id, at in session.execute(select(PushMessage.customer_id, PushMessage.send_at)):
        if customer_id in known and at < known[customer_id]:
            found["push to a customer"] += 1
    registered = dict(session.execute(select(Integration.id, Integration.created_at)).all())
    for integration_id, at in session.execute(select(PlatformOrder.integration_id, PlatformOrder.paid_at)):
        if integration_id in registered and at < registered[integration_id]:
            found["platform order of an integration"] += 1
    opened = dict(session.execute(select(Event.id, Event.created_at)).all())
    for event_id, at in session.execute(select(Reservation.event_id, Reservation.reserved_at)):
        if event_id in opened and at < opened[event_id]:
            found["event reservation"] += 1
    found.update(_offers_before_their_base(session, added))
    return found


def _offers_before_their_base(session: Session, added: dict[str, datetime]) -> Counter[str]:
    """Campaigns and promotions made before a product of theirs was added, and campaigns and group
    target schedules made before their program."""
    found: Counter[str] = Counter()
    for sku, at in session.execute(select(CampaignItem.sku, Campaign.created_at).join(Campaign)):
        if sku in added and at < added[sku]:
            found["campaign of a product"] += 1
    for skus, at in session.execute(select(Promotion.skus, Promotion.created_at)):
        for sku in skus or []:
            if sku in added and at < added[sku]:
                found["promotion of a product"] += 1
    programs = dict(session.execute(select(Program.id, Program.created_at)).all())
    for kind, query in (
        ("campaign of a program", select(Campaign.program_id, Campaign.created_at)),
        ("target schedule of a program", select(TargetScheduleRow.program_id, TargetScheduleRow.created_at)),
    ):
        for program_id, at in session.execute(query):
            if at < programs[program_id]:
                found[kind] += 1
    return found


def after_their_window_began(session: Session) -> Counter[str]:
    """The demo's campaigns, promotions, coupons and group target schedules made after their window began
    (a schedule's at the first moment of its start date in its program's zone), counted by kind."""
    zones = {p.id: ZoneInfo(p.timezone) for p in session.scalars(select(Program))}
    found: Counter[str] = Counter()
    for kind, query in (
        ("campaign", select(Campaign.starts_at, Campaign.created_at)),
        ("promotion", select(Promotion.starts_at, Promotion.created_at)),
        ("coupon", select(CouponTemplate.starts_at, CouponTemplate.created_at)),
    ):
        for starts_at, at in session.execute(query):
            if at > starts_at:
                found[kind] += 1
    for program_id, starts_on, at in session.execute(
        select(TargetScheduleRow.program_id, TargetScheduleRow.starts_on, TargetScheduleRow.created_at)
    ):
        if at > _day_start(starts_on, zones[program_id]):
            found["target schedule"] += 1
    return found


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def out_of_order(session: Session) -> dict[str, object]:
    """Every check above that found something, by name, with what it found (empty: the demo's activity
    falls in the shoppers' hours and after everything it depends on)."""
    checks = (
        night_hours,
        claims_without_their_click,
        before_joining,
        joined_before_their_inviter,
        before_their_group,
        before_their_link,
        before_their_coupon,
        before_what_they_depend_on,
        after_their_window_began,
    )
    found = {check.__name__: check(session) for check in checks}
    return {name: result for name, result in found.items() if result}

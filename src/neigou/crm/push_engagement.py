"""How pushes and customers respond: per push and per message sent, clicks, claims, orders and GMV
(an order through a push's link counts for it); customers gone quiet; groups that muted us.

A push's link is personal (one per customer and product), so a message's figures are one shopper's
behaviour: once an opt-out erased the customer, their message counts only what came through it before
``erased_at``, and so do the program's totals (``program_figures``). The link itself stays active (a
shopper following it still lands on the product).

* dormant customer: as ``crm.dormancy`` defines it, the one definition the customer book shares.
* muted group: an active group whose clicks per member over ``days`` days (at most
  ``MUTED_MAX_DAYS``) are below ``MUTED_SHARE_BP`` of the program's median over its counted groups.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Integer, SQLColumnExpression, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from neigou.crm import dormancy
from neigou.crm.models import Customer, MessageStatus, PushMessage
from neigou.groups import repository as groups_repo
from neigou.groups.models import Group, GroupStatus
from neigou.kit.bulk import chunks
from neigou.kit.paging import Page, Paged, count_rows, paginate
from neigou.links import repository as links_repo
from neigou.links.models import CouponClaim, LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.models import Order

MUTED_SHARE_BP = 2500  # a quarter of the median
MUTED_MAX_DAYS = 90  # the longest window of clicks a muted-groups read aggregates


@dataclass(frozen=True)
class Figures:
    """What a push (or one message) brought."""

    messages: int = 0
    sent: int = 0
    clicks: int = 0
    claims: int = 0
    orders: int = 0
    gmv_fen: int = 0


def _orders_by_link(session: Session, link_ids: Collection[int]) -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    for part in chunks(sorted(set(link_ids))):
        stmt = (
            select(ShareLink.id, func.count(Order.id), func.coalesce(func.sum(Order.paid_fen), 0))
            .join(Order, Order.link_code == ShareLink.code)
            .where(ShareLink.id.in_(part))
            .group_by(ShareLink.id)
        )
        found.update((int(lid), (int(n), int(fen))) for lid, n, fen in session.execute(stmt))
    return found


def _erased_links(session: Session, messages: Collection[PushMessage]) -> set[int]:
    """The links of these messages whose customer an opt-out erased."""
    ids = sorted({m.customer_id for m in messages if m.link_id is not None})
    erased: set[int] = set()
    for part in chunks(ids):
        erased.update(
            int(c)
            for c in session.scalars(
                select(Customer.id).where(Customer.id.in_(part), Customer.erased_at.is_not(None))
            )
        )
    return {m.link_id for m in messages if m.link_id is not None and m.customer_id in erased}


def _until_erased(session: Session, link_ids: Collection[int]) -> dict[int, tuple[int, int, int, int]]:
    """Clicks (people), claims, orders and GMV through these personal links of erased customers, only
    what came before the erasure (``Customer.erased_at``): what the shopper does afterwards is no
    longer reported on them. Orders count by when they were recorded."""
    found: dict[int, list[int]] = {int(i): [0, 0, 0, 0] for i in link_ids}
    pushed = PushMessage.link_id == ShareLink.id
    erased = Customer.id == PushMessage.customer_id
    for part in chunks(sorted(found)):
        base = (
            select(ShareLink.id)
            .join(PushMessage, pushed)
            .join(Customer, erased)
            .where(ShareLink.id.in_(part))
        )
        clicks = (
            base.add_columns(func.count(LinkClick.id))
            .join(LinkClick, LinkClick.link_id == ShareLink.id)
            .where(LinkClick.ua_class != UaClass.BOT, LinkClick.clicked_at < Customer.erased_at)
        )
        claims = (
            base.add_columns(func.count(CouponClaim.id))
            .join(CouponClaim, CouponClaim.link_id == ShareLink.id)
            .where(CouponClaim.claimed_at < Customer.erased_at)
        )
        orders = (
            base.add_columns(func.count(Order.id), func.coalesce(func.sum(Order.paid_fen), 0))
            .join(Order, Order.link_code == ShareLink.code)
            .where(Order.created_at < Customer.erased_at)
        )
        for column, stmt in ((0, clicks), (1, claims), (2, orders)):
            for row in session.execute(stmt.group_by(ShareLink.id)):
                found[int(row[0])][column : column + len(row) - 1] = [int(v) for v in row[1:]]
    return {link_id: (c, k, n, fen) for link_id, (c, k, n, fen) in found.items()}


def message_figures(session: Session, messages: Collection[PushMessage]) -> dict[int, Figures]:
    """Each message's figures: a few grouped queries for all of them. A message to a customer erased
    since counts only what came through its personal link before the erasure."""
    erased = _erased_links(session, messages)
    link_ids = [m.link_id for m in messages if m.link_id is not None and m.link_id not in erased]
    stats = links_repo.link_stats(session, link_ids)
    orders = _orders_by_link(session, link_ids)
    before = _until_erased(session, erased) if erased else {}
    result: dict[int, Figures] = {}
    for m in messages:
        s = stats.get(m.link_id or 0)
        clicks, claims = (s.clicks, s.claims) if s else (0, 0)
        n, fen = orders.get(m.link_id or 0, (0, 0))
        if m.link_id in before:
            clicks, claims, n, fen = before[m.link_id]
        result[m.id] = Figures(
            messages=1,
            sent=int(m.status is MessageStatus.SENT),
            clicks=clicks,
            claims=claims,
            orders=n,
            gmv_fen=fen,
        )
    return result


def total(figures: Collection[Figures]) -> Figures:
    """The sum of several figures."""
    return Figures(
        messages=sum(f.messages for f in figures),
        sent=sum(f.sent for f in figures),
        clicks=sum(f.clicks for f in figures),
        claims=sum(f.claims for f in figures),
        orders=sum(f.orders for f in figures),
        gmv_fen=sum(f.gmv_fen for f in figures),
    )


def _after_erasure(
    link_id: SQLColumnExpression[int], at: SQLColumnExpression[datetime]
) -> ColumnElement[bool]:
    """Whether what came through the personal link ``link_id`` at ``at`` came once an opt-out had erased
    the link's customer (at or after ``Customer.erased_at``): the per-message rule (``_until_erased``)
    reports it no more, and so neither do the program's totals."""
    return exists().where(
        PushMessage.link_id == link_id,
        Customer.id == PushMessage.customer_id,
        Customer.erased_at.is_not(None),
        Customer.erased_at <= at,
    )


def program_figures(session: Session, program_id: int) -> Figures:
    """The program's pushes altogether, in four aggregate queries: what came through the personal link
    of a customer an opt-out erased counts only up to ``erased_at``, as each message's figures do."""
    messages, sent = session.execute(
        select(
            func.count(PushMessage.id),
            func.coalesce(func.sum((PushMessage.status == MessageStatus.SENT).cast(Integer)), 0),
        ).where(PushMessage.program_id == program_id)
    ).one()
    pushed = and_(ShareLink.program_id == program_id, ShareLink.push_id.is_not(None))
    clicks = session.scalar(
        select(func.count(LinkClick.id))
        .select_from(ShareLink)
        .join(LinkClick, LinkClick.link_id == ShareLink.id)
        .where(
            pushed,
            LinkClick.ua_class != UaClass.BOT,
            ~_after_erasure(ShareLink.id, LinkClick.clicked_at),
        )
    )
    claims = session.scalar(
        select(func.count())
        .select_from(ShareLink)
        .join(CouponClaim, CouponClaim.link_id == ShareLink.id)
        .where(pushed, ~_after_erasure(ShareLink.id, CouponClaim.claimed_at))
    )
    orders, gmv = session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.paid_fen), 0))
        .join(ShareLink, ShareLink.code == Order.link_code)
        .where(pushed, ~_after_erasure(ShareLink.id, Order.created_at))
    ).one()
    return Figures(int(messages), int(sent), int(clicks or 0), int(claims or 0), int(orders), int(gmv))


def page_dormant(
    session: Session, page: Page, *, program_id: int, days: int, at: datetime, member_id: int | None = None
) -> Paged[Customer]:
    """The program's (or a member's) dormant customers (``crm.dormancy``)."""
    stmt = (
        select(Customer)
        .where(
            Customer.program_id == program_id,
            Customer.erased_at.is_(None),
            dormancy.dormant(program_id=program_id, days=days, at=at),
        )
        .order_by(Customer.id)
    )
    if member_id is not None:
        stmt = stmt.where(Customer.member_id == member_id)
    return paginate(session, stmt, page)


@dataclass(frozen=True)
class GroupEngagement:
    """A group's clicks per member against the program's median (per 100 members, integers)."""

    group_id: int
    owner_member_id: int
    name: str
    member_count: int
    clicks: int
    clicks_per_100: int
    median_per_100: int


def page_muted_groups(
    session: Session, page: Page, *, program_id: int, days: int, at: datetime
) -> Paged[GroupEngagement]:
    """A page of the program's groups whose clicks per member fell far below the median, quietest
    first, and how many there are: rates, median, ranking and paging are all the database's (one
    statement finds the median, one the page with the total), never a list of every group."""
    latest = groups_repo.latest_counts_subquery(before=at, program_id=program_id)
    since = at - timedelta(days=days)
    clicked = (
        select(ShareLink.group_id.label("group_id"), func.count(LinkClick.id).label("clicks"))
        .join(LinkClick, LinkClick.link_id == ShareLink.id)
        .where(
            ShareLink.program_id == program_id,
            ShareLink.group_id.is_not(None),
            and_(LinkClick.clicked_at >= since, LinkClick.clicked_at < at),
            LinkClick.ua_class != UaClass.BOT,
        )
        .group_by(ShareLink.group_id)
        .subquery()
    )
    clicks = func.coalesce(clicked.c.clicks, 0)
    rates = (
        select(
            Group.id.label("group_id"),
            Group.owner_member_id.label("owner_member_id"),
            Group.name.label("name"),
            latest.c.member_count.label("member_count"),
            clicks.label("clicks"),
            (clicks * 100 // latest.c.member_count).label("rate"),
        )
        .join(latest, latest.c.group_id == Group.id)
        .outerjoin(clicked, clicked.c.group_id == Group.id)
        .where(Group.program_id == program_id, Group.status == GroupStatus.ACTIVE, latest.c.member_count > 0)
        .subquery()
    )
    # The median in one statement: the one or two middle rates by place (row_number is 1-based).
    placed = select(
        rates.c.rate,
        func.row_number().over(order_by=rates.c.rate).label("place"),
        func.count().over().label("n"),
    ).subquery()
    middles = session.execute(
        select(placed.c.rate).where(
            or_(placed.c.place == (placed.c.n + 1) // 2, placed.c.place == placed.c.n // 2 + 1)
        )
    ).scalars()
    found = [int(rate) for rate in middles]
    if not found:
        return Paged([], 0)
    middle = sum(found) // len(found)  # the median, rounded down
    quiet = rates.c.rate * 10_000 < middle * MUTED_SHARE_BP
    muted = select(rates).where(quiet)
    rows = list(
        session.execute(
            select(rates, func.count().over().label("total"))
            .where(quiet)
            .order_by(rates.c.rate, rates.c.group_id)
            .limit(page.limit)
            .offset(page.offset)
        ).mappings()
    )
    total = int(rows[0]["total"]) if rows else 0
    if not rows and page.offset:  # past the last page: counted on its own
        total = count_rows(session, muted)
    return Paged(
        [
            GroupEngagement(
                int(r["group_id"]),
                int(r["owner_member_id"]),
                str(r["name"]),
                int(r["member_count"]),
                int(r["clicks"]),
                int(r["rate"]),
                middle,
            )
            for r in rows
        ],
        total,
    )

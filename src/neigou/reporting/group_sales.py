"""Group sales: what the share links made for a group brought it over a range of days.

Per group, over ``[from, to]`` in the program's time zone (a click at 23:59:59+08:00 counts for
that day in Asia/Shanghai, one at 00:00:00+08:00 for the next): clicks by people (bots left out),
coupon claims, orders that are not fully refunded (``Order.fully_refunded``: an order paid 0 never
is), GMV (paid − refunded fen), the commission the
group's sales pay (net of reversals) and the part of it the group's owner earns, and the member
count at the start and end of the range. Orders, refunds and reversals are counted by the order's
paid day, with every refund known now. Seven statements whatever the number of groups.

The group leaderboard reads the same figures with ``ranked=True``: as tier evaluation, orders a
confirmed risk case names count for nothing (``risk.holds.not_confirmed``), and the groups of an owner
a confirmed case suspended are left off.

A read across domains, so it lives in ``reporting``, above ``orders``, ``links`` and ``groups``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, case, func, select
from sqlalchemy.orm import Session

from neigou.groups import repository as groups_repo
from neigou.groups.models import Group
from neigou.kit.dates import check_day
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.links.models import CouponClaim, LinkClick, ShareLink
from neigou.links.useragent import UaClass
from neigou.orders.models import Commission, Order
from neigou.programs.models import Member, Program
from neigou.risk import holds

DEFAULT_DAYS = 30
_S = TypeVar("_S", bound="Select[*tuple[Any, ...]]")
MAX_DAYS = 366


@dataclass(frozen=True)
class Window:
    """A range of whole days in a time zone, and the UTC instants that bound it."""

    start_on: date
    end_on: date
    timezone: str

    @property
    def start(self) -> datetime:
        """The first instant of ``start_on``, in UTC."""
        return datetime.combine(self.start_on, time.min, tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after ``end_on``, in UTC."""
        following = self.end_on + timedelta(days=1)
        return datetime.combine(following, time.min, tzinfo=ZoneInfo(self.timezone)).astimezone(UTC)


def window(program: Program, *, start_on: date | None, end_on: date | None, at: datetime) -> Window:
    """The days asked for (default: the 30 days ending today in the program's zone), checked."""
    check_day(start_on, "from")
    check_day(end_on, "to")
    end = end_on or at.astimezone(ZoneInfo(program.timezone)).date()
    start = start_on or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise Invalid(Message("'from' is after 'to'."), code="bad_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise Invalid(Message("At most {max_days} days at a time.", max_days=MAX_DAYS), code="range_too_long")
    return Window(start_on=start, end_on=end, timezone=program.timezone)


@dataclass(frozen=True)
class GroupSales:
    """One group's sales over a window."""

    group_id: int
    name: str
    platform: str
    status: str
    owner_member_id: int
    owner_name: str
    clicks: int = 0
    claims: int = 0
    orders: int = 0
    fully_refunded_orders: int = 0
    paid_fen: int = 0
    refunded_fen: int = 0
    commission_fen: int = 0
    owner_commission_fen: int = 0
    members_start: int | None = None
    members_end: int | None = None

    @property
    def gmv_fen(self) -> int:
        """Paid minus refunded."""
        return self.paid_fen - self.refunded_fen

    @property
    def members_growth(self) -> int | None:
        """Members gained over the window (None without a count to compare)."""
        if self.members_start is None or self.members_end is None:
            return None
        return self.members_end - self.members_start


class Ranking(enum.StrEnum):
    """What a group leaderboard ranks by."""

    GMV = "gmv"
    ORDERS = "orders"
    GROWTH = "growth"


def value_of(row: GroupSales, by: Ranking) -> int | None:
    """The figure a leaderboard ranks by."""
    if by is Ranking.GMV:
        return row.gmv_fen
    if by is Ranking.ORDERS:
        return row.orders
    return row.members_growth


def leaderboard(
    rows: Sequence[GroupSales], *, by: Ranking, limit: int, offset: int = 0
) -> list[tuple[int, GroupSales]]:
    """Groups best first, with their rank, ``limit`` places after the first ``offset``; ties go to the
    older group (smaller id), unknowns last."""

    def key(row: GroupSales) -> tuple[bool, int, int]:
        value = value_of(row, by)
        return (value is None, -(value or 0), row.group_id)

    ranked = sorted(rows, key=key)[offset : offset + limit]
    return [(n, row) for n, row in enumerate(ranked, start=offset + 1)]


def _scoped(query: _S, group_id: Any, program_id: int, owner: int | None) -> _S:
    """Only the program's groups (or one owner's): joined on the group the row is tagged with."""
    query = query.join(Group, Group.id == group_id).where(Group.program_id == program_id)
    return query.where(Group.owner_member_id == owner) if owner is not None else query


def group_sales(
    session: Session,
    *,
    program: Program,
    span: Window,
    owner_member_id: int | None = None,
    ranked: bool = False,
) -> list[GroupSales]:
    """Sales of every group of a program (or of one owner), by owner then group; ``ranked`` reads them
    as the leaderboard ranks them (orders of confirmed risk cases and suspended owners left out)."""
    base = select(Group, Member.name).join(Member, Member.id == Group.owner_member_id)
    base = base.where(Group.program_id == program.id).order_by(Group.owner_member_id, Group.id)
    if ranked:
        base = base.where(holds.not_suspended(Group.owner_member_id))
    if owner_member_id is not None:
        base = base.where(Group.owner_member_id == owner_member_id)
    groups = [(g, str(name)) for g, name in session.execute(base)]
    if not groups:
        return []
    start, end = span.start, span.end

    clicks_q = (
        select(Group.id, func.count(LinkClick.id))
        .select_from(LinkClick)
        .join(ShareLink, ShareLink.id == LinkClick.link_id)
    )
    clicks_q = _scoped(clicks_q, ShareLink.group_id, program.id, owner_member_id).where(
        LinkClick.clicked_at >= start, LinkClick.clicked_at < end, LinkClick.ua_class != UaClass.BOT
    )
    clicks = {int(g): int(n) for g, n in session.execute(clicks_q.group_by(Group.id))}

    claims_q = select(Group.id, func.count(CouponClaim.id)).select_from(CouponClaim)
    claims_q = _scoped(claims_q, CouponClaim.group_id, program.id, owner_member_id).where(
        CouponClaim.claimed_at >= start, CouponClaim.claimed_at < end
    )
    claims = {int(g): int(n) for g, n in session.execute(claims_q.group_by(Group.id))}

    fully = case((Order.fully_refunded, 1), else_=0)
    orders_q = select(
        Group.id,
        func.count(Order.id),
        func.sum(fully, type_=Integer),
        func.sum(Order.paid_fen),
        func.sum(Order.refunded_fen),
    ).select_from(Order)
    orders_q = _scoped(orders_q, Order.group_id, program.id, owner_member_id).where(
        Order.program_id == program.id, Order.paid_at >= start, Order.paid_at < end
    )
    if ranked:
        orders_q = orders_q.where(holds.not_confirmed(Order.id))
    orders = {
        int(g): (int(n), int(full or 0), int(paid or 0), int(refunded or 0))
        for g, n, full, paid, refunded in session.execute(orders_q.group_by(Group.id))
    }

    net = Commission.amount_fen - Commission.reversed_fen
    owned = case((Commission.member_id == Group.owner_member_id, net), else_=0)
    commission_q = (
        select(Group.id, func.sum(net), func.sum(owned))
        .select_from(Commission)
        .join(Order, Order.id == Commission.order_id)
    )
    commission_q = _scoped(commission_q, Order.group_id, program.id, owner_member_id).where(
        Order.program_id == program.id, Order.paid_at >= start, Order.paid_at < end
    )
    if ranked:
        commission_q = commission_q.where(holds.not_confirmed(Order.id))
    commissions = {
        int(g): (int(total or 0), int(own or 0))
        for g, total, own in session.execute(commission_q.group_by(Group.id))
    }

    # One owner's sales read its groups' counts only, not every group's of the program.
    owner_groups = None if owner_member_id is None else [group.id for group, _ in groups]
    at_start = groups_repo.latest_counts(session, before=start, program_id=program.id, group_ids=owner_groups)
    at_end = groups_repo.latest_counts(session, before=end, program_id=program.id, group_ids=owner_groups)
    first = groups_repo.first_counts(
        session, program_id=program.id, start=start, before=end, group_ids=owner_groups
    )

    out: list[GroupSales] = []
    for group, owner_name in groups:
        n, full, paid, refunded = orders.get(group.id, (0, 0, 0, 0))
        total, own = commissions.get(group.id, (0, 0))
        before = at_start.get(group.id)
        out.append(
            GroupSales(
                group_id=group.id,
                name=group.name,
                platform=group.platform.value,
                status=group.status.value,
                owner_member_id=group.owner_member_id,
                owner_name=owner_name,
                clicks=clicks.get(group.id, 0),
                claims=claims.get(group.id, 0),
                orders=n - full,
                fully_refunded_orders=full,
                paid_fen=paid,
                refunded_fen=refunded,
                commission_fen=total,
                owner_commission_fen=own,
                # A group first counted inside the window grows from its first count.
                members_start=before[0] if before is not None else first.get(group.id),
                members_end=at_end[group.id][0] if group.id in at_end else None,
            )
        )
    return out


def owners_view(rows: Sequence[GroupSales]) -> list[GroupSales]:
    """The rows as their owner may read them: of the commission the groups' orders pay, only the
    owner's own part (a mentor's override, or a former owner's links' commission, is another
    member's earnings)."""
    return [replace(row, commission_fen=row.owner_commission_fen) for row in rows]

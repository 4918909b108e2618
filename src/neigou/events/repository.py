"""Queries of events: lists, the live board and the after-event report (each one set-based statement)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ScalarSelect, Select, func, select
from sqlalchemy.orm import Session, aliased

from neigou.events.leaderboard import net_fen, ranked, ranking
from neigou.events.models import Event, EventEmployee, EventItem, Invitation, Reservation, ReservationStatus
from neigou.kit.paging import Page, Paged, Sortable, count_rows, paginate
from neigou.offers import repository as offers
from neigou.orders.models import Order, OrderLine, Refund
from neigou.programs import repository as programs

TOP = 10


def page_events(session: Session, page: Page, *, program_id: int | None = None) -> Paged[Event]:
    """Events, latest start first."""
    query: Select[Event] = select(Event).order_by(Event.starts_at.desc(), Event.id.desc())
    if program_id is not None:
        query = query.where(Event.program_id == program_id)
    return paginate(session, query, page)


SORTS: dict[str, Sortable] = {
    "name": Event.name,
    "starts_at": Event.starts_at,
    "ends_at": Event.ends_at,
    "code": Event.code,
}
SEARCH: tuple[Sortable, ...] = (Event.name, Event.code)


STATES = ("upcoming", "live", "ended")


def events_statement(
    *, program_id: int | None = None, state: str | None = None, at: datetime | None = None
) -> Select[tuple[Event]]:
    """Every event the caller may see (of a program; ``upcoming``, ``live`` or ``ended`` at ``at``):
    the console list sorts, searches and pages it."""
    stmt: Select[tuple[Event]] = select(Event)
    if program_id is not None:
        stmt = stmt.where(Event.program_id == program_id)
    if at is not None and state == "upcoming":
        stmt = stmt.where(Event.starts_at > at)
    elif at is not None and state == "live":
        stmt = stmt.where(Event.starts_at <= at, Event.ends_at > at)
    elif at is not None and state == "ended":
        stmt = stmt.where(Event.ends_at <= at)
    return stmt


def event_by_code(session: Session, code: str) -> Event | None:
    """The event of a public live-page code."""
    return session.scalar(select(Event).where(Event.code == code))


def page_items(session: Session, page: Page, event_id: int) -> Paged[EventItem]:
    """A page of an event's price list by sku."""
    query: Select[EventItem] = select(EventItem).where(EventItem.event_id == event_id).order_by(EventItem.sku)
    return paginate(session, query, page)


def items_of(session: Session, event_id: int) -> list[EventItem]:
    """An event's price list by sku."""
    return list(
        session.scalars(select(EventItem).where(EventItem.event_id == event_id).order_by(EventItem.sku))
    )


def employee_count(session: Session, event_id: int) -> int:
    """How many employees are on an event's whitelist."""
    count = session.scalar(select(func.count(EventEmployee.id)).where(EventEmployee.event_id == event_id))
    return int(count or 0)


def employee_member_names(session: Session, event_id: int) -> dict[int, str]:
    """The whitelist's names of its employees who are members, by member id (who the board ranks)."""
    rows = session.execute(
        select(EventEmployee.member_id, EventEmployee.name).where(
            EventEmployee.event_id == event_id, EventEmployee.member_id.is_not(None)
        )
    )
    return {int(member_id): name for member_id, name in rows if member_id is not None}


@dataclass(frozen=True)
class Board:
    """The live figures of an event."""

    orders: int
    gmv_fen: int
    reservations: int
    top_members: list[tuple[int, int]]
    top_skus: list[tuple[str, int, int]]


def board(session: Session, event_id: int) -> Board:
    """Orders and GMV (paid less refunded) of the event's orders, live reservations, top salespeople
    and skus (a line's GMV is what it paid less its share of the order's refunds, as in ``report``).
    The totals are the event's sales; the two rankings leave out what ``ranked`` does (orders of
    confirmed risk cases, suspended salespeople)."""
    orders, gmv = session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(net_fen()), 0)).where(Order.event_id == event_id)
    ).one()
    reservations = session.scalar(
        select(func.count(Reservation.id)).where(
            Reservation.event_id == event_id, Reservation.status != ReservationStatus.EXPIRED
        )
    )
    members = [(int(m or 0), int(g)) for m, g in session.execute(ranking(event_id).limit(TOP))]
    units = func.sum(OrderLine.quantity)
    refunded = OrderLine.paid_fen * Order.refunded_fen / func.nullif(Order.paid_fen, 0)
    paid = func.sum(OrderLine.paid_fen - func.coalesce(refunded, 0))
    skus = [
        (str(s), int(q), int(p))
        for s, q, p in session.execute(
            select(OrderLine.sku, units, paid)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.event_id == event_id, ranked())
            .group_by(OrderLine.sku)
            .order_by(paid.desc(), OrderLine.sku)
            .limit(TOP)
        )
    ]
    return Board(int(orders), int(gmv), int(reservations or 0), members, skus)


@dataclass(frozen=True)
class BoardLabels:
    """What the board's keys are shown as: sellers' names by member id, products' titles by sku."""

    names: dict[int, str]
    titles: dict[str, str]


def board_labels(session: Session, event_id: int, board: Board) -> BoardLabels:
    """Names of the board's top sellers (the whitelist's name, else the member's) and titles of its
    top skus, each looked up for the whole list at once."""
    names = employee_member_names(session, event_id)
    others = programs.member_names(session, [m for m, _ in board.top_members if m not in names])
    shown = {m: name for m, _ in board.top_members if (name := names.get(m) or others.get(m))}
    program_id = session.execute(select(Event.program_id).where(Event.id == event_id)).scalar_one()
    organization_id = programs.organization_of(session, program_id)  # the event's program's catalog
    return BoardLabels(
        shown, offers.titles_by_sku(session, organization_id, [s for s, _, _ in board.top_skus])
    )


@dataclass(frozen=True)
class ReportLine:
    """One line of the after-event report: who or what, orders, GMV and refunds within the window."""

    key: str
    orders: int
    gmv_fen: int
    refunded_fen: int


def _refunds_by_order(event_id: int, until: datetime) -> Select[int, int]:
    return (
        select(Refund.order_id, func.sum(Refund.amount_fen).label("refunded"))
        .join(Order, Order.id == Refund.order_id)
        .where(Order.event_id == event_id, Refund.at <= until)
        .group_by(Refund.order_id)
    )


def _first_invitation(event_id: int) -> ScalarSelect[int]:
    """The invitation an order of the event is credited to: the first its shopper was bound to
    (``bound_at``, then id), so an order counts once however many codes its shopper holds."""
    first = aliased(Invitation)
    return (
        select(first.id)
        .where(first.event_id == event_id, first.customer_ref_hash == Order.customer_ref_hash)
        .order_by(first.bound_at, first.id)
        .limit(1)
        .correlate(Order)
        .scalar_subquery()
    )


def report(session: Session, event: Event, *, refund_days: int) -> dict[str, list[ReportLine]]:
    """Per salesperson, per employee's guests and per sku, with refunds made within ``refund_days`` of the end."""
    refunds = _refunds_by_order(event.id, event.ends_at + timedelta(days=refund_days)).subquery()
    refunded = func.coalesce(func.sum(refunds.c.refunded), 0)
    base = (
        select(func.count(Order.id), func.sum(Order.paid_fen), refunded)
        .outerjoin(refunds, refunds.c.order_id == Order.id)
        .where(Order.event_id == event.id)
    )
    members = session.execute(
        base.add_columns(Order.member_id)
        .where(Order.member_id.is_not(None))
        .group_by(Order.member_id)
        .order_by(Order.member_id)
    )
    guests = session.execute(
        base.add_columns(EventEmployee.employee_no)
        .join(Invitation, Invitation.id == _first_invitation(event.id))
        .join(EventEmployee, EventEmployee.id == Invitation.employee_id)
        .group_by(EventEmployee.employee_no)
        .order_by(EventEmployee.employee_no)
    )
    # An order's refund falls on its lines in proportion to what each line paid (integer fen, floor).
    share = OrderLine.paid_fen * func.coalesce(refunds.c.refunded, 0) / func.nullif(Order.paid_fen, 0)
    line_refunds = (
        select(
            OrderLine.sku,
            func.count(func.distinct(Order.id)),
            func.sum(OrderLine.paid_fen),
            func.coalesce(func.sum(share), 0),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(refunds, refunds.c.order_id == Order.id)
        .where(Order.event_id == event.id)
        .group_by(OrderLine.sku)
        .order_by(OrderLine.sku)
    )
    skus = session.execute(line_refunds)
    return {
        "members": [ReportLine(str(k), int(n), int(g or 0), int(r)) for n, g, r, k in members],
        "employees": [ReportLine(str(k), int(n), int(g or 0), int(r)) for n, g, r, k in guests],
        "skus": [ReportLine(str(k), int(n), int(g or 0), int(r)) for k, n, g, r in skus],
    }


def page_member_events(session: Session, page: Page, member_id: int) -> Paged[tuple[Event, EventEmployee]]:
    """The events a salesperson is on the employee list of, latest start first, with their entry."""
    query = (
        select(Event, EventEmployee)
        .join(EventEmployee, EventEmployee.event_id == Event.id)
        .where(EventEmployee.member_id == member_id)
        .order_by(Event.starts_at.desc(), Event.id.desc())
    )
    total = count_rows(session, query)
    rows = session.execute(query.limit(page.limit).offset(page.offset))
    return Paged([(event, employee) for event, employee in rows], total)


def member_entry(session: Session, event_id: int, member_id: int) -> EventEmployee | None:
    """A salesperson's entry on an event's employee list."""
    return session.scalar(
        select(EventEmployee).where(EventEmployee.event_id == event_id, EventEmployee.member_id == member_id)
    )


def invitations_of(session: Session, employee_ids: list[int]) -> dict[int, list[Invitation]]:
    """The invitation codes of some employees' entries, oldest first, by entry."""
    found: dict[int, list[Invitation]] = {i: [] for i in employee_ids}
    if employee_ids:
        rows = session.scalars(
            select(Invitation)
            .where(Invitation.employee_id.in_(employee_ids))
            .order_by(Invitation.created_at, Invitation.id)
        )
        for row in rows:
            found[row.employee_id].append(row)
    return found


def invitation(session: Session, code: str) -> tuple[Invitation, EventEmployee, Event] | None:
    """An invitation code with the employee who holds it and its event."""
    row = session.execute(
        select(Invitation, EventEmployee, Event)
        .join(EventEmployee, EventEmployee.id == Invitation.employee_id)
        .join(Event, Event.id == Invitation.event_id)
        .where(Invitation.code == code)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])

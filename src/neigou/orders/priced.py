"""A member's inviter move may not reach back past the orders already priced through it.

Commission is priced once, when an order is taken, with the upline of its ``paid_at``; stored orders
are never re-priced. A move of member M changes who sits above M from ``effective_from`` on: the level-2
and level-3 uplines of M's own orders and, with ``max_levels`` 3, the level-3 upline of the orders of
M's recruits (the members whose inviter was M at the order's paid time). A move dated at or before the
latest ``paid_at`` among those stored orders would leave them with the old upline while a twin reported
after the move, paid at the same time, pays the new one: the order's upline would depend on when it
arrived. Such a move is refused (409 ``inviter_change_before_priced_orders``).

The orders are found from the invite history, not from the stored commissions: a member whose rate earns
nothing on an order (an entry tier's override of 0, a self-purchase without seller commission) has no
``commissions`` row for it, yet the order was priced with the upline above them. ``MAX_LEVELS`` is 3,
so a move never reaches an order sold further down than a direct recruit.

One statement (``latest_paid``): each span of the history under the member finds its latest order by
one backward range scan of ``ix_orders_member_paid`` (member_id, paid_at), recruits stored without
periods come from ``ix_members_program_inviter``, and each recruit's periods from
``ix_member_inviter_periods_member_from``. The periods naming the member are found by a scan of
``member_inviter_periods``: that table has no index led by ``inviter_id`` yet (a move is a rare
operator's step; about 70 ms for 200,000 periods on PostgreSQL, against 0.3 ms with such an index).

The check sees every order priced with the old upline: the move holds its program ``FOR UPDATE``, and
order intake reads its programs ``FOR KEY SHARE`` before any upline until its commit
(``lookups.programs``), so an order being taken is committed before the move reads, and one taken
after waits for the move and is priced with the new upline (a file's batch prepared before the move is
priced again at its write: ``ingest.finish``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ColumnElement, ScalarSelect, case, exists, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from neigou.kit.clock import ensure_aware
from neigou.kit.db import UTCDateTime
from neigou.kit.errors import Conflict
from neigou.kit.events import Event, listen
from neigou.kit.i18n import Message
from neigou.orders.commission import MAX_LEVELS
from neigou.orders.models import Order
from neigou.programs.inviters import MOVING
from neigou.programs.models import Member, MemberInviterPeriod, Program

CODE = "inviter_change_before_priced_orders"
RECRUITS_FROM = 3
"""The ``max_levels`` from which a member's inviter earns on their recruits' orders (at level 3)."""

if MAX_LEVELS > RECRUITS_FROM:  # pragma: no cover - a deeper chain reaches recruits' recruits' orders
    raise RuntimeError("orders.priced checks a move's recruits' orders only: extend it first")

# The open ends of a span of the invite history, so that each span's latest order is one backward
# range scan of ``ix_orders_member_paid`` (member_id, paid_at).
_DAWN = datetime(1, 1, 2, tzinfo=UTC)
_NEVER = datetime(9999, 12, 30, tzinfo=UTC)


def _at(value: datetime) -> ColumnElement[datetime]:
    return literal(value, UTCDateTime())


def _latest(
    member: ColumnElement[int] | InstrumentedAttribute[int],
    program_id: int,
    since: ColumnElement[datetime],
    until: ColumnElement[datetime],
) -> ScalarSelect[datetime]:
    """The latest ``paid_at`` of the member's orders in the program paid in ``[since, until)``."""
    return (
        select(Order.paid_at)
        .where(Order.member_id == member, Order.program_id == program_id)
        .where(Order.paid_at >= since, Order.paid_at < until)
        .order_by(Order.paid_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _recruits_latest(
    program_id: int, member_id: int
) -> tuple[ScalarSelect[datetime], ScalarSelect[datetime]]:
    """The latest ``paid_at`` among the orders of the member's recruits paid while the member was their
    inviter, read as commission reads the history (``orders.commission.as_of``): a period naming the
    member runs from its start (from any time for a recruit's first period) to the start of the
    recruit's next one; a recruit stored without periods has ``members.inviter_id`` for all time.
    Two scalar subqueries: over the periods, and over the members stored without any."""
    p = aliased(MemberInviterPeriod)
    naming = select(MemberInviterPeriod.member_id).where(MemberInviterPeriod.inviter_id == member_id)
    by, order = p.member_id, (p.effective_from, p.id)
    spans = (
        select(
            p.member_id.label("member_id"),
            p.inviter_id.label("inviter_id"),
            case(
                (func.row_number().over(partition_by=by, order_by=order) == 1, _at(_DAWN)),
                else_=p.effective_from,
            ).label("since"),
            func.coalesce(
                func.lead(p.effective_from).over(partition_by=by, order_by=order), _at(_NEVER)
            ).label("until"),
        )
        .where(p.member_id.in_(naming))
        .subquery("spans")
    )
    under = (
        select(_latest(spans.c.member_id, program_id, spans.c.since, spans.c.until).label("at"))
        .where(spans.c.inviter_id == member_id)
        .subquery("under")
    )
    unrecorded = (
        select(_latest(Member.id, program_id, _at(_DAWN), _at(_NEVER)).label("at"))
        .where(
            Member.program_id == program_id,
            Member.inviter_id == member_id,
            ~exists().where(MemberInviterPeriod.member_id == Member.id),
        )
        .subquery("unrecorded")
    )
    return select(func.max(under.c.at)).scalar_subquery(), select(func.max(unrecorded.c.at)).scalar_subquery()


def latest_paid(session: Session, *, program_id: int, member_id: int, max_levels: int) -> datetime | None:
    """The latest ``paid_at`` among the stored orders of the program priced with the member's inviter in
    their chain: the member's own orders and, with ``max_levels`` 3, their recruits' orders paid while
    the member was their inviter. One statement."""
    parts = [_latest(literal(member_id, Order.member_id.type), program_id, _at(_DAWN), _at(_NEVER))]
    if max_levels >= RECRUITS_FROM:
        parts.extend(_recruits_latest(program_id, member_id))
    found = [ensure_aware(at) for at in session.execute(select(*parts)).one() if at is not None]
    return max(found, default=None)


@listen(MOVING)
def refuse_reaching_back(session: Session, event: Event) -> None:
    """Refuse a move dated at or before the latest order already priced through the member's inviter."""
    program_id = int(event.data["program_id"])
    program = session.get(Program, program_id)
    latest = latest_paid(
        session,
        program_id=program_id,
        member_id=int(event.data["member_id"]),
        max_levels=program.max_levels if program is not None else MAX_LEVELS,
    )
    if latest is not None and event.at <= latest:  # an order paid at the instant takes the new period
        raise Conflict(
            Message(
                "{field} is before an order already priced with this member in its chain (their own or "
                "a recruit's): a move cannot reach back past orders already taken.",
                field="effective_from",
            ),
            code=CODE,
        )

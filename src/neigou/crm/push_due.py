"""Which push messages a delivery run takes (``push_delivery``): pending robot and webhook messages whose
next attempt has come, judged in the query, and what each send needs read first (whether the customer
may still be reached, the robot of their group)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from neigou.crm import push_queries
from neigou.crm.models import Customer, MessageStatus, Push, PushChannel, PushMessage, SkipReason
from neigou.feed import repository as feed_repo
from neigou.integrations.events import waited
from neigou.kit.sealed import Sealer
from neigou.links.models import ShareLink
from neigou.privacy import repository as privacy
from neigou.programs.repository import of_live_organization

MAX_ATTEMPTS = 5
BATCH = 200
# How long a claimed message is left to the run sending it: far longer than one send can take
# (``groups.webhook.SEND_LIMIT_SECONDS``).
SENDING_LEASE = timedelta(minutes=5)


def next_attempt_at(message: PushMessage) -> datetime:
    """When a pending message is next tried: its ``send_at``, later by each failed attempt's backoff;
    while a run is sending it (claimed, ``sent_at`` the claim's time), not before the lease is over."""
    backoffs = waited(message.attempts)
    if message.status is MessageStatus.PENDING and message.sent_at is not None:
        return max(message.send_at + backoffs, message.sent_at + SENDING_LEASE)
    return message.send_at + backoffs


def retry_due(at: datetime) -> ColumnElement[bool]:
    """A pending message whose backoff is over at ``at`` (``next_attempt_at`` without the lease, which
    ``not_in_flight`` judges): ``send_at`` at least the backoff of its failed attempts before ``at``.
    One bound per attempt count, so it is plain column-against-value comparisons on both databases; a
    message at ``MAX_ATTEMPTS`` (its last attempt's run killed mid-send) is due to be given up after the
    last backoff."""
    bounds = [
        and_(PushMessage.attempts == n, PushMessage.send_at <= at - waited(n)) for n in range(MAX_ATTEMPTS)
    ]
    bounds.append(
        and_(PushMessage.attempts >= MAX_ATTEMPTS, PushMessage.send_at <= at - waited(MAX_ATTEMPTS))
    )
    return or_(*bounds)


def due_messages(session: Session, at: datetime) -> list[tuple[PushMessage, Push, str | None]]:
    """The pending robot and webhook messages whose next attempt has come (``next_attempt_at``, in the
    query: a batch is never filled with messages still waiting for their backoff or another run's
    lease, which would hold back the due ones behind them), with their push and link code."""
    stmt = (
        select(PushMessage, Push, ShareLink.code)
        .join(Push, Push.id == PushMessage.push_id)
        .outerjoin(ShareLink, ShareLink.id == PushMessage.link_id)
        .where(
            PushMessage.status == MessageStatus.PENDING,
            PushMessage.send_at <= at,  # implied by the next, but the (status, send_at) index's range
            retry_due(at),
            not_in_flight(at),
            Push.channel != PushChannel.TASK,
            of_live_organization(PushMessage.program_id),
        )
        .order_by(PushMessage.send_at, PushMessage.id)
        .limit(BATCH)
    )
    return [(m, p, c) for m, p, c in session.execute(stmt)]


def unreachable(session: Session, messages: list[PushMessage]) -> dict[int, SkipReason]:
    """The customers of ``messages`` who may no longer be pushed to, with why, read under their
    opt-out locks (taken here, held until commit): erased or opted out, or without a standing consent."""
    ids = sorted({m.customer_id for m in messages})
    if not ids:
        return {}
    privacy.lock_customers(
        session, set(session.scalars(select(Customer.customer_ref_hash).where(Customer.id.in_(ids))))
    )
    # Read again once the locks are held: an opt-out that committed meanwhile re-keyed the rows.
    rows = session.execute(
        select(Customer.id, Customer.program_id, Customer.customer_ref_hash, Customer.erased_at).where(
            Customer.id.in_(ids)
        )
    ).all()
    suppressed = privacy.suppressed(session, {(program, h) for _, program, h, _ in rows})
    consenting = push_queries.consenting(session, ids)
    reasons: dict[int, SkipReason] = {}
    for cid, program, h, erased_at in rows:
        if erased_at is not None or (program, h) in suppressed:
            reasons[cid] = SkipReason.OPTED_OUT
        elif cid not in consenting:
            reasons[cid] = SkipReason.NO_CONSENT
    return reasons


def group_robot_urls(
    session: Session, messages: list[PushMessage], sealer: Sealer
) -> dict[int, tuple[int, str]]:
    """The group and URL of the robot of each customer's own group, by customer (those without one
    left out)."""
    groups = push_queries.customer_groups(session, {m.customer_id for m in messages})
    robots = feed_repo.robot_urls(session, set(groups.values()), sealer)
    return {c: (g, robots[g]) for c, g in groups.items() if g in robots}


def without_group_robot(session: Session, customer_ids: Collection[int]) -> set[int]:
    """The customers whose own group (``push_queries.customer_groups``) has no robot, or who have no such
    group: the robot channel cannot reach them (a robot message goes nowhere else)."""
    groups = push_queries.customer_groups(session, customer_ids)
    robots = feed_repo.robots(session, set(groups.values()))
    return {c for c in customer_ids if groups.get(c) not in robots}


def not_in_flight(at: datetime) -> ColumnElement[bool]:
    """A pending message no run is sending: not claimed for a send (or given back after a failed one),
    or its claim's lease over at ``at`` (the run that claimed it was killed during the send)."""
    return or_(PushMessage.sent_at.is_(None), PushMessage.sent_at <= at - SENDING_LEASE)

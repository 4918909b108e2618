"""A salesperson's push: for each chosen customer who may be reached, one personalised message per
product with a tracked link carrying the push; every customer left out is a skip with its reason.

Checked whole before anything is written, with the customers' opt-out locks held. A customer who
opted out (or was erased) is ``opted_out``; without a current marketing consent ``no_consent``; past
the program's cap ``frequency_cap``. The messages are due at the push's ``at`` (now, or later to
schedule), moved to the end of quiet hours. An ``at`` already past means now (``effective_due``): the
delivery sends such messages at once, so the cap and the quiet hours are judged now and the messages
are stored as due now, where later pushes count them. A retry under the same idempotency key returns
the first push; other terms under it are refused, its time compared with the time the push was asked
for (``Push.due_at``), never with the messages' ``send_at``, which quiet hours and delivery move (a
push stored before migration 0056 has none and is compared as it was then: ``_same_time``).

On the robot channel a message is posted in the customer's own group, which other people read: its text
is the program's non-personal words (``push_copy.robot_text``), a template is refused
(``template_not_for_robot``), and so is a push reaching a customer whose own group has no robot
(``409 no_group_robot``): such a message is never posted to another group, the program's robot included.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.crm import push_copy, push_due, push_rules, push_settings
from neigou.crm import push_queries as repo
from neigou.crm.models import (
    Customer,
    MessageStatus,
    Push,
    PushChannel,
    PushMessage,
    PushSkip,
    SkipReason,
)
from neigou.crm.push_offers import PushedProduct, priced_products
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict, Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.settings import settings_of
from neigou.links.models import ShareLink
from neigou.links.service import NO_TIERS, insert_links, link_url
from neigou.privacy import repository as privacy
from neigou.programs import repository as programs
from neigou.programs.models import Member
from neigou.risk import holds

# A robot message is read by the whole group: the salesperson's words for one customer are not posted there.
TEMPLATE_NOT_FOR_ROBOT = Message(
    "On the robot channel a message is posted in a group others read, in the program's words only: "
    "push without your own words."
)


@dataclass(frozen=True)
class PushRequest:
    """What the salesperson asked for: customers, products, their words, when, and the retry key."""

    customer_ids: Sequence[int]
    skus: Sequence[str]
    template: str | None
    due: datetime
    request_id: str | None
    segment_id: int | None = None
    # The ``at`` as asked (None: now), before a past one came to mean now: a retry's is compared with the
    # push's own through it.
    asked: datetime | None = None


@dataclass(frozen=True)
class MadePush:
    """A push with its messages (and their links' codes) and its skips."""

    push: Push
    messages: list[PushMessage]
    codes: dict[int, str]
    skips: list[PushSkip]


def _timing(session: Session, program_id: int) -> tuple[push_settings.PushSettings, str]:
    """The program's push settings and its time zone."""
    settings = push_settings.read(session, program_id)
    program = programs.get_program(session, program_id)
    return settings, program.timezone if program is not None else settings_of(session).default_timezone


def _same_time(session: Session, push: Push, messages: Sequence[PushMessage], ask: PushRequest) -> bool:
    """Whether the retry asks for the time the push was asked for: its ``at`` as the push took it when it
    was made (a past one is then, none is then) against the push's stored ``due_at``. Neither the
    program's quiet hours (which may have changed since) nor the messages' ``send_at`` (which quiet hours
    and delivery move) take part.

    A push stored before migration 0056 kept no asked time (``due_at`` null): it is compared as it was
    then, the retry's time moved out of the program's quiet hours against its messages' earliest
    ``send_at``; one whose every customer was skipped stored no time, and any ``at`` matches it."""
    due = push.created_at if ask.asked is None else effective_due(ask.asked, push.created_at)
    if push.due_at is not None:
        return due == push.due_at
    if not messages:
        return True
    settings, timezone = _timing(session, push.program_id)
    # Delivery may move a message later (quiet hours changed since), never earlier.
    return push_rules.send_at(due, settings.quiet, timezone) == min(m.send_at for m in messages)


def _same_terms(session: Session, push: Push, ask: PushRequest) -> bool:
    messages = repo.messages_of(session, [push.id])[push.id]
    reached = {m.customer_id for m in messages} | {s.customer_id for s in repo.skips_of(session, push.id)}
    customers_match = ask.segment_id is not None or reached == set(ask.customer_ids)
    return (
        list(push.skus) == list(ask.skus)
        and push.template == ask.template
        and push.segment_id == ask.segment_id
        and customers_match
        and _same_time(session, push, messages, ask)
    )


def _retry(session: Session, push: Push, ask: PushRequest) -> MadePush:
    if not _same_terms(session, push, ask):
        raise Conflict(
            Message("This Idempotency-Key was used for another push."), code="idempotency_key_reused"
        )
    return load(session, push)


def load(session: Session, push: Push) -> MadePush:
    """A stored push with its messages, their link codes and its skips."""
    messages = repo.messages_of(session, [push.id])[push.id]
    codes = repo.link_codes(session, [m.link_id for m in messages if m.link_id is not None])
    return MadePush(
        push,
        messages,
        {m.id: codes.get(m.link_id or 0, "") for m in messages},
        repo.skips_of(session, push.id),
    )


def effective_due(due: datetime, now: datetime) -> datetime:
    """When a push asked for ``due`` really goes out: ``due``, or ``now`` when ``due`` is already past.
    A backdated push never counts at its past time: each customer's frequency cap holds at the moment
    the messages reach them."""
    return max(due, now)


def _skip_reasons(
    session: Session,
    *,
    program_id: int,
    customers: dict[int, Customer],
    send_at: datetime,
    cap: push_rules.Cap,
) -> dict[int, SkipReason]:
    rows = customers
    # Every opt-out of the customer counts, whoever recorded it (``privacy.repository.suppressed``).
    suppressed = privacy.suppressed(session, {(program_id, c.customer_ref_hash) for c in rows.values()})
    consenting = repo.consenting(session, list(customers))
    # The cap is the shopper's, counted across every book of the program that holds them (the same
    # keyed reference); the per-reference locks taken before (``privacy.lock_customers``) keep two
    # pushes to one shopper from different books one after the other.
    times = repo.push_times(session, program_id, {c.customer_ref_hash for c in rows.values()})
    reasons: dict[int, SkipReason] = {}
    for cid, customer in rows.items():
        if customer.erased_at is not None or (program_id, customer.customer_ref_hash) in suppressed:
            reasons[cid] = SkipReason.OPTED_OUT
        elif cid not in consenting:
            reasons[cid] = SkipReason.NO_CONSENT
        elif not push_rules.within_cap(times.get(customer.customer_ref_hash, []), send_at, cap):
            reasons[cid] = SkipReason.FREQUENCY_CAP
    return reasons


def _link(member: Member, product: PushedProduct, push: Push, now: datetime) -> ShareLink:
    return ShareLink(
        program_id=member.program_id,
        member_id=member.id,
        product_id=product.product_id,
        sku=product.sku,
        coupon_id=product.coupon_id,
        group_id=None,
        campaign_id=product.campaign_id,
        push_id=push.id,
        active=True,
        created_at=now,
        updated_at=now,
    )


def create_push(
    session: Session, *, member: Member, ask: PushRequest, base_url: str, actor: Actor, now: datetime
) -> MadePush:
    """Write the push, its links and messages, and its skips (or return the push of a repeated key)."""
    if ask.request_id is not None:
        earlier = repo.by_request(session, member.id, ask.request_id)
        if earlier is not None:
            return _retry(session, earlier, ask)
    if ask.template is not None and (problem := push_copy.template_problem(ask.template)) is not None:
        raise Invalid(problem, code="template_invalid")
    if len(set(ask.customer_ids)) != len(ask.customer_ids):
        raise Invalid(Message("A customer is listed twice."), code="duplicate_customer")
    # The customers' opt-out locks come before their rows are held (the opt-out updates those rows):
    # a push that waited for an opt-out then finds it (``opted_out``), an opt-out that waited for a
    # push blanks the messages it wrote (``privacy.repository.lock_customers``).
    hashes = repo.customer_hashes(session, member.id, ask.customer_ids)
    repo.lock_program_cap(session, member.program_id, wide=len(hashes) > privacy.WIDE_FROM)
    privacy.lock_customers(session, hashes)
    customers = repo.customers_of(session, member.id, ask.customer_ids, lock=True)
    for cid in ask.customer_ids:
        if cid not in customers:  # another member's customer is not there for this member
            raise NotFound(Message("This customer does not exist."), code="customer_not_found")
    if not programs.list_tiers(session, member.program_id):
        raise Conflict(NO_TIERS, code="no_tiers")
    holds.check_not_suspended(session, member.id)
    settings, timezone = _timing(session, member.program_id)
    # Judged and stored at the time the messages really go out (a past ``at`` is now, one inside quiet
    # hours their end).
    due = effective_due(ask.due, now)
    send_at = push_rules.send_at(due, settings.quiet, timezone)
    # Priced then too: never an ended campaign's price, also when quiet hours hold the messages back.
    products = priced_products(session, program_id=member.program_id, skus=ask.skus, at=send_at)
    reasons = _skip_reasons(
        session, program_id=member.program_id, customers=customers, send_at=send_at, cap=settings.cap
    )
    reached = [customers[cid] for cid in ask.customer_ids if cid not in reasons]
    robot = settings.channel is PushChannel.WECOM_ROBOT
    if robot:
        _check_robot_push(session, ask, reached)
    push = Push(
        program_id=member.program_id,
        member_id=member.id,
        request_id=ask.request_id,
        template=ask.template,
        skus=list(ask.skus),
        segment_id=ask.segment_id,
        channel=settings.channel,
        created_at=now,
        due_at=due,
    )
    try:
        with session.begin_nested():
            session.add(push)
            session.flush()
    except IntegrityError:  # a parallel retry under the same key stored its push first
        earlier = repo.by_request(session, member.id, ask.request_id or "")
        if earlier is None:  # pragma: no cover - the unique key is (member, request_id)
            raise
        return _retry(session, earlier, ask)
    pairs = [(c, p, _link(member, p, push, now)) for c in reached for p in products]
    insert_links(session, [link for _, _, link in pairs])
    messages = [
        PushMessage(
            push_id=push.id,
            program_id=member.program_id,
            member_id=member.id,
            customer_id=customer.id,
            sku=product.sku,
            text=push_copy.text_for(
                ask.template,
                push_copy.MessageItem(
                    customer.name,
                    product.title,
                    product.price_fen,
                    product.group_price_fen,
                    link_url(base_url, link.code),
                ),
                robot=robot,
            ),
            link_id=link.id,
            send_at=send_at,
            attempts=0,
        )
        for customer, product, link in pairs
    ]
    skips = [
        PushSkip(push_id=push.id, program_id=member.program_id, customer_id=cid, reason=reasons[cid].value)
        for cid in ask.customer_ids
        if cid in reasons
    ]
    session.add_all([*messages, *skips])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="push.create",
        entity="push",
        entity_id=push.id,
        after={
            "member_id": member.id,
            "skus": list(ask.skus),
            "messages": len(messages),
            "skipped": len(skips),
        },
        at=now,
    )
    return MadePush(
        push, messages, {m.id: link.code for m, (_, _, link) in zip(messages, pairs, strict=True)}, skips
    )


def _check_robot_push(session: Session, ask: PushRequest, reached: Sequence[Customer]) -> None:
    """Refuse a robot-channel push that would carry the salesperson's words or reach a customer whose own
    group has no robot (nothing is written: the push is refused whole)."""
    if ask.template is not None:
        raise Invalid(TEMPLATE_NOT_FOR_ROBOT, code="template_not_for_robot")
    missing = push_due.without_group_robot(session, [c.id for c in reached])
    if missing:
        raise Conflict(
            Message(
                "{n} of these customers have no robot in their own group: on the robot channel a message "
                "goes only to the robot of the customer's own group. Add a robot to their group or leave "
                "them out of the push.",
                n=len(missing),
            ),
            code="no_group_robot",
        )


def require_push(session: Session, push_id: int) -> Push:
    """A push by id or a 404."""
    push = session.get(Push, push_id)
    if push is None:
        raise NotFound(Message("This push does not exist."), code="push_not_found")
    return push


def mark_sent(session: Session, *, made: MadePush, message_id: int, at: datetime) -> PushMessage:
    """The salesperson sent a task message themselves; marking it twice changes nothing."""
    message = next((m for m in made.messages if m.id == message_id), None)
    if message is None:
        raise NotFound(Message("This message does not exist."), code="message_not_found")
    if made.push.channel is not PushChannel.TASK:
        raise Conflict(
            Message("This message goes out through the program's channel, not by hand."), code="not_a_task"
        )
    if message.status is MessageStatus.PENDING:
        message.status, message.sent_at, message.attempts = MessageStatus.SENT, at, message.attempts + 1
        session.flush()
    return message

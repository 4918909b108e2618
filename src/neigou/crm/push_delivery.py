"""Push messages whose time has come go out by their push's channel (a job every minute).

* ``task``: the salesperson sends the text from their own chat app and marks it sent; nothing here.
* ``wecom_robot``: the text is posted through a WeCom group robot, as the feed's posts are
  (``feed.repository.robots``, ``groups.webhook``): only the robot of the customer's own group (the
  group of the link that brought them into the book, while it is active and still the member's). A
  group robot's message is read by everyone in the group, so it carries no personal data of its
  customer and goes nowhere else: never to the member's other groups nor to the program's robot (the
  settings' target, which this channel never uses). What is posted is never the stored text (one
  written before robot messages were non-personal may greet its customer, by a name since changed or
  cleared, or carry the salesperson's words): each attempt rebuilds it from the message's link and its
  product (``push_offers.linked_item``, ``push_copy.robot_text``) and stores it as the message's text
  with its claim, so a sent message shows what the group read. A message whose customer has no such
  robot when it is sent fails at once (``NO_GROUP_ROBOT``), and so does one whose text cannot be
  rebuilt: its link or its product is gone or withdrawn (``NO_OFFER``); either keeps an empty text. Each attempt records the robot
  it went through (``sent_via`` ``group`` with the group's id; ``program`` is only on messages sent
  before).
* ``webhook``: the message is POSTed as JSON to the program's endpoint, signed as commission events
  are (Standard Webhooks and the first scheme; ``webhook-id`` is ``pmsg_<id>`` on every retry, so a
  receiver deduplicates by it): a WeCom external-contact integration sends it to the customer.

Each attempt first claims itself on the message row (a conditional ``attempts + 1`` on a still
pending message that no run is sending) and takes a lease on it (``sent_at``, still ``pending``: being
sent since), so a redelivered job or two runs at once never send one message twice, and a sent
message is never sent again. The lease (``SENDING_LEASE``, 5 minutes) outlasts any send, which ends
within ``groups.webhook.SEND_LIMIT_SECONDS`` (90 s, the host name's resolution included); a run killed
during a send leaves a webhook message to the runs after the lease (the receiver deduplicates), and a
robot message failed once the lease is over (``LEASE_LOST``: WeCom does not deduplicate). The outcome is written only on the
attempt claimed and on a message still pending: one cancelled meanwhile (an opt-out) keeps ``failed``
and its reason, with ``sent_at`` saying whether the send went out. A message whose next attempt comes
inside the program's current quiet hours is neither claimed nor sent: its next attempt moves to their
end, taking no attempt. A refused or unreachable target is tried again after the integrations' backoff
(30 s × 4ⁿ), counted from ``send_at``; after ``MAX_ATTEMPTS`` the message is failed. A run
reads at most ``BATCH`` messages, only those whose next attempt has come (backoff and lease judged in
the query), so messages waiting for a retry never crowd out the due ones. A refused attempt
keeps only a fixed summary in ``last_error`` and in its log line (``refusal``: the HTTP status and the
robot's numeric ``errcode``, or the class of the error that stopped the call), never the receiver's
text, which may echo the message and so the customer's name or phone, nor the target's URL; a target
removed from the settings fails the message at once.

Right before its send, each message's customer is checked again under their opt-out lock
(``privacy.repository.lock_customers``, taken as a push takes it, before the message's row is held): a
customer erased or opted out since the push fails the message with ``opted_out``, one whose marketing
consent no longer stands with ``no_consent``, and nothing is sent to them. The check and the claim
commit before the send, giving the lock back: an opt-out waits at most for one message's check and
claim (a few statements, never a send), and an opt-out that committed before a message's check stops it.
The job commits its own transactions (``own_transactions``): on SQLite the lock is the database's write
lock, which no HTTP call may hold.
"""

from __future__ import annotations

import json
from datetime import datetime
from time import monotonic
from typing import Any

import httpx
import structlog
from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.orm import Session

from neigou.crm import push_copy, push_due, push_offers, push_rules, push_settings
from neigou.crm.models import MessageStatus, Push, PushChannel, PushMessage, RobotVia
from neigou.crm.push_due import MAX_ATTEMPTS, group_robot_urls, not_in_flight, unreachable
from neigou.crm.push_rules import QuietHours
from neigou.groups.webhook import UNSENDABLE, error_of, post, send_markdown
from neigou.integrations import signing, standard
from neigou.integrations.events import waited
from neigou.kit import jobs, robot_budget
from neigou.kit.attempts import RunBudget, claim_attempt, defer_attempt, give_up_attempts, refusal
from neigou.kit.clock import not_before_now
from neigou.kit.logging import error_summary
from neigou.kit.robot_budget import LEASE_LOST
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, settings_of
from neigou.links.service import link_url
from neigou.programs import repository as programs

DELIVER_JOB = "crm.deliver_push_messages"
EVENT_TYPE = "crm.push_message"
NO_GROUP_ROBOT = (
    "no group robot: the customer's own group has no robot, or they came from no group of the member's; "
    "add the group's robot and push again (a robot message is never posted to another group)"
)
NO_OFFER = (
    "no offer: the message's tracked link or its product is gone or no longer on sale, so its text "
    "cannot be rebuilt; push again"
)
NO_TARGET = "no target: the program's push settings have no webhook URL"
NOT_POSTED = ""  # the text of a robot message failed before posting (``_fail_unsent``)
# A webhook message whose signing secret no configured key opens (fix NEIGOU_PAYEE_KEYS): nothing is
# sent (never signed with an empty secret), and the attempt is retried like a refusal.
UNSIGNABLE = "the signing secret does not open with the configured keys (NEIGOU_PAYEE_KEYS)"
log = structlog.get_logger(__name__)


def webhook_body(message: PushMessage, push: Push, link_url: str | None) -> dict[str, Any]:
    """What the webhook receives for one message."""
    return {
        "id": f"pmsg_{message.id}",
        "type": EVENT_TYPE,
        "created_at": message.send_at.isoformat(),
        "data": {
            "push_id": push.id,
            "message_id": message.id,
            "program_id": message.program_id,
            "member_id": message.member_id,
            "customer_id": message.customer_id,
            "sku": message.sku,
            "text": message.text,
            "link_url": link_url,
        },
    }


def _post_webhook(
    url: str,
    secret: str,
    body: dict[str, Any],
    *,
    at: datetime,
    transport: httpx.BaseTransport | None,
    allow: bool,
) -> tuple[bool, str]:
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        signing.EVENT_HEADER: EVENT_TYPE,
        **standard.headers(secret, str(body["id"]), at, raw),
        **signing.headers(secret, at, raw),
    }
    try:
        response = post(url, content=raw, headers=headers, transport=transport, allow_private=allow)
    except UNSENDABLE as exc:
        return False, refusal(None, error=error_of(exc))
    return response.is_success, "ok" if response.is_success else refusal(response.status_code)


def deliver_due(
    session: Session,
    *,
    at: datetime,
    settings: Settings,
    transport: httpx.BaseTransport | None = None,
) -> list[PushMessage]:
    """Send the robot and webhook messages that are due; returns those attempted, with their new status
    (a message a parallel run took is left to it). The targets are unsealed and the link URLs built
    with the running application's ``settings``.

    The job's own transactions (``kit.jobs``' ``own_transactions``): the due messages are read, then each
    message is checked and claimed in a short transaction under its customer's opt-out lock, which is
    given back (committed) before the send; the outcome is written in a second one, only if the message
    is still this attempt's and still pending. So an opt-out never waits for a send (on SQLite no writer
    does: the lock is the database's write lock), one that committed before a message's check stops
    that message, and one that committed during the send keeps its reason."""
    sealer = Sealer.from_settings(settings)
    due = push_due.due_messages(session, at)
    targets = {pid: push_settings.read(session, pid) for pid in {m.program_id for m, _, _ in due}}
    zones = {pid: _zone(session, pid, settings) for pid in targets}
    robot_messages = [m for m, p, _ in due if p.channel is PushChannel.WECOM_ROBOT]
    group_robots = group_robot_urls(session, robot_messages, sealer)
    session.commit()  # the reads end here: nothing is held from now on but one message's check
    attempted: list[PushMessage] = []
    claimable = and_(PushMessage.status == MessageStatus.PENDING, not_in_flight(at))
    budget = RunBudget(monotonic)
    for message, push, code in due:
        if budget.spent():  # the rest stays due: the next run takes it
            log.info("crm.push_run_budget_spent")
            break
        robot = push.channel is PushChannel.WECOM_ROBOT
        if _given_up(session, message, robot=robot, claimable=claimable):
            continue
        if _held_back(session, message, targets[message.program_id].quiet, zones[message.program_id], at=at):
            continue
        group = group_robots.get(message.customer_id) if robot else None
        if group is not None and not robot_budget.take(group[1], settings):
            continue  # the robot had its 20 this minute: not claimed, no attempt taken; a later run sends it
        # Under the customer's lock, taken before the message's row is (as a push takes them): checked
        # again, then claimed; the commit gives the lock back before anything is sent.
        stopped = unreachable(session, [message]).get(message.customer_id)
        claimed = claim_attempt(session, message, PushMessage.attempts, claimable)
        target: str | None = None
        if claimed and stopped is not None:
            message.status, message.last_error = MessageStatus.FAILED, stopped.value
        elif claimed:
            refused = _robot_refusal(session, message, group, settings=settings, at=at) if robot else None
            target = None if refused else _choose_target(message, push, targets, group, sealer=sealer)
            if target is None:
                _fail_unsent(message, refused or NO_TARGET, robot=robot)
            else:
                # On its way since the claim (not the run's start: a run claims its last messages long after it
                # began): no run takes it again before the lease ends.
                message.sent_at = not_before_now(at)
        session.commit()
        if not claimed:
            continue
        attempted.append(message)
        if target is not None:
            # Signed and dated when it is sent, not when the run began: a run sending many messages
            # reaches its last ones minutes later, and receivers refuse a signature's timestamp that old.
            sending = not_before_now(at)
            try:
                ok, detail = _send(
                    message,
                    push,
                    code,
                    target,
                    targets,
                    sealer=sealer,
                    settings=settings,
                    at=sending,
                    transport=transport,
                )
                broken = False
            except Exception as exc:  # a fault while sending or reading the answer: the attempt still ends
                log.error("crm.push_send_failed", message_id=message.id, error=error_summary(exc))
                # It may have gone out: failed for good, never sent again blindly once the lease ends.
                ok, detail, broken = False, refusal(None, error=type(exc).__name__), True
            # A robot over its 20 a minute: the attempt is given back, until the time the message would
            # have been given up after its last backoff (so a robot that never takes it ends it).
            given_back = robot_budget.hands_back(
                detail, at=sending, until=message.send_at + waited(MAX_ATTEMPTS)
            )
            _record(session, message, ok, detail, push=push, at=sending, broken=broken, given_back=given_back)
    return attempted


def _given_up(session: Session, message: PushMessage, *, robot: bool, claimable: ColumnElement[bool]) -> bool:
    """Fail a message whose sending run was killed during the send (its lease is over) when it may not be
    sent again: it took its last attempt, or it went to a robot. WeCom keeps no ``webhook-id`` to
    deduplicate by, so a robot message may be in the group already and is never posted twice; a webhook
    receiver deduplicates, so a webhook message is sent again. True when the message was dealt with."""
    if message.attempts >= MAX_ATTEMPTS:
        failed: dict[str, object] = {"status": MessageStatus.FAILED}
    elif robot and message.sent_at is not None:
        failed = {"status": MessageStatus.FAILED, "last_error": LEASE_LOST}
    else:
        return False
    give_up_attempts(session, message, PushMessage.attempts, claimable, **failed)
    session.commit()
    return True


def _fail_unsent(message: PushMessage, reason: str, *, robot: bool) -> None:
    """Fail for good a claimed message that can go nowhere. A robot message keeps no text, as an unsent
    group alert has none (``last_error`` says why): what it held was never posted."""
    message.status, message.last_error = MessageStatus.FAILED, reason
    message.attempts = max(message.attempts, MAX_ATTEMPTS)
    message.text = NOT_POSTED if robot else message.text


def _zone(session: Session, program_id: int, settings: Settings) -> str:
    """The program's time zone (the deployment's default for a program gone meanwhile)."""
    program = programs.get_program(session, program_id)
    return program.timezone if program is not None else settings.default_timezone


def _held_back(session: Session, message: PushMessage, quiet: QuietHours, zone: str, *, at: datetime) -> bool:
    """Whether the program's quiet hours (its current settings) hold now: then the message is neither
    claimed nor sent, and its next attempt moves to their end (``push_rules.send_at``), taking no attempt:
    ``send_at`` is set back by the backoff its failed attempts already wait (``integrations.events.waited``)."""
    now = not_before_now(at)
    resume = push_rules.send_at(now, quiet, zone)
    if resume == now:
        return False
    unclaimed = and_(PushMessage.status == MessageStatus.PENDING, not_in_flight(at))
    defer_attempt(
        session, message, PushMessage.attempts, unclaimed, send_at=resume - waited(message.attempts)
    )
    session.commit()
    return True


def _robot_refusal(
    session: Session,
    message: PushMessage,
    group: tuple[int, str] | None,
    *,
    settings: Settings,
    at: datetime,
) -> str | None:
    """Why a robot message may not be posted (None when it may): its customer's own group has no robot
    (never sent elsewhere), or its text cannot be rebuilt (its link or product is gone). When it may, its
    text becomes the one rebuilt now, naming no customer (``push_copy.robot_text``), never the stored one."""
    if group is None:
        return NO_GROUP_ROBOT
    item = push_offers.linked_item(
        session, message.link_id, base_url=settings.public_base, at=not_before_now(at)
    )
    if item is None:
        return NO_OFFER
    message.text = push_copy.robot_text(item)
    return None


def _choose_target(
    message: PushMessage,
    push: Push,
    targets: dict[int, push_settings.PushSettings],
    group: tuple[int, str] | None,
    *,
    sealer: Sealer,
) -> str | None:
    """Where this attempt goes (on the robot channel, the group recorded on the message); None when
    nowhere. A robot message goes only to its customer's own group's robot (``group``)."""
    if push.channel is not PushChannel.WECOM_ROBOT:
        found = targets[message.program_id]
        return sealer.unseal(found.target_sealed) if found.target_sealed else None
    message.sent_via = None if group is None else RobotVia.GROUP
    message.sent_via_group_id = None if group is None else group[0]
    return None if group is None else group[1]


def _send(
    message: PushMessage,
    push: Push,
    code: str | None,
    target: str,
    targets: dict[int, push_settings.PushSettings],
    *,
    sealer: Sealer,
    settings: Settings,
    at: datetime,
    transport: httpx.BaseTransport | None,
) -> tuple[bool, str | None]:
    """Send one claimed message (no transaction, no lock held): whether it was taken, and the fixed
    summary of its refusal (``refusal``) kept in ``last_error`` otherwise."""
    allow = settings.outbound_allow_private
    if push.channel is PushChannel.WECOM_ROBOT:
        outcome = send_markdown(
            target, message.text, secret=None, at=at, transport=transport, allow_private=allow
        )
        ok, detail = outcome.ok, refusal(outcome.http_status, errcode=outcome.errcode, error=outcome.error)
    else:
        found = targets[message.program_id]
        secret = sealer.unseal(found.secret_sealed) if found.secret_sealed else None
        if not secret:
            log.warning("crm.push_secret_unopened", program_id=message.program_id)
            return False, UNSIGNABLE
        url = None if code is None else link_url(settings.public_base, code)
        ok, detail = _post_webhook(
            target, secret, webhook_body(message, push, url), at=at, transport=transport, allow=allow
        )
    return ok, None if ok else detail


def _record(
    session: Session,
    message: PushMessage,
    ok: bool,
    detail: str | None,
    *,
    push: Push,
    at: datetime,
    broken: bool = False,
    given_back: bool = False,
) -> None:
    """Write what the send came to, only on the attempt this run claimed (``attempts`` unchanged) and
    on a message still pending. A message cancelled meanwhile (an opt-out, a withdrawn consent) keeps
    its ``failed`` and its reason: only whether the send went out is recorded (``sent_at``)."""
    mine = and_(PushMessage.id == message.id, PushMessage.attempts == message.attempts)
    values: dict[str, Any] = {"last_error": detail, "sent_at": at if ok else None}
    if ok:
        values["status"] = MessageStatus.SENT
    elif given_back:
        values["attempts"] = message.attempts - 1
    elif broken or message.attempts >= MAX_ATTEMPTS:
        values["status"] = MessageStatus.FAILED
    written = session.execute(
        update(PushMessage)
        .where(mine, PushMessage.status == MessageStatus.PENDING)
        .values(values)
        .execution_options(synchronize_session=False)
    )
    if getattr(written, "rowcount", 0) != 1:
        session.execute(
            update(PushMessage)
            .where(mine, PushMessage.status == MessageStatus.FAILED)
            .values(sent_at=at if ok else None)
            .execution_options(synchronize_session=False)
        )
    session.commit()
    session.refresh(message)
    if not ok:
        log.warning(
            "crm.push_message_refused",
            message_id=message.id,
            channel=str(push.channel),
            attempt=message.attempts,
            status=str(message.status),
            detail=detail,
        )


@jobs.job(DELIVER_JOB, cron={"minute": "*"}, own_transactions=True)
def deliver_job(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Send every robot and webhook push message whose time has come."""
    deliver_due(session, at=at, settings=settings_of(session))

"""Outbound events (commissions, and a group live code whose groups are all full): a delivery per integration, signed, retried with backoff, logged.

Orders announce commission events (``orders.commission_events``); the listener here turns each into a
delivery per integration of the program, in the order's transaction. Deliveries are signed by the
Standard Webhooks scheme (``standard``; ``webhook-id`` is the event id, the same on every retry, so
receivers deduplicate by it) and by the first scheme as well (``signing``), for receivers built on it.
The first attempt is a job deferred on the session (so nothing is sent if the request rolls back);
failed deliveries are retried by a scheduled job after 30 s, 2 min, 8 min, 32 min, ~2 h and ~8.5 h
(×4 each time), then marked failed. Every attempt is kept in ``webhook_attempts``, with a fixed summary
of its outcome (``kit.attempts.refusal``: ``HTTP 500``, or the class of the error that stopped the call),
as the delivery's ``last_error`` and its log line keep it: never the receiver's answer, which may echo
the payload and so a customer's name or phone. Each attempt is
claimed on its delivery and committed before the send, and its outcome written after it (:func:`attempt`):
no lock is held through a send, and two runs never send one attempt.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

import httpx
import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from neigou.groups import webhook
from neigou.groups.live_codes import LIVE_CODE_FULL
from neigou.groups.webhook import SEND_BOUND, UNSENDABLE
from neigou.integrations import signing, standard
from neigou.integrations.models import DeliveryStatus, Integration, WebhookAttempt, WebhookDelivery
from neigou.kit import jobs
from neigou.kit.attempts import RunBudget, claim_attempt_within, due_for_retry, finish_attempt, refusal
from neigou.kit.clock import not_before_now
from neigou.kit.events import Event, listen
from neigou.kit.jobs import job
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings, settings_of
from neigou.kit.tracebacks import error_name
from neigou.orders import commission_events
from neigou.organizations.models import DELETED_EVENT, ORGANIZATION_DELETED
from neigou.programs.repository import of_deleted_organization, of_live_organization, programs_of

MAX_ATTEMPTS = 7
FIRST_RETRY_SECONDS = 30
# Job names predate the integrations package; queued jobs and job keys carry them, so they stay.
DELIVER_JOB = "orders.deliver_webhook"
# An attempt's detail when the URL or secret does not open with the configured keys (fix the keys).
UNOPENED = "the outbound URL or secret does not open with the configured keys (NEIGOU_PAYEE_KEYS)"

log = structlog.get_logger(__name__)


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failures: 30 s × 4^(attempts − 1)."""
    return timedelta(seconds=FIRST_RETRY_SECONDS * 4 ** max(attempts - 1, 0))


def waited(attempts: int) -> timedelta:
    """How long after its first attempt was due a send with ``attempts`` failed attempts is tried again
    (every backoff so far); ``waited(MAX)`` is when one given ``MAX`` attempts would have been given up."""
    return sum((backoff(n) for n in range(1, attempts + 1)), timedelta())


@listen(commission_events.EARNED, commission_events.REVERSED, LIVE_CODE_FULL)
def queue_deliveries(session: Session, event: Event) -> None:
    """Queue a commission event, or a live code's "every group is full", for every integration of its
    program that takes outbound events."""
    targets = list(
        session.scalars(
            select(Integration).where(
                Integration.program_id == event.data["program_id"],
                Integration.active.is_(True),
                Integration.outbound_url_sealed.is_not(None),
            )
        )
    )
    for integration in targets:
        event_id = f"evt_{uuid.uuid4().hex}"
        delivery = WebhookDelivery(
            integration_id=integration.id,
            event_id=event_id,
            event_type=event.type,
            payload={
                "id": event_id,
                "type": event.type,
                "created_at": event.at.isoformat(),
                "data": event.data,
            },
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=event.at,
            created_at=event.at,
        )
        session.add(delivery)
        session.flush()
        jobs.defer(session, DELIVER_JOB, key=f"webhook:{delivery.id}:1", payload={"delivery_id": delivery.id})


def _opened(integration: Integration, sealer: Sealer) -> tuple[str, str] | None:
    """The receiver's URL and the outbound secret, opened to send; None (logged by name, without the
    value) when no configured key opens one of them."""
    if integration.outbound_url_sealed is None:
        return None
    url = sealer.unseal(integration.outbound_url_sealed)
    secret = sealer.unseal(integration.outbound_secret_sealed)
    for name, value in (("outbound_url", url), ("outbound_secret", secret)):
        if value is None:  # sealed with a key no longer configured
            log.warning("integrations.sealed_value_unopened", integration_id=integration.id, value=name)
    return (url, secret) if url is not None and secret is not None else None


def attempt(
    session: Session,
    delivery: WebhookDelivery,
    *,
    at: datetime,
    settings: Settings | None = None,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """Send one delivery now and log the attempt; True when the receiver took it (2xx), False when it
    did not or when a parallel run took this attempt (it is then left to that run). The URL and secret
    are opened with the running application's ``settings`` (by default those of ``session``); when no
    configured key opens them the attempt fails, says so, and is retried (the keys may be put right
    meanwhile).

    The caller's own transactions (``kit.jobs``' ``own_transactions``): the attempt is claimed on the
    delivery (a conditional ``attempts + 1`` on a still pending delivery, whose next attempt moves to
    where this one's failure would put it) and committed before the send, which holds no transaction
    and no lock; the outcome is written in a second short transaction, on the delivery only while it is
    still this attempt's and pending. A run killed during the send leaves the delivery to the retries,
    after its backoff."""
    integration = session.get(Integration, delivery.integration_id)
    if integration is None or integration.outbound_url_sealed is None:
        delivery.status = DeliveryStatus.FAILED
        session.commit()
        return False
    running = settings or settings_of(session)
    opened = _opened(integration, Sealer.from_settings(running))
    pending = WebhookDelivery.status == DeliveryStatus.PENDING
    # A retry only once due: a run that read the delivery before another claimed its attempt finds the
    # next one not due yet (the claim moved it), so two runs never send the delivery at once.
    due = or_(WebhookDelivery.attempts == 0, WebhookDelivery.next_attempt_at <= at)
    claimed = claim_attempt_within(
        session,
        delivery,
        WebhookDelivery.attempts,
        MAX_ATTEMPTS,
        pending,
        due,
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
    )
    if claimed:
        # Until this attempt's outcome is written, no retry finds the delivery due: the lease is the
        # backoff, and never shorter than the longest a send takes (groups.webhook.SEND_BOUND).
        # Counted from the claim, not the run's start: a run retrying many deliveries claims its last
        # ones long after it began.
        delivery.next_attempt_at = not_before_now(at) + max(backoff(delivery.attempts), SEND_BOUND)
    session.commit()  # the claim is taken: nothing is held through the send
    if not claimed:
        return False
    number = delivery.attempts  # the attempt this run claimed: its outcome is written on it only
    # Signed, logged and dated when it is sent, not when the run began: a run sending many deliveries
    # reaches its last ones minutes later, and receivers refuse a signature's timestamp that old.
    at = not_before_now(at)
    status: int | None = None
    if opened is None:
        ok, detail = False, UNOPENED
    else:
        url, secret = opened
        try:
            status, ok, detail = _post(
                url,
                secret,
                delivery,
                at=at,
                transport=transport,
                allow_private=running.outbound_allow_private,
            )
        except Exception as exc:  # a fault while sending or reading the answer: the attempt still ends
            # Its class only: the message of an error reading the answer may quote the answer.
            log.error("webhook.send_failed", delivery_id=delivery.id, error=error_name(exc))
            # A failed attempt like a refusal (the receiver dedupes by the event's id): retried later.
            status, ok, detail = None, False, f"{type(exc).__name__} while sending"
        if not ok:
            log.info("webhook.refused", delivery_id=delivery.id, number=number, detail=detail)
    # The attempt log keeps every send made; the delivery takes this one's outcome only while it is still
    # this attempt's and pending: a send that outlived its lease (the next attempt claimed and made
    # meanwhile) never overwrites what that later attempt came to.
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id, number=number, at=at, http_status=status, ok=ok, detail=detail
        )
    )
    outcome: dict[str, object] = {"last_http_status": status, "last_error": None if ok else detail}
    if ok:
        outcome.update(status=DeliveryStatus.DELIVERED, delivered_at=at, next_attempt_at=None)
    elif number >= MAX_ATTEMPTS:
        outcome.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    finish_attempt(session, delivery, WebhookDelivery.attempts, number, pending, **outcome)
    session.commit()
    session.refresh(delivery)
    return ok


def _post(
    url: str,
    secret: str,
    delivery: WebhookDelivery,
    *,
    at: datetime,
    transport: httpx.BaseTransport | None,
    allow_private: bool,
) -> tuple[int | None, bool, str]:
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        signing.EVENT_HEADER: delivery.event_type,
        **standard.headers(secret, delivery.event_id, at, body),
        **signing.headers(secret, at, body),
    }
    try:
        response = webhook.post(  # within SEND_BOUND
            url, content=body, headers=headers, transport=transport, allow_private=allow_private
        )
    except UNSENDABLE as exc:  # a URL that cannot be sent to is this attempt's failure, not the job's
        return None, False, refusal(None, error=webhook.error_of(exc))
    # Only the status is kept (``HTTP 500``), never the body: a receiver may echo the payload, and with
    # it the customer's name or phone.
    return response.status_code, response.is_success, refusal(response.status_code)


@job(DELIVER_JOB, own_transactions=True)
def deliver(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """First attempt of a delivery, right after the commit that queued it (its own transactions: see
    :func:`attempt`)."""
    delivery = session.get(WebhookDelivery, int(payload["delivery_id"]))
    if delivery is None or delivery.status is not DeliveryStatus.PENDING or delivery.attempts != 0:
        return
    integration = session.get(Integration, delivery.integration_id)
    if integration is not None and of_deleted_organization(session, integration.program_id):
        # Queued before its organization was deleted (and left pending by a deletion without its
        # listeners): failed as the deletion fails it, never sent.
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery.id, WebhookDelivery.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.FAILED, last_error=ORGANIZATION_DELETED, next_attempt_at=None)
        )
        session.commit()
        return
    attempt(session, delivery, at=at)


@job("orders.retry_webhooks", cron={"minute": "*"}, own_transactions=True)
def retry_due(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Retry the failed deliveries whose backoff has passed, and first attempts whose queued job was
    lost (``kit.attempts.FIRST_ATTEMPT_GRACE``), oldest first, 100 per run, each attempt
    claimed and committed before its send (:func:`attempt`)."""
    due = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            due_for_retry(WebhookDelivery.attempts, WebhookDelivery.next_attempt_at, at),
            WebhookDelivery.integration_id.in_(
                select(Integration.id).where(of_live_organization(Integration.program_id))
            ),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(100)
    )
    found = list(due)
    session.commit()
    budget = RunBudget(monotonic)
    for delivery in found:
        if budget.spent():  # the rest stays due: the next run takes it
            log.info("webhook.run_budget_spent")
            break
        attempt(session, delivery, at=at)


@listen(DELETED_EVENT)
def fail_for_deleted_organization(session: Session, event: Event) -> None:
    """Fail every pending delivery of a deleted organization's integrations, in the deletion's
    transaction (one statement): its retries and its first attempts' queued jobs then find nothing."""
    integrations = select(Integration.id).where(
        Integration.program_id.in_(programs_of(int(event.data["organization_id"])))
    )
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.integration_id.in_(integrations), WebhookDelivery.status == DeliveryStatus.PENDING
        )
        .values(status=DeliveryStatus.FAILED, last_error=ORGANIZATION_DELETED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )

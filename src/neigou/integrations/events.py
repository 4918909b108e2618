"""Outbound events (commissions, and a group live code whose groups are all full): a delivery per integration, signed, retried with backoff, logged.

Orders announce commission events (``orders.commission_events``); the listener here turns each into a
delivery per integration of the program, in the order's transaction. Deliveries are signed by the
Standard Webhooks scheme (``standard``; ``webhook-id`` is the event id, the same on every retry, so
receivers deduplicate by it) and by the first scheme as well (``signing``), for receivers built on it.
The first attempt is a job deferred on the session (so nothing is sent if the request rolls back);
failed deliveries are retried by a scheduled job after 30 s, 2 min, 8 min, 32 min, ~2 h and ~8.5 h
(×4 each time), then marked failed. Every attempt is kept in ``webhook_attempts``.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.groups.live_codes import LIVE_CODE_FULL
from neigou.groups.webhook import MAX_DETAIL, READ_DETAIL, UNSENDABLE
from neigou.integrations import signing, standard
from neigou.integrations.models import DeliveryStatus, Integration, WebhookAttempt, WebhookDelivery
from neigou.kit import jobs
from neigou.kit.events import Event, listen
from neigou.kit.jobs import job
from neigou.kit.logging import redact_url
from neigou.orders import commission_events

MAX_ATTEMPTS = 7
FIRST_RETRY_SECONDS = 30
TIMEOUT_SECONDS = 10.0
# Job names predate the integrations package; queued jobs and job keys carry them, so they stay.
DELIVER_JOB = "orders.deliver_webhook"


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failures: 30 s × 4^(attempts − 1)."""
    return timedelta(seconds=FIRST_RETRY_SECONDS * 4 ** max(attempts - 1, 0))


@listen(commission_events.EARNED, commission_events.REVERSED, LIVE_CODE_FULL)
def queue_deliveries(session: Session, event: Event) -> None:
    """Queue a commission event, or a live code's "every group is full", for every integration of its
    program that takes outbound events."""
    targets = list(
        session.scalars(
            select(Integration).where(
                Integration.program_id == event.data["program_id"],
                Integration.active.is_(True),
                Integration.outbound_url.is_not(None),
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


def attempt(
    session: Session, delivery: WebhookDelivery, *, at: datetime, transport: httpx.BaseTransport | None = None
) -> bool:
    """Send one delivery now and log the attempt; True when the receiver took it (2xx)."""
    integration = session.get(Integration, delivery.integration_id)
    if integration is None or not integration.outbound_url:
        delivery.status = DeliveryStatus.FAILED
        return False
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "content-type": "application/json",
        signing.EVENT_HEADER: delivery.event_type,
        **standard.headers(integration.outbound_secret, delivery.event_id, at, body),
        **signing.headers(integration.outbound_secret, at, body),
    }
    status: int | None = None
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as client:
            response = client.post(integration.outbound_url, content=body, headers=headers)
        status, ok, detail = response.status_code, response.is_success, response.text[:READ_DETAIL]
    except UNSENDABLE as exc:  # a URL that cannot be sent to is this attempt's failure, not the job's
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:READ_DETAIL]
    # A token in the receiver's URL never reaches the attempt log or the API's last_error.
    detail = redact_url(detail, integration.outbound_url)[:MAX_DETAIL]
    delivery.attempts += 1
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id, number=delivery.attempts, at=at, http_status=status, ok=ok, detail=detail
        )
    )
    delivery.last_http_status, delivery.last_error = status, None if ok else detail
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, at, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delivery.next_attempt_at = at + backoff(delivery.attempts)
    session.flush()
    return ok


@job(DELIVER_JOB)
def deliver(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """First attempt of a delivery, right after the commit that queued it."""
    delivery = session.get(WebhookDelivery, int(payload["delivery_id"]))
    if delivery is not None and delivery.status is DeliveryStatus.PENDING and delivery.attempts == 0:
        attempt(session, delivery, at=at)


@job("orders.retry_webhooks", cron={"minute": "*"})
def retry_due(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Retry the failed deliveries whose backoff has passed (oldest first, 100 per run)."""
    due = session.scalars(
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts > 0,
            WebhookDelivery.next_attempt_at <= at,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(100)
    )
    for delivery in list(due):
        attempt(session, delivery, at=at)

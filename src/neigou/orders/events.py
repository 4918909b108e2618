"""Outbound commission events: a delivery per integration, signed, retried with backoff, logged.

The first attempt is a job deferred on the session (so nothing is sent if the request rolls back);
failed deliveries are retried by a scheduled job after 30 s, 2 min, 8 min, 32 min, ~2 h and ~8.5 h
(×4 each time), then marked failed. Every attempt is kept in ``webhook_attempts``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.kit import jobs
from neigou.kit.jobs import job
from neigou.orders import signing
from neigou.orders.models import (
    Commission,
    DeliveryStatus,
    Integration,
    Order,
    WebhookAttempt,
    WebhookDelivery,
)

MAX_ATTEMPTS = 7
FIRST_RETRY_SECONDS = 30
TIMEOUT_SECONDS = 10.0
DELIVER_JOB = "orders.deliver_webhook"


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after ``attempts`` failures: 30 s × 4^(attempts − 1)."""
    return timedelta(seconds=FIRST_RETRY_SECONDS * 4 ** max(attempts - 1, 0))


def order_event(
    session: Session,
    order: Order,
    event_type: str,
    rows: Sequence[Commission],
    *,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """Queue ``event_type`` about an order's commission for every integration of its program."""
    targets = list(
        session.scalars(
            select(Integration).where(
                Integration.program_id == order.program_id,
                Integration.active.is_(True),
                Integration.outbound_url.is_not(None),
            )
        )
    )
    if not targets:
        return
    data = {
        "order_id": order.id,
        "external_id": order.external_id,
        "program_id": order.program_id,
        "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen,
        "commissions": [
            {
                "member_id": c.member_id,
                "level": c.level,
                "amount_fen": c.amount_fen,
                "reversed_fen": c.reversed_fen,
            }
            for c in rows
        ],
        **(extra or {}),
    }
    for integration in targets:
        event_id = f"evt_{uuid.uuid4().hex}"
        delivery = WebhookDelivery(
            integration_id=integration.id,
            event_id=event_id,
            event_type=event_type,
            payload={"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": data},
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=at,
            created_at=at,
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
        **signing.headers(integration.outbound_secret, at, body),
    }
    status: int | None = None
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as client:
            response = client.post(integration.outbound_url, content=body, headers=headers)
        status, ok, detail = response.status_code, response.is_success, response.text[:500]
    except httpx.HTTPError as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:500]
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

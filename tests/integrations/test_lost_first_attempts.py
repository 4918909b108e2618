"""A delivery whose queued first attempt never ran (its enqueue failed, or a worker died holding its
key) is sent by the minute's retries once ``FIRST_ATTEMPT_GRACE`` has passed, and every send is
signed with the time it goes out, not the time its run began."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import events, standard
from neigou.integrations.models import DeliveryStatus, WebhookDelivery
from neigou.kit import jobs
from neigou.kit.attempts import FIRST_ATTEMPT_GRACE
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.settings import use_settings
from tests.feed.conftest import app_settings
from tests.integrations.test_webhooks import Receiver, _integration
from tests.orders.builders import build, order_body

pytestmark = pytest.mark.local_receivers  # its receiver listens on 127.0.0.1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _lose(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Queue every job but ``name``, as if its enqueue had failed."""
    queue = jobs.defer

    def defer(session: Session, job: str, *, key: str, payload: dict[str, Any] | None = None) -> None:
        if job != name:
            queue(session, job, key=key, payload=payload)

    monkeypatch.setattr(jobs, "defer", defer)


def _retry(client: TestClient, factory: sessionmaker[Session], at: Any) -> None:
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        events.retry_due(session, {}, at)


def test_a_first_attempt_whose_job_was_lost_is_sent_by_the_retries(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory)
    _integration(client, operator, w, receiver.url)
    _lose(monkeypatch, events.DELIVER_JOB)
    assert client.post("/api/v1/orders", json=order_body(w, "LOST-1"), headers=operator).status_code == 201
    assert receiver.received == []
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 0)
        due = delivery.next_attempt_at
        assert due is not None

    _retry(client, factory, due + FIRST_ATTEMPT_GRACE - timedelta(seconds=1))  # its job may still come
    assert receiver.received == []
    _retry(client, factory, due + FIRST_ATTEMPT_GRACE)
    _retry(client, factory, due + FIRST_ATTEMPT_GRACE)  # a second run finds it sent
    assert len(receiver.received) == 1
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_a_send_is_signed_when_it_goes_out_not_when_its_run_began(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory)
    shop = _integration(client, operator, w, receiver.url)
    _lose(monkeypatch, events.DELIVER_JOB)
    client.post("/api/v1/orders", json=order_body(w, "LATE-1"), headers=operator)
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    # A run that began 20 minutes ago (a slow receiver ahead of this delivery) reaches it only now.
    began = utcnow() - timedelta(minutes=20)
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        pending = session.get(WebhookDelivery, delivery.id)
        assert pending is not None
        assert events.attempt(session, pending, at=began)
    headers, body = receiver.received[0]
    assert abs(int(headers[standard.TIMESTAMP_HEADER]) - utcnow().timestamp()) < 60
    verified = standard.verify(
        shop["outbound_secret"],
        message_id=headers[standard.ID_HEADER],
        timestamp=headers[standard.TIMESTAMP_HEADER],
        signed=headers[standard.SIGNATURE_HEADER],
        body=body,
        now=utcnow(),
    )
    assert verified[0] == "ok", verified
    with factory() as session:
        sent = session.get(WebhookDelivery, delivery.id)
        assert sent is not None
        assert sent.delivered_at is not None
        assert sent.delivered_at > began + timedelta(minutes=19)

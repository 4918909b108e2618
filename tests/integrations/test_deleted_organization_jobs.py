"""A first attempt queued before its organization was deleted asks again right before it sends, and sends
nothing: a commission event's delivery is failed with ``organization_deleted`` (as the deletion fails it),
a program's daily group alert is not built. Whichever way the organization was deleted: here without its
listeners (a row deleted before the rule, or by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups import alerts
from neigou.groups.models import AlertDelivery
from neigou.integrations import events
from neigou.integrations.models import DeliveryStatus, WebhookDelivery
from neigou.kit.db import transaction
from neigou.kit.settings import use_settings
from neigou.organizations.models import Organization
from neigou.programs.models import Program
from tests.feed.conftest import app_settings
from tests.integrations.test_webhooks import Receiver
from tests.orders.builders import build

pytestmark = pytest.mark.local_receivers  # the receiver listens on 127.0.0.1


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _deleted(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], program_id: int
) -> None:
    """The program moved to an organization of its own, deleted without its listeners."""
    made = client.post("/api/v1/organizations", json={"code": "leaving", "name": "leaving"}, headers=operator)
    assert made.status_code == 201, made.text
    with transaction(factory) as session:
        session.execute(
            update(Program).where(Program.id == program_id).values(organization_id=made.json()["id"])
        )
        session.execute(
            update(Organization)
            .where(Organization.id == made.json()["id"])
            .values(deleted_at=datetime.now(UTC))
        )


def test_a_queued_first_delivery_of_a_deleted_organization_is_failed_unsent(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], receiver: Receiver
) -> None:
    w = build(client, operator, factory)
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations",
        json={"name": "品牌商城", "outbound_url": receiver.url},
        headers=operator,
    )
    assert shop.status_code == 201, shop.text
    now = datetime.now(UTC)
    with transaction(factory) as session:
        delivery = WebhookDelivery(
            integration_id=shop.json()["id"],
            event_id="evt_queued_before",
            event_type="commission.earned",
            payload={"id": "evt_queued_before"},
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(delivery)
        session.flush()
        delivery_id = delivery.id
    _deleted(client, operator, factory, w.program_id)
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        events.deliver(session, {"delivery_id": delivery_id}, now)
    assert receiver.received == []
    with factory() as session:
        row = session.get_one(WebhookDelivery, delivery_id)
        assert (row.status, row.last_error, row.attempts) == (
            DeliveryStatus.FAILED,
            "organization_deleted",
            0,
        )


def test_a_queued_group_alert_of_a_deleted_organization_is_not_built(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    _deleted(client, operator, factory, w.program_id)
    day = datetime.now(UTC).date() - timedelta(days=1)
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        alerts.send_alert(session, {"program_id": w.program_id, "date": day.isoformat()}, datetime.now(UTC))
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(AlertDelivery)) == 0

"""A deleted organization sends nothing more: every outbound due-query leaves its programs out, and its
deletion fails what waited to go out (push messages, webhook deliveries, robot posts) with
``organization_deleted``, in the deletion's transaction."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import MessageStatus, PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import due_messages
from neigou.feed import repository as feed_repo
from neigou.feed.models import Delivery, GroupPost, PostStatus, Slot
from neigou.integrations import events
from neigou.integrations.models import DeliveryStatus, Integration, WebhookDelivery
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.organizations.models import Organization
from neigou.programs.models import Program
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push, send_through

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
HOOK = "https://crm.brand.example/neigou/pushes"


@pytest.fixture(scope="module")
def world(world: PushWorld, module_client: TestClient, module_operator: dict[str, str]) -> PushWorld:
    """The push world, its pushes sent to a webhook."""
    return send_through(module_client, module_operator, world, "webhook", HOOK)


def _waiting(client: TestClient, factory: sessionmaker[Session], world: PushWorld) -> tuple[int, int, int]:
    """A message, a webhook delivery and a robot post, each due at ``AT``: their ids."""
    message_id = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])["messages"][0]["id"]
    with transaction(factory) as session:
        integration = Integration(
            program_id=world.feed.program_id,
            name="shop",
            inbound_secret_sealed="x",
            outbound_secret_sealed="x",
            created_at=AT,
        )
        session.add(integration)
        session.flush()
        delivery = WebhookDelivery(
            integration_id=integration.id,
            event_id="evt_leaving",
            event_type="commission.earned",
            payload={},
            status=DeliveryStatus.PENDING,
            attempts=1,
            next_attempt_at=AT - timedelta(minutes=1),
            created_at=AT - timedelta(minutes=2),
        )
        post = GroupPost(
            program_id=world.feed.program_id,
            member_id=world.feed.owner,
            group_id=world.feed.groups[0],
            text="早上好",
            slot=Slot.NOW,
            scheduled_at=AT,
            delivery=Delivery.ROBOT,
            status=PostStatus.SCHEDULED,
            attempts=0,
            created_at=AT,
        )
        session.add_all([delivery, post])
        session.flush()
        return int(message_id), delivery.id, post.id


def _leaving(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> int:
    """The program moved to an organization of its own (the default one is never deleted): its id."""
    made = client.post("/api/v1/organizations", json={"code": "leaving", "name": "leaving"}, headers=operator)
    assert made.status_code == 201, made.text
    with transaction(factory) as session:
        session.execute(
            update(Program)
            .where(Program.id == world.feed.program_id)
            .values(organization_id=made.json()["id"])
        )
    return int(made.json()["id"])


def test_no_due_query_takes_a_deleted_organizations_rows(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    _waiting(client, factory, world)
    organization_id = _leaving(client, operator, factory, world)
    with transaction(factory) as session:
        assert len(due_messages(session, AT)) == 1
        assert len(feed_repo.due_posts(session, AT)) == 1
        # Deleted without its listeners (a row deleted before this rule, or any other way).
        session.execute(
            update(Organization)
            .where(Organization.id == organization_id)
            .values(deleted_at=AT - timedelta(hours=1))
        )
    sent: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    transport = httpx.MockTransport(receiver)
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        assert due_messages(session, AT) == []
        assert feed_repo.due_posts(session, AT) == []
        assert deliver_due(session, at=AT, settings=running, transport=transport) == []
        events.retry_due(session, {}, AT)
        assert list(session.scalars(select(WebhookDelivery.attempts))) == [1]
    assert sent == []


def test_deleting_an_organization_fails_what_waits_to_go_out(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    message_id, delivery_id, post_id = _waiting(client, factory, world)
    organization_id = _leaving(client, operator, factory, world)
    response = client.delete(f"/api/v1/organizations/{organization_id}", headers=operator)
    assert response.status_code == 200, response.text
    with transaction(factory) as session:
        message = session.get(PushMessage, message_id)
        delivery = session.get(WebhookDelivery, delivery_id)
        post = session.get(GroupPost, post_id)
        assert message is not None
        assert delivery is not None
        assert post is not None
        assert (message.status, message.last_error) == (MessageStatus.FAILED, "organization_deleted")
        assert (delivery.status, delivery.last_error) == (DeliveryStatus.FAILED, "organization_deleted")
        assert (post.status, post.detail) == (PostStatus.FAILED, "organization_deleted")

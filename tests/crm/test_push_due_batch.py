"""The delivery run's batch holds only messages whose next attempt has come: messages still waiting for
their retry's backoff (however many, however early their send time) never fill it and hold back a due
message behind them. The query's idea of "due" is ``next_attempt_at``'s, to the microsecond."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm.models import PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.crm.push_due import (
    BATCH,
    MAX_ATTEMPTS,
    SENDING_LEASE,
    due_messages,
    next_attempt_at,
)
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push, send_through

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
HOOK = "https://crm.brand.example/neigou/pushes"


@pytest.fixture(scope="module")
def world(world: PushWorld, module_client: TestClient, module_operator: dict[str, str]) -> PushWorld:
    """The CRM tests' push world (``tests/crm/conftest.py``), its pushes sent to a webhook."""
    return send_through(module_client, module_operator, world, "webhook", HOOK)


def _copies(message: PushMessage, count: int, **values: object) -> list[PushMessage]:
    """``count`` more messages of the same push, customer and sku, with ``values`` changed."""
    fields = {
        "push_id": message.push_id,
        "program_id": message.program_id,
        "member_id": message.member_id,
        "customer_id": message.customer_id,
        "sku": message.sku,
        "text": message.text,
        "link_id": message.link_id,
        "send_at": message.send_at,
        "attempts": 0,
    }
    return [PushMessage(**{**fields, **values}) for _ in range(count)]


def test_messages_waiting_for_their_retry_do_not_hold_back_a_due_one(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    """More than a batch of messages that failed once, due before the new message but still in their
    backoff (30 s), and a few claimed by a run still sending them: the new message goes out."""
    made = push(client, world, customer_ids=[world.li], skus=[fb.TEE])
    due_id = made["messages"][0]["id"]
    with transaction(factory) as session:
        due = session.get(PushMessage, due_id)
        assert due is not None
        waiting = _copies(due, BATCH + 10, send_at=AT - timedelta(seconds=20), attempts=1)
        sending = _copies(
            due, 5, send_at=AT - timedelta(hours=1), sent_at=AT - timedelta(minutes=1), attempts=1
        )
        session.add_all([*waiting, *sending])
    sent: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        done = deliver_due(session, at=AT, settings=running, transport=httpx.MockTransport(hook))
        assert [(m.id, m.status.value) for m in done] == [(due_id, "sent")]
    assert len(sent) == 1
    with factory() as session:  # the waiting ones were left alone, to their own time
        left = session.scalars(select(PushMessage.attempts).where(PushMessage.id != due_id)).all()
    assert set(left) == {1}
    with transaction(factory) as session:  # once their backoff is over, they are due (a batch at a time)
        assert len(due_messages(session, AT + timedelta(seconds=10))) == BATCH


@pytest.mark.parametrize("attempts", range(MAX_ATTEMPTS + 1))
def test_the_query_is_due_exactly_when_the_next_attempt_has_come(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, attempts: int
) -> None:
    made = push(client, world, customer_ids=[world.li], skus=[fb.TEE])
    with transaction(factory) as session:
        message = session.get(PushMessage, made["messages"][0]["id"])
        assert message is not None
        message.attempts = attempts
        session.flush()
        moment = next_attempt_at(message)
        assert due_messages(session, moment - timedelta(microseconds=1)) == []
        assert [m.id for m, _, _ in due_messages(session, moment)] == [message.id]
        message.sent_at = moment  # claimed by a run at that moment: its lease comes first
        session.flush()
        assert due_messages(session, moment + SENDING_LEASE - timedelta(microseconds=1)) == []
        assert [m.id for m, _, _ in due_messages(session, moment + SENDING_LEASE)] == [message.id]

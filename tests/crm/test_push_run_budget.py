"""A delivery run claims new messages for ``kit.attempts.RUN_BUDGET_SECONDS`` only: a slow receiver never
holds a job worker for the whole batch; what is left stays due, and the next run sends it."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery
from neigou.crm.models import PushMessage
from neigou.kit.attempts import RUN_BUDGET_SECONDS
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push, send_through

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
HOOK = "https://crm.brand.example/neigou/pushes"


@pytest.fixture(scope="module")
def world(world: PushWorld, module_client: TestClient, module_operator: dict[str, str]) -> PushWorld:
    """The push world, its pushes sent to a webhook."""
    return send_through(module_client, module_operator, world, "webhook", HOOK)


def test_a_slow_receiver_stops_the_run_at_its_budget_and_the_next_run_goes_on(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE, fb.SHAMPOO])
    clock = [1000.0]
    monkeypatch.setattr(push_delivery, "monotonic", lambda: clock[0], raising=False)
    step = RUN_BUDGET_SECONDS * 2 / 3  # each send takes two thirds of the budget: two fit in a run

    def slow(_request: httpx.Request) -> httpx.Response:
        clock[0] += step
        return httpx.Response(200)

    transport = httpx.MockTransport(slow)
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        first = push_delivery.deliver_due(session, at=AT, settings=running, transport=transport)
        assert [m.status.value for m in first] == ["sent", "sent"]
        left = list(session.scalars(select(PushMessage.attempts).where(PushMessage.sent_at.is_(None))))
        assert left == [0, 0]  # never claimed: no attempt taken
        second = push_delivery.deliver_due(session, at=AT, settings=running, transport=transport)
        assert [m.status.value for m in second] == ["sent", "sent"]
        assert push_delivery.deliver_due(session, at=AT, settings=running, transport=transport) == []

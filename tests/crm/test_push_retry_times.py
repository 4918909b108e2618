"""A retry under the same Idempotency-Key is compared with the time its push was asked for (``due_at``),
never with its messages' ``send_at`` through the program's quiet hours as they are now: a retry after
the quiet hours changed, or after delivery held the messages back, is the same push (201, as the first
answer, nothing written), and a retry asking for another time is still refused (409). A push stored
before migration 0056 kept no asked time (``due_at`` null) and is compared as it was then: a retry with
its original ``at``, or a double submit without one, made inside quiet hours is the same push."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_endpoints
from neigou.crm.models import Push, PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.conftest import row_counts
from tests.crm.push_builders import AT, PushWorld, push

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
NIGHT = AT + timedelta(hours=11)  # 23:00 in Shanghai, inside the default quiet hours 22:00-08:00
MORNING = AT + timedelta(hours=20)  # 08:00 in Shanghai the next day, when those hours end
EVENING = AT + timedelta(days=1, hours=9)  # 21:00 in Shanghai the next day, outside them
WEBHOOK = "https://hooks.example.com/crm"


def _settings(client: TestClient, operator: dict[str, str], world: PushWorld, **body: Any) -> None:
    path = f"/api/v1/programs/{world.feed.program_id}/crm/settings"
    response = client.put(path, json=body, headers=operator)
    assert response.status_code == 200, response.text


@pytest.fixture
def default_settings(client: TestClient, operator: dict[str, str], world: PushWorld) -> Iterator[None]:
    """The module's program back on its default settings after the test changed them."""
    yield
    _settings(client, operator, world, channel="task", target="")


def test_a_retry_after_quiet_hours_changed_is_the_same_push(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    default_settings: None,
) -> None:
    key = {**world.feed.owner_headers, "Idempotency-Key": "retry-quiet-1"}
    terms: dict[str, Any] = {"headers": key, "customer_ids": [world.wang], "skus": [fb.TEE]}
    first = push(client, world, at=NIGHT.isoformat(), **terms)
    assert first["messages"][0]["send_at"] == "2026-03-25T00:00:00Z"  # held to 08:00
    _settings(client, operator, world, quiet_start="23:30", quiet_end="07:00")  # 23:00 no longer quiet
    before = row_counts(factory)

    assert push(client, world, at=NIGHT.isoformat(), **terms) == first
    # Another time is another push, also one the quiet hours of the push's making held to the same end.
    for other in ((NIGHT + timedelta(minutes=30)).isoformat(), MORNING.isoformat(), None):
        refused = push(client, world, 409, at=other, **terms)
        assert refused["code"] == "idempotency_key_reused"
    assert row_counts(factory) == before


def test_a_retry_after_delivery_held_the_messages_back_is_the_same_push(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    default_settings: None,
) -> None:
    _settings(client, operator, world, channel="webhook", target=WEBHOOK)
    key = {**world.feed.owner_headers, "Idempotency-Key": "retry-held-1"}
    terms: dict[str, Any] = {
        "headers": key,
        "customer_ids": [world.li],
        "skus": [fb.SHAMPOO],
        "at": EVENING.isoformat(),
    }
    first = push(client, world, **terms)
    assert first["messages"][0]["send_at"] == "2026-03-25T13:00:00Z"  # 21:00, not quiet when pushed

    # Quiet hours widened to 20:00 before it was due: delivery holds it to 08:00, sending nothing.
    _settings(client, operator, world, channel="webhook", quiet_start="20:00", quiet_end="08:00")

    def unexpected(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing is sent inside quiet hours")

    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        held = deliver_due(session, at=EVENING, settings=running, transport=httpx.MockTransport(unexpected))
        assert held == []
        message = session.get(PushMessage, first["messages"][0]["id"])
        assert message is not None
        assert message.send_at == EVENING + timedelta(hours=11)  # 08:00 the day after
    _settings(client, operator, world, channel="webhook", quiet_start="22:00", quiet_end="08:00")
    before = row_counts(factory)

    again = push(client, world, **terms)
    assert (again["id"], [m["id"] for m in again["messages"]]) == (
        first["id"],
        [m["id"] for m in first["messages"]],
    )
    assert again["messages"][0]["send_at"] == "2026-03-26T00:00:00Z"  # as delivery left it
    refused = push(client, world, 409, **{**terms, "at": (EVENING + timedelta(hours=1)).isoformat()})
    assert refused["code"] == "idempotency_key_reused"
    assert row_counts(factory) == before


def _stored_before_0056(factory: sessionmaker[Session], push_id: int) -> None:
    """The push as one stored before migration 0056 stands: no asked time (it fills none in)."""
    with transaction(factory) as session:
        stored = session.get(Push, push_id)
        assert stored is not None
        stored.due_at = None


def test_a_push_stored_before_0056_is_compared_as_then(
    client: TestClient,
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Made inside quiet hours: dated 23:00, and (a workspace double submit) made at 23:00 without ``at``.
    dated = {**world.feed.owner_headers, "Idempotency-Key": "retry-legacy-dated"}
    dated_terms: dict[str, Any] = {"headers": dated, "customer_ids": [world.wang], "skus": [fb.TEE]}
    first_dated = push(client, world, at=NIGHT.isoformat(), **dated_terms)
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: NIGHT)
    now = {**world.feed.owner_headers, "Idempotency-Key": "retry-legacy-now"}
    now_terms: dict[str, Any] = {"headers": now, "customer_ids": [world.li], "skus": [fb.SHAMPOO]}
    first_now = push(client, world, at=None, **now_terms)
    skipped = {**world.feed.owner_headers, "Idempotency-Key": "retry-legacy-skipped"}
    skipped_terms: dict[str, Any] = {"headers": skipped, "customer_ids": [world.zhao], "skus": [fb.TEE]}
    first_skipped = push(client, world, **skipped_terms)
    for first in (first_dated, first_now):
        assert [m["send_at"] for m in first["messages"]] == ["2026-03-25T00:00:00Z"]  # held to 08:00
    assert first_skipped["messages"] == []
    for first in (first_dated, first_now, first_skipped):
        _stored_before_0056(factory, first["id"])
    before = row_counts(factory)

    assert push(client, world, at=NIGHT.isoformat(), **dated_terms) == first_dated
    assert push(client, world, at=None, **now_terms) == first_now
    # Another time, one the quiet hours do not hold to 08:00, is another push, as it was then.
    for terms in (dated_terms, now_terms):
        for other in (EVENING.isoformat(), (MORNING + timedelta(hours=1)).isoformat()):
            refused = push(client, world, 409, at=other, **terms)
            assert refused["code"] == "idempotency_key_reused"
    # A push whose every customer was skipped stored no time: any time is the same push.
    assert push(client, world, **{**skipped_terms, "at": EVENING.isoformat()}) == first_skipped
    assert row_counts(factory) == before

"""A push dated in the past (``at`` before now) goes out now, so it is judged now: the frequency cap
and the quiet hours hold at the moment the messages really reach the customer, and the messages are
stored as due now, where later pushes count them. Backdating pushes never gets more messages to a
customer inside the cap's window than the cap allows."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery, push_endpoints
from neigou.crm.models import PushMessage
from neigou.crm.push_delivery import deliver_due
from neigou.kit.clock import as_utc, not_before_now
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.links.models import ShareLink
from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push

pytestmark = pytest.mark.world_per_module
NOW = AT + timedelta(days=28)  # noon in Shanghai, four weeks after the world's day
HOOK = "https://crm.brand.example/neigou/pushes"


def _now(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    """The endpoints' and the delivery's clock at ``at``: a delivery run never sends before the real now
    (``kit.clock.not_before_now``), and the real time of day would fall in the program's quiet hours."""
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: at)
    monkeypatch.setattr(push_delivery, "not_before_now", functools.partial(not_before_now, now=at))


def _settings(client: TestClient, operator: dict[str, str], world: PushWorld, **body: Any) -> None:
    path = f"/api/v1/programs/{world.feed.program_id}/crm/settings"
    assert client.put(path, json=body, headers=operator).status_code == 200


def _send_at(made: dict[str, Any]) -> set[str]:
    return {m["send_at"] for m in made["messages"]}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(("cap_pushes", "cap_days"), [(2, 7), (1, 1)])
def test_backdated_pushes_cannot_get_past_the_cap(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
    cap_pushes: int,
    cap_days: int,
) -> None:
    """Each push dated one cap window before the last: each would pass the cap at its own past time
    (every window held one), yet all would go out now. Judged now, only ``cap_pushes`` reach the customer."""
    _now(monkeypatch, NOW)
    _settings(
        client, operator, world, channel="webhook", target=HOOK, cap_pushes=cap_pushes, cap_days=cap_days
    )
    answers = []
    for n in range(1, cap_pushes + 3):
        at = NOW - timedelta(days=cap_days * n)
        answers.append(push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=at.isoformat()))
    reached = [a for a in answers if a["messages"]]
    assert len(reached) == cap_pushes
    assert all(_send_at(a) == {_iso(NOW)} for a in reached)  # due now, when they really go out
    assert [a["skipped"] for a in answers[cap_pushes:]] == [
        [{"customer_id": world.wang, "reason": "frequency_cap"}]
    ] * 2
    sent: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(204)

    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    with transaction(factory) as session:
        done = deliver_due(session, at=NOW, settings=running, transport=httpx.MockTransport(hook))
    assert [m.customer_id for m in done] == [world.wang] * cap_pushes
    assert len(sent) == cap_pushes  # what reached the customer inside the window, counted at real time


def test_a_push_dated_before_one_sent_now_counts_now(
    client: TestClient, world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push now, then pushes dated a week and two weeks back: the cap (2 in 7 days) sees them all now."""
    _now(monkeypatch, NOW)
    assert push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=NOW.isoformat())["skipped"] == []
    week = push(
        client, world, customer_ids=[world.wang], skus=[fb.TEE], at=(NOW - timedelta(days=7)).isoformat()
    )
    assert (week["skipped"], _send_at(week)) == ([], {_iso(NOW)})
    fortnight = push(
        client, world, customer_ids=[world.wang], skus=[fb.TEE], at=(NOW - timedelta(days=14)).isoformat()
    )
    assert fortnight["skipped"] == [{"customer_id": world.wang, "reason": "frequency_cap"}]


def test_a_backdated_push_made_in_the_quiet_hours_waits_for_their_end(
    client: TestClient, world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dated at noon, made at 23:00 (Shanghai): it goes out at 08:00 the next morning, not at once."""
    _now(monkeypatch, NOW + timedelta(hours=11))
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=NOW.isoformat())
    assert _send_at(made) == {_iso(NOW + timedelta(hours=20))}


def test_a_push_stored_with_a_past_send_time_counts_when_it_was_made(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message written with its past ``at`` as its send time (before a past ``at`` meant now) went out
    when its push was made: the cap counts it then, not at the past time it carries."""
    _now(monkeypatch, NOW)
    old = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=NOW.isoformat())
    with transaction(factory) as session:
        session.execute(
            update(PushMessage)
            .where(PushMessage.push_id == old["id"])
            .values(send_at=NOW - timedelta(days=30))
        )
    second = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=NOW.isoformat())
    assert second["skipped"] == []
    third = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE], at=NOW.isoformat())
    assert third["skipped"] == [{"customer_id": world.wang, "reason": "frequency_cap"}]
    with factory() as session:
        stored = session.scalars(select(PushMessage.send_at).where(PushMessage.push_id == old["id"])).one()
    assert as_utc(stored) == NOW - timedelta(days=30)  # the row itself is left as it was


def test_a_later_at_still_schedules_the_push(
    client: TestClient, world: PushWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _now(monkeypatch, NOW)
    later = NOW + timedelta(days=3)
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=later.isoformat())
    assert _send_at(made) == {_iso(later)}


def test_a_backdated_push_carries_the_prices_of_now(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dated inside a campaign that has since ended: the messages go out now, so they carry today's
    price and no link to the ended campaign or its hidden coupon."""
    _now(monkeypatch, NOW)
    _settings(client, operator, world, channel="webhook", target=HOOK, cap_pushes=50, cap_days=1)
    during = AT + timedelta(days=1)  # the world's campaign runs from AT - 1 day to AT + 10 days
    made = push(client, world, customer_ids=[world.li], skus=[fb.SHAMPOO], at=during.isoformat())
    assert made["skipped"] == []
    (message,) = made["messages"]
    assert "群内价" not in message["text"]
    assert "¥49.90" in message["text"]
    with factory() as session:
        link = session.scalars(select(ShareLink).where(ShareLink.code == message["link_code"])).one()
    assert (link.campaign_id, link.coupon_id) == (None, None)

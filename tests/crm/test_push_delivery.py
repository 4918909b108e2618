"""Push settings and delivery: the WeCom robot and the signed webhook, retried with backoff, and the
task list left to the salesperson."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_settings
from neigou.crm.push_delivery import UNSIGNABLE, deliver_due
from neigou.crm.push_due import MAX_ATTEMPTS
from neigou.integrations import signing, standard
from neigou.kit.db import transaction
from neigou.kit.sealed import Sealer
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.conftest import row_counts
from tests.crm.push_builders import AT, PushWorld, in_robot_group, push

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]
ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
HOOK = "https://crm.brand.example/neigou/pushes"


def _settings(
    client: TestClient, operator: dict[str, str], world: PushWorld, status: int = 200, **body: Any
) -> Any:
    response = client.put(
        f"/api/v1/programs/{world.feed.program_id}/crm/settings", json=body, headers=operator
    )
    assert response.status_code == status, response.text
    return response.json()


def _running(client: TestClient) -> Settings:
    running: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return running


def test_defaults_and_a_masked_target(client: TestClient, operator: dict[str, str], world: PushWorld) -> None:
    path = f"/api/v1/programs/{world.feed.program_id}/crm/settings"
    assert client.get(path, headers=operator).json() == {
        "program_id": world.feed.program_id,
        "channel": "task",
        "cap_pushes": 2,
        "cap_days": 7,
        "quiet_start": "22:00:00",
        "quiet_end": "08:00:00",
        "target_masked": None,
        "webhook_secret": None,
    }
    saved = _settings(client, operator, world, channel="task", target=ROBOT, cap_pushes=3)
    assert saved["target_masked"] == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…"
    assert "abc-123" not in client.get(path, headers=operator).text


def test_refused_settings_change_nothing(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    before = row_counts(factory)
    assert _settings(client, operator, world, 422, channel="webhook")["code"] == "target_required"
    assert _settings(client, operator, world, 422, cap_pushes=0)["code"] == "validation_error"
    assert _settings(client, operator, world, 422, quiet_start="22:00:30")["code"] == "validation_error"
    assert (
        _settings(client, operator, world, 422, channel="webhook", target="ftp://x")["code"]
        == "validation_error"
    )
    assert row_counts(factory) == before


def test_the_robot_channel_refuses_a_target(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    """A robot message goes only to its customer's own group's robot: a target sent with that channel
    would never be used, so it is refused (in the reader's language), and nothing changes; "" still
    removes a stored one."""
    path = f"/api/v1/programs/{world.feed.program_id}/crm/settings"
    before_settings = client.get(path, headers=operator).json()
    before = row_counts(factory)
    body = {"channel": "wecom_robot", "target": ROBOT}
    # Who may change the settings is judged first: the refusal is told to an operator only.
    assert client.put(path, json=body).status_code == 401
    assert client.put(path, json=body, headers=world.feed.owner_headers).status_code == 403
    for lang, words in (("en", "takes no target URL"), ("zh-CN", "不使用目标地址")):
        refused = client.put(path, json=body, headers={**operator, "Accept-Language": lang})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "target_not_for_robot"
        assert words in refused.json()["detail"]
        assert "abc-123" not in refused.text  # the typed URL is never quoted back
    assert row_counts(factory) == before
    assert client.get(path, headers=operator).json() == before_settings
    assert _settings(client, operator, world, channel="wecom_robot", target="")["target_masked"] is None


def test_the_robot_sends_when_the_time_comes_and_retries_with_backoff(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    _settings(client, operator, world, channel="wecom_robot")
    in_robot_group(client, factory, world, ROBOT)  # the robot of the customers' own group
    night = AT + timedelta(hours=11)  # 23:00 in Shanghai: sent at 08:00
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE], at=night.isoformat())
    morning = AT + timedelta(hours=20)
    answers = iter(
        [httpx.Response(500, text="busy"), httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})]
    )
    sent: list[httpx.Request] = []

    def robot(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return next(answers)

    transport = httpx.MockTransport(robot)
    with transaction(factory) as session:
        assert (
            deliver_due(
                session, at=morning - timedelta(minutes=1), settings=_running(client), transport=transport
            )
            == []
        )
        failed = deliver_due(session, at=morning, settings=_running(client), transport=transport)
        assert [(m.status.value, m.attempts, m.last_error) for m in failed] == [("pending", 1, "HTTP 500")]
        assert (
            deliver_due(
                session, at=morning + timedelta(seconds=29), settings=_running(client), transport=transport
            )
            == []
        )
        done = deliver_due(
            session, at=morning + timedelta(seconds=30), settings=_running(client), transport=transport
        )
        assert [(m.status.value, m.attempts, m.sent_at) for m in done] == [
            ("sent", 2, morning + timedelta(seconds=30))
        ]
    assert str(sent[0].url) == ROBOT
    assert json.loads(sent[0].content)["markdown"]["content"] == made["messages"][0]["text"]
    report = client.get(f"/api/v1/pushes/{made['id']}", headers=world.feed.owner_headers).json()
    assert report["sent"] == 1


def test_a_robot_that_keeps_refusing_fails_the_message(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    _settings(client, operator, world, channel="wecom_robot")
    in_robot_group(client, factory, world, ROBOT)  # the robot of the customers' own group
    push(client, world, customer_ids=[world.li], skus=[fb.TEE])
    transport = httpx.MockTransport(
        lambda _: httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid key"})
    )
    with transaction(factory) as session:
        for n in range(MAX_ATTEMPTS):
            done = deliver_due(
                session,
                at=AT + timedelta(days=1, minutes=n * 60),
                settings=_running(client),
                transport=transport,
            )
            assert len(done) == 1
        assert (done[0].status.value, done[0].attempts, done[0].last_error) == (
            "failed",
            MAX_ATTEMPTS,
            "HTTP 200 errcode 93000",
        )
        assert (
            deliver_due(session, at=AT + timedelta(days=2), settings=_running(client), transport=transport)
            == []
        )


def test_the_webhook_is_signed_and_names_the_message(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    saved = _settings(client, operator, world, channel="webhook", target=HOOK)
    secret = saved["webhook_secret"]
    assert secret.startswith("whsec_")
    again = _settings(client, operator, world, channel="webhook")
    assert (again["webhook_secret"], again["target_masked"]) == (None, HOOK)  # shown once; the target kept
    made = push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    received: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(204)

    with transaction(factory) as session:
        done = deliver_due(session, at=AT, settings=_running(client), transport=httpx.MockTransport(hook))
        assert [m.status.value for m in done] == ["sent"]
    request = received[0]
    message = made["messages"][0]
    body = json.loads(request.content)
    assert body["id"] == f"pmsg_{message['id']}"
    assert body["type"] == "crm.push_message"
    assert body["data"]["customer_id"] == world.wang
    assert body["data"]["text"] == message["text"]
    assert body["data"]["link_url"].endswith(f"/l/{message['link_code']}")
    signed = standard.headers(secret, body["id"], AT, request.content)
    assert {k: request.headers[k] for k in signed} == signed
    first_scheme = signing.verify(
        secret,
        timestamp=request.headers[signing.TIMESTAMP_HEADER],
        signed=request.headers[signing.SIGNATURE_HEADER],
        body=request.content,
        now=AT,
    )
    assert first_scheme[0] == "ok"


def test_a_refusal_that_echoes_the_customers_phone_is_kept_without_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    """Only a fixed summary of the receiver's answer is kept in ``last_error`` (its status and the
    robot's errcode): neither the token of its URL nor a phone number it echoed, on either channel."""
    answers = {
        "webhook": httpx.Response(
            400, text="no contact for 138-1234-5678 at /neigou/pushes?token=s3cr3t-t0k3n"
        ),
        "wecom_robot": httpx.Response(200, json={"errcode": 60111, "errmsg": "userid 13812345678 not found"}),
    }
    targets = {"webhook": HOOK + "?token=s3cr3t-t0k3n", "wecom_robot": None}
    kept = {
        "webhook": "HTTP 400",
        "wecom_robot": "HTTP 200 errcode 60111",
    }
    in_robot_group(client, factory, world, ROBOT)
    for n, (channel, answer) in enumerate(answers.items()):
        _settings(client, operator, world, channel=channel, target=targets[channel])
        made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
        with transaction(factory) as session:
            done = deliver_due(
                session,
                at=AT + timedelta(days=1 + n),
                settings=_running(client),
                transport=httpx.MockTransport(lambda _, answer=answer: answer),
            )
            [message] = [m for m in done if m.id == made["messages"][0]["id"]]
            assert (message.status.value, message.last_error) == ("pending", kept[channel])


def test_task_messages_wait_for_the_salesperson(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    with transaction(factory) as session:
        assert deliver_due(session, at=AT + timedelta(days=1), settings=_running(client)) == []
    message = made["messages"][0]["id"]
    path = f"/api/v1/pushes/{made['id']}/messages/{message}/sent"
    first = client.post(path, headers=world.feed.owner_headers).json()
    assert (first["status"], first["attempts"]) == ("sent", 1)
    assert client.post(path, headers=world.feed.owner_headers).json() == first
    missing = client.post(
        f"/api/v1/pushes/{made['id']}/messages/999999/sent", headers=world.feed.owner_headers
    )
    assert (missing.status_code, missing.json()["code"]) == (404, "message_not_found")


def test_a_fault_while_sending_fails_the_message_and_sends_it_no_more(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: PushWorld
) -> None:
    """What no send should raise (a fault of the sender, not a network error or a refusal) still ends the
    claimed attempt: the message fails at once, as it may have gone out, and no later run sends it."""
    _settings(client, operator, world, channel="wecom_robot")
    in_robot_group(client, factory, world, ROBOT)  # the robot of the customers' own group
    push(client, world, customer_ids=[world.li], skus=[fb.TEE])
    sends: list[int] = []

    def broken(_request: httpx.Request) -> httpx.Response:
        sends.append(1)
        raise LookupError("a fault of the sender")

    transport = httpx.MockTransport(broken)
    with transaction(factory) as session:
        done = deliver_due(session, at=AT + timedelta(days=1), settings=_running(client), transport=transport)
        assert [(m.status.value, m.attempts, m.last_error, m.sent_at) for m in done] == [
            ("failed", 1, "LookupError", None)
        ]
        later = AT + timedelta(days=2)
        assert deliver_due(session, at=later, settings=_running(client), transport=transport) == []
    assert len(sends) == 1


def test_a_secret_no_key_opens_sends_nothing_and_is_retried(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: PushWorld,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webhook secret sealed with a key no longer configured: nothing is signed with an empty secret
    nor sent, and the message waits for its next attempt with a reason that says what to fix."""
    _settings(client, operator, world, channel="webhook", target=HOOK)
    push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    with factory() as session:
        sealed = push_settings.read(session, world.feed.program_id).secret_sealed
    opens = Sealer.unseal
    monkeypatch.setattr(Sealer, "unseal", lambda self, value: None if value == sealed else opens(self, value))
    sends: list[httpx.Request] = []

    def hook(request: httpx.Request) -> httpx.Response:
        sends.append(request)
        return httpx.Response(204)

    transport = httpx.MockTransport(hook)
    with transaction(factory) as session:
        done = deliver_due(session, at=AT + timedelta(days=1), settings=_running(client), transport=transport)
        assert [(m.status.value, m.attempts, m.last_error) for m in done] == [("pending", 1, UNSIGNABLE)]
    assert sends == []

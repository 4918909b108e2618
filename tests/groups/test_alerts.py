"""Daily alerts: stored rows, one WeCom robot message per program and date, retries after failures."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.groups import alerts, webhook
from neigou.groups.alerts import ALERT_JOB, MAX_ATTEMPTS, SENDING_LEASE, TICK_JOB, alert_key, deliver_alert
from neigou.groups.models import AlertDelivery, DeliveryStatus
from neigou.kit import jobs
from neigou.kit.robot_budget import LEASE_LOST
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.feed.conftest import app_settings
from tests.groups.builders import FIELD_SCHEDULE, create_group, post_count, put_targets
from tests.held_sends import short_waits, write_during_send
from tests.parallel import in_parallel
from tests.robots import HOLD_S, Robot, robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot"]  # the robot stub the alerts post to

MORNING = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai on 25 March
DAY = date(2026, 3, 24)
RUNNERS = 4


@pytest.fixture
def quick_waits(engine: Engine) -> Iterator[None]:
    yield from short_waits(engine)


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], robot: Robot) -> dict[str, Any]:
    program = create_program(client, operator, code="fx", name="芬香合伙人")
    put_targets(client, operator, program["id"], FIELD_SCHEDULE)
    owner = create_member(client, operator, program["id"], name="群主·王")
    behind = create_group(client, operator, owner["id"], name="落后群")
    ahead = create_group(client, operator, owner["id"], name="领先群")
    for day, (low, high) in enumerate([(230, 380), (236, 390), (240, 400)], start=22):
        post_count(client, operator, behind["id"], low, f"2026-03-{day}T21:00:00+08:00")
        post_count(client, operator, ahead["id"], high, f"2026-03-{day}T21:00:00+08:00")
    settings = client.put(
        f"/api/v1/programs/{program['id']}/group-settings", json={"webhook_url": robot.url}, headers=operator
    )
    assert settings.status_code == 200
    return {"program": program, "owner": owner, "behind": behind, "ahead": ahead}


def _tick(runner: jobs.JobRunner, at: datetime, key: str) -> None:
    assert runner.run(TICK_JOB, key=key, payload={}, at=at)


def test_the_morning_tick_sends_one_markdown_message(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
    make_token: TokenMaker,
) -> None:
    _tick(jobs_runner, datetime(2026, 3, 25, 0, 30, tzinfo=UTC), "tick-early")  # 08:30 local: too early
    assert robot.received == []
    _tick(jobs_runner, MORNING, "tick-1")
    assert len(robot.received) == 1
    request = robot.received[0]
    assert parse_qs(urlsplit(request["path"]).query) == {"key": ["robot-key"]}
    assert request["body"]["msgtype"] == "markdown"
    content = request["body"]["markdown"]["content"]
    assert content.startswith("## 群目标提醒 · 芬香合伙人\n3月24日要求 **250** 人\n")
    assert "> 群主·王 · 落后群：要求 250，实际 240，差 10" in content
    assert "> 群主·王 · 落后群：4月2日预计 285，差 115" in content
    assert "领先群：4月2日预计 490" not in content
    _tick(jobs_runner, datetime(2026, 3, 25, 3, 5, tzinfo=UTC), "tick-2")
    _tick(jobs_runner, datetime(2026, 3, 25, 4, 5, tzinfo=UTC), "tick-3")
    assert len(robot.received) == 1, "the same program and date is alerted once"
    alerts = client.get(
        f"/api/v1/programs/{world['program']['id']}/group-alerts?date=2026-03-24", headers=operator
    )
    body = alerts.json()
    assert body["delivery"] == "sent"
    assert [
        (a["group_id"], a["kind"], a["required"], a["actual"], a["projected"]) for a in body["alerts"]
    ] == [
        (world["behind"]["id"], "missed", 250, 240, None),
        (world["behind"]["id"], "at_risk", 400, 240, 285),
    ]
    owner_view = client.get(
        f"/api/v1/programs/{world['program']['id']}/group-alerts?date=2026-03-24",
        headers=bearer(make_token(Role.MEMBER, world["owner"]["id"])),
    )
    assert len(owner_view.json()["alerts"]) == 2


def test_a_failed_delivery_is_recorded_and_retried_until_sent(
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    robot.answers.append({"errcode": 93000, "errmsg": "invalid webhook url"})
    _tick(jobs_runner, MORNING, "tick-1")
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts?date=2026-03-24"
    assert client.get(url, headers=operator).json()["delivery"] == "failed"
    _tick(jobs_runner, datetime(2026, 3, 25, 3, 5, tzinfo=UTC), "tick-2")
    assert client.get(url, headers=operator).json()["delivery"] == "sent"
    _tick(jobs_runner, datetime(2026, 3, 25, 4, 5, tzinfo=UTC), "tick-3")
    assert len(robot.received) == 2


def test_a_last_attempt_killed_during_its_send_ends_failed(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The run of the last attempt died during the send: once its lease is over the delivery reads
    ``failed`` (not ``sending`` for ever) and nothing is sent again. (The tick's real clock is put at
    its simulated morning: the lease is judged against it.)"""
    monkeypatch.setattr(alerts, "utcnow", lambda: MORNING)
    with factory() as session:
        session.add(
            AlertDelivery(
                program_id=world["program"]["id"],
                alert_date=DAY,
                status=DeliveryStatus.SENDING,
                attempts=MAX_ATTEMPTS,
                attempted_at=MORNING - SENDING_LEASE,
            )
        )
        session.commit()
    _tick(jobs_runner, MORNING, "tick-1")
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts?date=2026-03-24"
    assert client.get(url, headers=operator).json()["delivery"] == "failed"
    assert robot.received == []


def test_an_operator_can_send_a_date_now_but_not_twice(
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    url = f"/api/v1/programs/{world['program']['id']}/group-alerts/run"
    first = client.post(url, json={"date": "2026-03-23"}, headers=operator)
    assert (first.status_code, first.json()) == (
        202,
        {"key": f"groups.alert:{world['program']['id']}:2026-03-23", "queued": True},
    )
    assert len(robot.received) == 1
    assert "落后群：3月24日预计 242，差 8" in robot.received[0]["body"]["markdown"]["content"]
    second = client.post(url, json={"date": "2026-03-23"}, headers=operator)
    assert second.json() == {"key": "", "queued": False}
    assert len(robot.received) == 1


def test_a_signing_secret_adds_timestamp_and_sign(
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    client.put(
        f"/api/v1/programs/{world['program']['id']}/group-settings",
        json={"webhook_secret": "SECtest"},
        headers=operator,
    )
    _tick(jobs_runner, MORNING, "tick-1")
    query = parse_qs(urlsplit(robot.received[0]["path"]).query)
    timestamp = int(query["timestamp"][0])
    assert query["key"] == ["robot-key"]
    # parse_qs decodes the URL encoding that sign() applied.
    assert webhook.sign("SECtest", timestamp) == quote_plus(query["sign"][0])


def test_known_signature_and_message_fitting() -> None:
    # HMAC-SHA256("SECtest", "1700000000000\nSECtest"), Base64, URL-encoded.
    # (checked with: printf '1700000000000\nSECtest' | openssl dgst -sha256 -hmac SECtest -binary | base64)
    assert webhook.sign("SECtest", 1_700_000_000_000) == "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
    at = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert webhook.signed_url("http://x/send?key=k", "s", at).startswith(
        "http://x/send?key=k&timestamp=1700000000000&sign="
    )
    assert webhook.signed_url("http://x/send?key=k", None, at) == "http://x/send?key=k"
    lines = [f"> 群主 · 内购{i}群：要求 400，实际 300，差 100" for i in range(400)]
    fitted = webhook.fit(lines, more="…另有 {n} 条")
    assert len(fitted.encode()) <= webhook.MAX_CONTENT_BYTES
    kept = fitted.count("\n")
    assert fitted.endswith(f"…另有 {400 - kept} 条")
    assert webhook.fit(["a", "b"], more="…{n}") == "a\nb"


def _delivery(factory: sessionmaker[Session]) -> tuple[str, int]:
    with factory() as session:
        found = session.scalars(select(AlertDelivery)).one()
        return found.status.value, found.attempts


@pytest.mark.usefixtures("quick_waits")
def test_a_writer_goes_on_while_the_alert_is_on_its_way(
    *,
    jobs_runner: jobs.JobRunner,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: dict[str, Any],
    robot: Robot,
) -> None:
    """The attempt is claimed (the delivery ``sending``) and committed before the robot is called:
    creating a member does not wait for the robot's answer (on SQLite the job held the database's write
    lock through the send)."""
    program_id = world["program"]["id"]
    seen: list[tuple[str, int]] = []

    def send() -> None:
        payload = {"program_id": program_id, "date": DAY.isoformat()}
        assert jobs_runner.run(ALERT_JOB, key=alert_key(program_id, DAY), payload=payload, at=MORNING)

    def write() -> None:
        create_member(client, operator, program_id, name="新成员")
        seen.append(_delivery(factory))  # on its way: claimed and committed

    took = write_during_send(robot, send, write)
    assert took < HOLD_S
    assert seen == [("sending", 1)]
    assert _delivery(factory) == ("sent", 1)
    url = f"/api/v1/programs/{program_id}/group-alerts?date=2026-03-24"
    assert client.get(url, headers=operator).json()["delivery"] == "sent"


def test_runs_started_at_once_send_each_attempt_once(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any], robot: Robot
) -> None:
    """Parallel connections on PostgreSQL; on SQLite each claim waits for the write lock, never a send.
    The first attempt (the delivery row inserted) and a retry (a failed row claimed) alike. Each send is
    held in the robot until every other run has given its answer, so all of them meet the row while it
    is ``sending`` however late a thread starts (a run that came after the failure was written would
    rightly take the next attempt: a failed row is any later run's to retry)."""
    program_id = world["program"]["id"]
    robot.statuses = [503]

    def run_at(at: datetime) -> list[str]:
        hold = robot.hold = threading.Event()
        answered = itertools.count(1)  # next() on it is atomic

        def run(session: Session) -> str:
            status = deliver_alert(
                session, program_id=program_id, on=DAY, at=at, settings=app_settings(client)
            ).status.value
            if next(answered) == RUNNERS - 1:  # every run but the sending one has answered
                hold.set()
            return status

        return sorted(map(str, in_parallel(factory, run, RUNNERS)))

    assert run_at(MORNING) == ["failed"] + ["sending"] * (RUNNERS - 1)  # none failed with an error
    assert robot.held == [True]  # the send was let go once the others had answered, not given up on
    assert len(robot.received) == 1
    assert _delivery(factory) == ("failed", 1)
    assert run_at(MORNING + timedelta(hours=1)) == ["sending"] * (RUNNERS - 1) + ["sent"]
    assert robot.held == [True, True]
    assert len(robot.received) == 2
    assert _delivery(factory) == ("sent", 2)


def test_a_send_past_its_lease_does_not_overwrite_what_the_next_run_came_to(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """A run whose send outlived its lease (its robot answered after minutes, say): the run after the
    lease failed the date's alert for good, as it may have been posted, and sent nothing; the late
    refusal changes nothing."""
    program_id, later = world["program"]["id"], MORNING + SENDING_LEASE
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the first attempt's send, answered once the second was made
            with factory() as session:
                deliver_alert(
                    session,
                    program_id=program_id,
                    on=DAY,
                    at=later,
                    settings=app_settings(client),
                    transport=stub,
                )
            return httpx.Response(500, text="busy")
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    stub = httpx.MockTransport(answer)
    with factory() as session:
        deliver_alert(
            session, program_id=program_id, on=DAY, at=MORNING, settings=app_settings(client), transport=stub
        )
    with factory() as session:
        done = session.scalars(select(AlertDelivery)).one()
        assert (done.status, done.attempts, done.http_status, done.detail) == (
            DeliveryStatus.FAILED,
            1,
            None,
            LEASE_LOST,
        )
    assert len(calls) == 1


def test_a_fault_while_sending_ends_the_attempt_failed(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """What no send should raise (not a network error: a fault of the sender) still finishes the claimed
    attempt, failed, instead of leaving it ``sending`` until its lease ends."""

    def answer(_request: httpx.Request) -> httpx.Response:
        raise LookupError("a fault of the sender")

    with factory() as session:
        deliver_alert(
            session,
            program_id=world["program"]["id"],
            on=DAY,
            at=MORNING,
            settings=app_settings(client),
            transport=httpx.MockTransport(answer),
        )
    with factory() as session:
        failed = session.scalars(select(AlertDelivery)).one()
        assert (failed.status, failed.attempts, failed.http_status, failed.detail) == (
            DeliveryStatus.FAILED,
            1,
            None,
            "LookupError while sending; it may have been posted",
        )

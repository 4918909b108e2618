"""The robot message of a live code's "all groups full" alert is retried with backoff after a timeout,
an HTTP error or a refusal (errcode ≠ 0), sent once however often it is retried or raced, given up
after ``MAX_ATTEMPTS`` and shown so to the owner; the robot's key is never stored or logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.feed import full_alerts, robots
from neigou.feed.full_alerts import ALERT_JOB, MAX_ATTEMPTS, RETRY_JOB
from neigou.groups import webhook
from neigou.groups.models import LiveCodeAlert, RobotAlertStatus
from neigou.integrations.events import backoff
from neigou.kit import jobs
from neigou.kit.clock import not_before_now
from neigou.kit.db import transaction
from neigou.kit.robot_budget import LEASE_LOST
from neigou.kit.settings import use_settings
from tests.conftest import TEST_ACTOR, TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.feed.conftest import app_sealer, app_settings
from tests.groups.builders import create_group, post_count
from tests.held_sends import short_waits, write_during_send
from tests.parallel import in_parallel
from tests.robots import HOLD_S, Robot
from tests.sign_in import member_sign_in

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

PARALLEL = 6
KEY = "robot-key"  # the key in Robot.url
SEEN = (datetime.now(UTC) - timedelta(hours=2)).isoformat()


@dataclass(frozen=True)
class Full:
    """A live code over two full groups, the second with the robot."""

    code: str
    owner: int
    token: str


@pytest.fixture
def full(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    robot: Robot,
) -> Full:
    program = create_program(client, operator, code="full-robot")
    owner = create_member(client, operator, program["id"], "群主")
    groups = [create_group(client, operator, owner["id"], name=f"福利{n}群")["id"] for n in (1, 2)]
    with transaction(factory) as session:
        robots.set_robot(
            session,
            group_id=groups[1],
            webhook_url=robot.url,
            sealer=app_sealer(client),
            actor=TEST_ACTOR,
            at=datetime.now(UTC),
        )
    token = make_token("member", owner["id"])
    created = client.post(
        "/api/v1/groups/live-codes",
        json={"owner_member_id": owner["id"], "group_ids": groups, "capacity": 10},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    for group_id in groups:
        assert post_count(client, operator, group_id, 10, SEEN).status_code == 201
    return Full(created.json()["code"], owner["id"], token)


def the_alert(factory: sessionmaker[Session]) -> LiveCodeAlert:
    with factory() as session:
        return session.scalars(select(LiveCodeAlert)).one()


def retry(client: TestClient, factory: sessionmaker[Session], at: datetime) -> None:
    """The retry job's run, with the application's settings as its runner gives them."""
    with transaction(factory) as session:
        use_settings(session, app_settings(client))
        full_alerts.retry_due(session, {}, at)


def test_a_failing_robot_is_retried_with_backoff_and_the_message_sent_once(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    jobs_runner: jobs.JobRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webhook, "TIMEOUT_SECONDS", 0.3)
    robot.delays, robot.statuses = [1.0], [200, 503]  # a timeout, then an HTTP error, then taken

    page = client.get(f"/g/{full.code}")  # the scan that finds every group full
    assert page.status_code == 200
    assert "data-group-id" not in page.text
    first = the_alert(factory)
    assert (first.robot_status, first.robot_attempts) == (RobotAlertStatus.PENDING, 1)
    assert first.robot_detail is not None
    assert first.robot_detail.startswith("ReadTimeout")
    assert first.robot_next_attempt_at is not None
    due = first.robot_next_attempt_at

    retry(client, factory, due - timedelta(seconds=1))  # before its backoff: nothing
    assert len(robot.received) == 1
    retry(client, factory, due)
    second = the_alert(factory)
    assert (second.robot_status, second.robot_attempts) == (RobotAlertStatus.PENDING, 2)
    assert second.robot_next_attempt_at == due + backoff(2)

    sent_at = due + backoff(2)
    retry(client, factory, sent_at)
    done = the_alert(factory)
    assert (done.robot_status, done.robot_attempts, done.robot_sent_at) == (RobotAlertStatus.SENT, 3, sent_at)
    assert (done.robot_detail, done.robot_next_attempt_at) == ("ok", None)
    assert len(robot.received) == 3
    assert robot.received[0]["body"] == robot.received[2]["body"]
    assert robot.received[2]["path"] == f"/cgi-bin/webhook/send?key={KEY}"

    # Sent is sent: later retries, a redelivered first job and a direct attempt send nothing.
    retry(client, factory, sent_at + timedelta(days=1))
    assert not jobs_runner.run(
        ALERT_JOB, key=f"live-code-full:{done.id}", payload={"alert_id": done.id}, at=sent_at
    )
    assert jobs_runner.run(RETRY_JOB, key="late-retry", payload={}, at=sent_at + timedelta(days=2))
    with transaction(factory) as session:
        alert = session.get(LiveCodeAlert, done.id)
        assert alert is not None
        full_alerts.robot_alert_job(session, {"alert_id": done.id}, sent_at)
        assert full_alerts.attempt(session, alert, at=sent_at, settings=app_settings(client)) is None
    assert len(robot.received) == 3
    assert the_alert(factory).robot_attempts == 3

    listed = client.get(f"/api/v1/members/{full.owner}/live-codes", headers=bearer(full.token)).json()
    shown = listed[0]["robot_alert"]
    assert (shown["status"], shown["attempts"], shown["detail"]) == ("sent", 3, "ok")
    member_sign_in(client, full.token)
    assert 'data-testid="robot-alert" data-status="sent"' in client.get("/m/live-codes").text


def test_a_robot_that_keeps_refusing_is_given_up_shown_and_its_key_kept_secret(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The robot echoes the message, and with it who it names.
    refusal = {"errcode": 93000, "errmsg": f"invalid webhook url {KEY}, hint: 张三 13812345678"}
    robot.answers = [refusal] * (MAX_ATTEMPTS + 2)

    client.get(f"/g/{full.code}")
    for n in range(2, MAX_ATTEMPTS + 1):
        due = the_alert(factory).robot_next_attempt_at
        assert due is not None
        retry(client, factory, due)
        assert the_alert(factory).robot_attempts == n
    gave_up = the_alert(factory)
    assert (gave_up.robot_status, gave_up.robot_attempts) == (RobotAlertStatus.FAILED, MAX_ATTEMPTS)
    assert gave_up.robot_next_attempt_at is None
    assert gave_up.robot_detail == "HTTP 200 errcode 93000"  # never what the robot wrote back
    retry(client, factory, datetime.now(UTC) + timedelta(days=30))
    assert len(robot.received) == MAX_ATTEMPTS

    listed = client.get(f"/api/v1/members/{full.owner}/live-codes", headers=bearer(full.token)).json()
    shown = listed[0]["robot_alert"]
    assert (shown["status"], shown["attempts"]) == ("failed", MAX_ATTEMPTS)
    member_sign_in(client, full.token)
    page = client.get("/m/live-codes").text
    assert 'data-testid="robot-alert" data-status="failed"' in page
    # the status and the robot's error code, told in the page's language
    assert "对方返回 HTTP 200，错误码 93000" in page
    english = client.get("/m/live-codes", params={"lang": "en"}).text
    assert "the receiver answered HTTP 200, error code 93000" in english
    logged = capsys.readouterr()
    assert logged.err.count("live_code_full.robot_refused") == MAX_ATTEMPTS
    for told in (logged.err + logged.out, page, shown["detail"]):
        assert KEY not in told
        assert "张三" not in told
        assert "13812345678" not in told


def test_parallel_retries_send_the_message_once(
    client: TestClient, factory: sessionmaker[Session], robot: Robot, full: Full
) -> None:
    """Parallel connections on PostgreSQL; on SQLite each claim waits for the write lock, never a send."""
    robot.statuses = [503]
    client.get(f"/g/{full.code}")  # the first attempt is refused
    refused = the_alert(factory)
    due = refused.robot_next_attempt_at
    assert due is not None
    robot.delays = [0.3]  # the attempt that goes out answers slowly, the others meet it on the row

    def run(session: Session) -> webhook.Outcome | None:
        alert = session.get(LiveCodeAlert, refused.id)
        assert alert is not None
        return full_alerts.attempt(session, alert, at=due, settings=app_settings(client))

    results = in_parallel(factory, run, PARALLEL)
    assert sorted(type(r).__name__ for r in results) == ["NoneType"] * (PARALLEL - 1) + ["Outcome"]
    assert len(robot.received) == 2
    done = the_alert(factory)
    assert (done.robot_status, done.robot_attempts, done.robot_sent_at) == (RobotAlertStatus.SENT, 2, due)


@pytest.fixture
def quick_waits(engine: Engine) -> Iterator[None]:
    yield from short_waits(engine)


@pytest.mark.usefixtures("quick_waits")
def test_a_writer_goes_on_while_a_retry_is_on_its_way(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    jobs_runner: jobs.JobRunner,
) -> None:
    """The retry's claim is committed before the robot is called: creating a member does not wait for
    the robot's answer (on SQLite the run held the database's write lock through the send)."""
    robot.statuses = [503]
    client.get(f"/g/{full.code}")  # the first attempt is refused
    due = the_alert(factory).robot_next_attempt_at
    assert due is not None
    program_id = client.get(f"/api/v1/members/{full.owner}", headers=operator).json()["program_id"]

    def retry_now() -> None:
        assert jobs_runner.run(RETRY_JOB, key="retry-held", payload={}, at=due)

    took = write_during_send(
        robot, retry_now, lambda: create_member(client, operator, program_id, name="新成员")
    )
    assert took < HOLD_S
    assert len(robot.received) == 2
    done = the_alert(factory)
    assert (done.robot_status, done.robot_attempts, done.robot_sent_at) == (RobotAlertStatus.SENT, 2, due)


def test_a_retry_while_the_first_send_reads_its_answer_sends_nothing(
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
) -> None:
    """A send may take up to ``webhook.SEND_BOUND`` (its answer read for a minute); the first attempt's
    lease is that long, not the first backoff (30 s): a retry 31 s after the claim finds it on its way."""
    assert backoff(1) < webhook.SEND_BOUND
    hold = robot.hold = threading.Event()
    began = datetime.now(UTC)
    sender = threading.Thread(target=lambda: client.get(f"/g/{full.code}"))
    sender.start()
    try:
        assert robot.arrived.wait(HOLD_S), "the first send never reached the robot"
        robot.hold = None  # a second send would be answered at once
        retry(client, factory, began + backoff(1) + timedelta(seconds=1))
    finally:
        hold.set()
        sender.join(3 * HOLD_S)
    assert len(robot.received) == 1


def test_a_send_past_its_lease_does_not_overwrite_what_the_next_run_came_to(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run whose send outlived its lease (its robot answered after minutes, say): the run after the
    lease failed the message, as it may have been posted, and sent nothing; the late refusal changes
    nothing."""
    robot.statuses = [503]  # the first attempt, at the scan, is refused
    client.get(f"/g/{full.code}")
    due = the_alert(factory).robot_next_attempt_at
    assert due is not None
    monkeypatch.setattr(full_alerts, "not_before_now", partial(not_before_now, now=due))
    later = due + max(backoff(2), webhook.SEND_BOUND)  # the end of the second attempt's lease
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the second attempt's send, answered once the third was made
            with factory() as session:
                alert = session.scalars(select(LiveCodeAlert)).one()
                full_alerts.attempt(session, alert, at=later, settings=app_settings(client), transport=stub)
            return httpx.Response(500, text="busy")
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    stub = httpx.MockTransport(answer)
    with factory() as session:
        alert = session.scalars(select(LiveCodeAlert)).one()
        late = full_alerts.attempt(session, alert, at=due, settings=app_settings(client), transport=stub)
    assert late is not None
    assert not late.ok
    assert len(calls) == 1
    done = the_alert(factory)
    assert (done.robot_status, done.robot_attempts, done.robot_sent_at) == (RobotAlertStatus.FAILED, 2, None)
    assert (done.robot_detail, done.robot_next_attempt_at) == (LEASE_LOST, None)


def test_a_last_attempt_whose_run_was_killed_ends_failed_without_another_send(
    client: TestClient, factory: sessionmaker[Session], robot: Robot, full: Full
) -> None:
    """The run that claimed the last attempt died during its send (the alert stays pending at
    ``MAX_ATTEMPTS`` with its lease): once the lease is over, the next run fails it and sends nothing."""
    robot.statuses = [503]
    client.get(f"/g/{full.code}")  # the first attempt is refused
    due = datetime.now(UTC)
    with transaction(factory) as session:
        alert = session.scalars(select(LiveCodeAlert)).one()
        alert.robot_attempts, alert.robot_next_attempt_at = MAX_ATTEMPTS, due
    retry(client, factory, due)
    assert len(robot.received) == 1
    gave_up = the_alert(factory)
    assert (gave_up.robot_status, gave_up.robot_attempts, gave_up.robot_next_attempt_at) == (
        RobotAlertStatus.FAILED,
        MAX_ATTEMPTS,
        None,
    )


def test_a_fault_while_sending_ends_the_attempt_failed_and_sends_no_more(
    *,
    client: TestClient,
    factory: sessionmaker[Session],
    robot: Robot,
    full: Full,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What no send should raise (a fault reading the answer, not a refusal) still finishes the claimed
    attempt: failed for good, as the robot may have posted it, and never sent again after the lease."""

    def broken(*_args: object, **_kwargs: object) -> webhook.Outcome:
        raise ValueError("a fault of the sender, not the robot's refusal")

    monkeypatch.setattr(full_alerts, "send_markdown", broken)
    assert client.get(f"/g/{full.code}").status_code == 200  # the scan that finds every group full
    failed = the_alert(factory)
    assert (failed.robot_status, failed.robot_attempts) == (RobotAlertStatus.FAILED, 1)
    assert failed.robot_next_attempt_at is None
    assert failed.robot_detail == "ValueError while sending; it may have been posted"
    retry(client, factory, datetime.now(UTC) + timedelta(days=1))
    assert (the_alert(factory).robot_status, the_alert(factory).robot_attempts) == (
        RobotAlertStatus.FAILED,
        1,
    )
    assert robot.received == []

"""A commission event's delivery holds no lock through its send: the attempt is claimed and committed
first, so another writer of the app (creating a member) goes on while the receiver is still answering
(on SQLite the delivery held the database's write lock through the send, and every writer waited for
it); and retry runs started at once send each attempt once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups.webhook import SEND_BOUND
from neigou.integrations import events
from neigou.integrations.events import backoff
from neigou.integrations.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from neigou.kit import jobs
from neigou.kit.clock import not_before_now
from tests.factories import create_member
from tests.feed.conftest import app_settings
from tests.held_sends import short_waits, write_during_send
from tests.orders.builders import World, build, order_body
from tests.parallel import in_parallel
from tests.robots import HOLD_S, Robot, robot

# the robots and receivers these tests send to listen on 127.0.0.1
pytestmark = pytest.mark.local_receivers

__all__ = ["robot"]  # the receiver the deliveries go to (it answers 2xx)

RETRY_JOB = "orders.retry_webhooks"
RUNNERS = 4


@pytest.fixture
def quick_waits(engine: Engine) -> Iterator[None]:
    yield from short_waits(engine)


def _shop_with_refused_deliveries(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], robot: Robot, orders: int
) -> tuple[World, datetime]:
    """A program whose shop refused the first attempt of each order's event; when the retries are due."""
    w = build(client, operator, factory)
    body = {"name": "品牌商城", "outbound_url": robot.url}
    made = client.post(f"/api/v1/programs/{w.program_id}/integrations", json=body, headers=operator)
    assert made.status_code == 201, made.text
    robot.statuses = [503] * orders
    for n in range(orders):
        taken = client.post("/api/v1/orders", json=order_body(w, f"SEND-{n}"), headers=operator)
        assert taken.status_code == 201, taken.text
    with factory() as session:
        due = [d.next_attempt_at for d in session.scalars(select(WebhookDelivery))]
    assert len(due) == orders
    assert None not in due
    assert len(robot.received) == orders
    return w, max(d for d in due if d is not None)


@pytest.mark.usefixtures("quick_waits")
def test_a_writer_goes_on_while_a_delivery_is_on_its_way(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    robot: Robot,
) -> None:
    w, due = _shop_with_refused_deliveries(client, operator, factory, robot, 1)

    def retry() -> None:
        assert jobs_runner.run(RETRY_JOB, key="retry-held", payload={}, at=due)

    took = write_during_send(
        robot, retry, lambda: create_member(client, operator, w.program_id, name="送达时新加的成员")
    )
    assert took < HOLD_S
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
        assert [a.ok for a in session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.number))] == [
            False,
            True,
        ]


def test_retry_runs_started_at_once_send_each_attempt_once(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    robot: Robot,
) -> None:
    """Parallel connections on PostgreSQL; on SQLite each claim waits for the write lock, never a send."""
    _, due = _shop_with_refused_deliveries(client, operator, factory, robot, 3)
    robot.delays = [0.3] * 3  # the sends take a while: the other runs meet them on the rows
    keys = iter(range(RUNNERS))

    def run(_session: Session) -> bool:
        return jobs_runner.run(RETRY_JOB, key=f"retry-{next(keys)}", payload={}, at=due)

    results = in_parallel(factory, run, RUNNERS)
    assert results == [True] * RUNNERS, results
    assert len(robot.received) == 3 + 3  # each delivery's second attempt went out once
    with factory() as session:
        deliveries = list(session.scalars(select(WebhookDelivery)))
        assert {(d.status, d.attempts) for d in deliveries} == {(DeliveryStatus.DELIVERED, 2)}
        numbers = sorted((a.delivery_id, a.number) for a in session.scalars(select(WebhookAttempt)))
        assert numbers == sorted((d.id, n) for d in deliveries for n in (1, 2))
    # A later run finds nothing due: the failed attempts' backoff is behind, the deliveries are done.
    assert jobs_runner.run(RETRY_JOB, key="retry-later", payload={}, at=due + backoff(2))
    assert len(robot.received) == 6


def test_a_later_run_leaves_alone_an_attempt_a_run_claimed_late(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that began at ``due`` claims this delivery ten minutes later (it spent them on the batch's
    other deliveries): its lease counts from the claim, so the run started at ``due + backoff`` finds the
    attempt still on its way and does not send it a second time."""
    _, due = _shop_with_refused_deliveries(client, operator, factory, robot, 1)
    monkeypatch.setattr(events, "not_before_now", partial(not_before_now, now=due + timedelta(minutes=10)))
    robot.hold = threading.Event()
    robot.arrived.clear()
    late = threading.Thread(
        target=jobs_runner.run, args=(RETRY_JOB,), kwargs={"key": "a", "payload": {}, "at": due}
    )
    late.start()
    assert robot.arrived.wait(HOLD_S)
    jobs_runner.run(RETRY_JOB, key="b", payload={}, at=due + backoff(2))
    robot.hold.set()
    late.join(3 * HOLD_S)
    assert len(robot.received) == 2  # the first attempt, then this retry once
    with factory() as session:
        assert [a.number for a in session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))] == [
            1,
            2,
        ]


def test_a_send_past_its_lease_does_not_overwrite_what_the_next_attempt_came_to(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run whose send outlived its lease (its receiver answered after minutes, say): the run after the
    lease took the delivery as the next attempt and delivered it; the late refusal is logged as its own
    attempt and changes nothing on the delivery."""
    _, due = _shop_with_refused_deliveries(client, operator, factory, robot, 1)
    monkeypatch.setattr(events, "not_before_now", partial(not_before_now, now=due))
    later = due + max(backoff(2), SEND_BOUND)  # the end of the second attempt's lease
    calls: list[int] = []

    def answer(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:  # the second attempt's send, answered once the third was made
            with factory() as session:
                delivery = session.scalars(select(WebhookDelivery)).one()
                assert events.attempt(
                    session, delivery, at=later, settings=app_settings(client), transport=stub
                )
            return httpx.Response(500, text="busy")
        return httpx.Response(200, text="ok")

    stub = httpx.MockTransport(answer)
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert not events.attempt(session, delivery, at=due, settings=app_settings(client), transport=stub)
    with factory() as session:
        done = session.scalars(select(WebhookDelivery)).one()
        assert (done.status, done.attempts, done.delivered_at) == (DeliveryStatus.DELIVERED, 3, later)
        assert (done.last_http_status, done.last_error, done.next_attempt_at) == (200, None, None)
        logged = session.execute(
            select(WebhookAttempt.number, WebhookAttempt.ok).order_by(WebhookAttempt.number)
        )
        assert [tuple(row) for row in logged] == [(1, False), (2, False), (3, True)]


def test_a_last_attempt_whose_run_was_killed_ends_failed_without_another_send(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    robot: Robot,
) -> None:
    """The run that claimed the last attempt died during its send (the delivery stays pending at
    ``MAX_ATTEMPTS`` with its lease): once the lease is over, the next run fails it and sends nothing."""
    _, due = _shop_with_refused_deliveries(client, operator, factory, robot, 1)
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        delivery.attempts, delivery.next_attempt_at = events.MAX_ATTEMPTS, due
        session.commit()
    assert jobs_runner.run(RETRY_JOB, key="after-the-kill", payload={}, at=due)
    assert len(robot.received) == 1  # the first attempt only
    with factory() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (
            DeliveryStatus.FAILED,
            events.MAX_ATTEMPTS,
            None,
        )


def test_a_fault_while_sending_is_a_failed_attempt_and_the_run_goes_on(
    *,
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    jobs_runner: jobs.JobRunner,
    robot: Robot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What no send should raise (a fault reading the answer, not a network error) ends the claimed
    attempt as a failure, retried after its backoff, and the run goes on to the next delivery."""
    _, due = _shop_with_refused_deliveries(client, operator, factory, robot, 2)
    monkeypatch.setattr(events, "not_before_now", partial(not_before_now, now=due))
    sent = events._post
    calls: list[int] = []

    def first_breaks(*args: Any, **kwargs: Any) -> tuple[int | None, bool, str]:
        calls.append(1)
        if len(calls) == 1:
            raise RecursionError("maximum recursion depth exceeded while reading the answer")
        return sent(*args, **kwargs)

    monkeypatch.setattr(events, "_post", first_breaks)
    assert jobs_runner.run(RETRY_JOB, key="a-fault", payload={}, at=due)
    with factory() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
        broken, delivered = rows
        assert (broken.status, broken.attempts, broken.last_http_status, broken.last_error) == (
            DeliveryStatus.PENDING,
            2,
            None,
            "RecursionError while sending",
        )
        assert broken.next_attempt_at == due + max(backoff(2), SEND_BOUND)
        assert (delivered.status, delivered.attempts) == (DeliveryStatus.DELIVERED, 2)
        logged = session.execute(
            select(WebhookAttempt.delivery_id, WebhookAttempt.number, WebhookAttempt.ok).where(
                WebhookAttempt.number == 2
            )
        )
        assert sorted(tuple(row) for row in logged) == [(broken.id, 2, False), (delivered.id, 2, True)]

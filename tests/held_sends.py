"""A job's send held in a slow receiver while another writer of the app works: the writer must not wait
for the send (on SQLite a job that held its claim through the send held the database's write lock, which
every writer waits for)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine

from tests.busy_wait import short_busy_wait
from tests.robots import HOLD_S, Robot


def short_waits(engine: Engine) -> Iterator[None]:
    """The body of a fixture: a writer that waits for the lock gives up in seconds, not the engine's 30 s."""
    yield from short_busy_wait(engine)


def write_during_send(robot: Robot, send: Callable[[], Any], write: Callable[[], Any]) -> float:
    """Run ``send`` (a job that posts to ``robot``) on a thread; once its request is held in the robot,
    run ``write`` and let the request go; the seconds ``write`` took. Fails when the send never reached
    the robot, or when the robot gave up holding it (the write waited for the send)."""
    robot.hold = threading.Event()
    robot.arrived.clear()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            send()
        except BaseException as exc:  # reported on the test's thread
            failures.append(exc)

    sender = threading.Thread(target=run)
    sender.start()
    try:
        assert robot.arrived.wait(HOLD_S), "the send never reached the robot"
        started = time.monotonic()
        write()
        took = time.monotonic() - started
    finally:
        robot.hold.set()
        sender.join(3 * HOLD_S)
    assert not failures, failures
    assert robot.held[:1] == [True], "the write waited for the send"
    return took

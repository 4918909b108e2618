"""WeCom group robot stubs on 127.0.0.1 for the tests that post through robots (group alerts, the
feed's posts, push messages): ``Robot`` records what it receives, ``running`` serves a few for a test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

HOLD_S = 10.0  # the longest a held request waits to be let go


class Robot:
    """A WeCom group robot on 127.0.0.1 that records what it receives. Each request takes the next of
    ``answers`` (its JSON), ``statuses`` (its HTTP status) and ``delays`` (seconds before answering),
    if any are left; then it answers 200 ``{"errcode": 0}`` at once. With ``hold`` set, each request
    says it ``arrived`` and waits (up to ``HOLD_S``) for ``hold`` before answering; ``held`` tells, per
    request, whether it was let go (True) or gave up waiting (False)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.delays: list[float] = []
        self.hold: threading.Event | None = None
        self.arrived = threading.Event()
        self.held: list[bool] = []
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                robot.received.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
                answer = robot.answers.pop(0) if robot.answers else {"errcode": 0, "errmsg": "ok"}
                status = robot.statuses.pop(0) if robot.statuses else 200
                robot.arrived.set()
                if robot.hold is not None:
                    robot.held.append(robot.hold.wait(HOLD_S))
                time.sleep(robot.delays.pop(0) if robot.delays else 0)
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the client gave up waiting (a timeout under test)
                    return

            def log_message(self, *_args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=robot-key"


@contextmanager
def running(count: int) -> Iterator[list[Robot]]:
    """``count`` robot stubs, each served on its own thread until the block ends."""
    robots = [Robot() for _ in range(count)]
    threads = [threading.Thread(target=r.server.serve_forever, daemon=True) for r in robots]
    for thread in threads:
        thread.start()
    try:
        yield robots
    finally:
        for robot, thread in zip(robots, threads, strict=True):
            robot.server.shutdown()
            thread.join(timeout=5)
            robot.server.server_close()


@pytest.fixture
def robot() -> Iterator[Robot]:
    """A running robot stub; its URL carries the key ``robot-key``."""
    with running(1) as [stub]:
        yield stub

"""A send ends by its deadline (``groups.webhook.SEND_LIMIT_SECONDS``), whatever holds it: a receiver
that trickles its status line and headers a byte at a time (httpx's read timeout starts again with every
byte), one that trickles its body, a host name slow to resolve. A delivery's lease counts on it
(``SEND_BOUND``): a send that outlived the lease could be made a second time by the next run.

The limits are made small here (a second); the receivers would hold a call for far longer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from neigou.groups import webhook

AT = datetime(2026, 3, 25, 2, 0, tzinfo=UTC)
LIMIT = 1.0
# A loaded machine's scheduling (threads descheduled for seconds), never a step's timeout (10 s).
SLACK = 5.0
TRICKLE_S = 0.2
# The longest a receiver trickles before hanging up: far past LIMIT + SLACK, so only the deadline ends
# a send in time. A receiver stops once the test is done, so a send that keeps to it waits no longer.
HOLD_S = 30.0


@pytest.fixture(autouse=True)
def _small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook, "SEND_DEADLINE_SECONDS", LIMIT / 2)
    monkeypatch.setattr(webhook, "SEND_LIMIT_SECONDS", LIMIT, raising=False)


@contextmanager
def trickling(head: bytes, body: bytes) -> Iterator[str]:
    """A receiver on 127.0.0.1 that reads a request, sends ``head`` at once and then ``body`` a byte every
    ``TRICKLE_S`` (for ``HOLD_S`` at most, or until the caller hangs up); its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:  # closed before anybody called
            return
        with conn:
            conn.settimeout(HOLD_S)
            try:
                conn.recv(65536)
                conn.sendall(head)
                ends = time.monotonic() + HOLD_S
                for byte in body:
                    if stop.is_set() or time.monotonic() > ends:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(TRICKLE_S)
            except OSError:  # the caller hung up: what the deadline is for
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/cgi-bin/webhook/send?key=robot-key"
    finally:
        stop.set()
        listener.close()
        thread.join(HOLD_S + 2)


def _timed(url: str) -> tuple[webhook.Outcome, float]:
    started = time.monotonic()
    outcome = webhook.send_markdown(url, "hi", secret=None, at=AT, allow_private=True)  # on 127.0.0.1
    return outcome, time.monotonic() - started


def test_headers_trickled_a_byte_at_a_time_end_the_send_at_its_deadline() -> None:
    head = b"HTTP/1.1 200 OK\r\n"
    with trickling(head, b"x-padding: " + b"a" * 200 + b"\r\n\r\n") as url:
        outcome, took = _timed(url)
    assert took < LIMIT + SLACK, took  # without the deadline: the whole trickle, HOLD_S
    assert (outcome.ok, outcome.http_status) == (False, None)
    assert outcome.detail.startswith("ReadTimeout"), outcome.detail


def test_a_status_line_trickled_a_byte_at_a_time_ends_the_send_at_its_deadline() -> None:
    with trickling(b"", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok") as url:
        outcome, took = _timed(url)
    assert took < LIMIT + SLACK, took
    assert not outcome.ok
    assert outcome.detail.startswith("ReadTimeout"), outcome.detail


def test_a_body_trickled_after_a_2xx_is_the_answer_as_far_as_it_came() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n"
    with trickling(head, b'{"errcode": 0, "errmsg": "ok"' + b" " * 70 + b"}") as url:
        outcome, took = _timed(url)
    assert took < LIMIT + SLACK, took
    assert (outcome.ok, outcome.http_status) == (True, 200)  # the robot took it: its 2xx came


def test_a_host_name_slow_to_resolve_ends_the_send_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup cannot be interrupted: the send stops waiting for it at the deadline, and nothing is
    sent once it comes."""
    resolve = socket.getaddrinfo
    released, looked_up = threading.Event(), threading.Event()

    def slow(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "slow.robot.test":
            released.wait(HOLD_S)  # answered once the send is over, or far past its deadline
            looked_up.set()
            raise socket.gaierror(socket.EAI_AGAIN, "slow")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    outcome, took = _timed("http://slow.robot.test/cgi-bin/webhook/send?key=robot-key")
    released.set()
    assert took < LIMIT + SLACK, took
    assert not outcome.ok
    assert outcome.detail.startswith("ConnectTimeout"), outcome.detail
    assert looked_up.wait(HOLD_S)  # the abandoned lookup ends on its thread, before the patch is undone

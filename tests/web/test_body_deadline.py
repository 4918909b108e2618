"""A body that does not arrive in time (NEIGOU_BODY_TIMEOUT_S) is answered 408 ``body_timeout``, and a
small body is read before its request takes an admission slot: slow senders cannot starve the others."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp
from starlette.types import Message as AsgiMessage

from neigou.kit.settings import Settings
from neigou.web.admission import AdmissionControl
from neigou.web.app import create_app
from neigou.web.body_deadline import BodyDeadline
from neigou.web.body_limit import BodyLimit
from tests import aio

T = TypeVar("T")
TINY = 0.05  # seconds: the deadline a test sets, so that nothing waits long


class SlowBody:
    """A client sending ``first`` of a body that says it is ``length`` bytes long, then nothing until
    ``more`` is set (when it sends the rest)."""

    def __init__(self, path: str, *, first: bytes, length: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.first, self.length = first, length
        self.more = asyncio.Event()
        self.calls = 0
        self.sent: list[AsgiMessage] = []
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1"), (b"content-length", str(length).encode()), *headers],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            return {"type": "http.request", "body": self.first, "more_body": True}
        if self.calls == 2:
            await self.more.wait()
            rest = b"x" * (self.length - len(self.first))
            return {"type": "http.request", "body": rest, "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer
        return {"type": "http.disconnect"}

    async def send(self, message: AsgiMessage) -> None:
        self.sent.append(message)

    async def run(self, app: ASGIApp) -> tuple[int, dict[bytes, bytes], bytes]:
        await app(self.scope, self.receive, self.send)
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        return start["status"], dict(start["headers"]), body

    async def waiting(self) -> None:
        """Until the body's second part has been asked for (the request is stuck on it)."""
        for _ in range(400):
            if self.calls >= 2:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the body was never read")


def test_slow_sign_in_forms_do_not_hold_the_admission_slots(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """One slot: a sign-in form trickling in does not take it (the next caller is served, not shed), and
    once its deadline passes it is answered 408 in a page, its connection closed."""
    tight = settings.model_copy(update={"max_in_flight": 1, "queue_wait_ms": 0, "body_timeout_s": TINY})
    app = create_app(tight, session_factory=factory, start_jobs=False)

    async def scenario() -> None:
        slow = SlowBody(
            "/console/login",
            first=b"email=a%40b.example&password=",
            length=60000,
            headers=[(b"content-type", b"application/x-www-form-urlencoded")],
        )
        stuck = asyncio.create_task(slow.run(app))
        await slow.waiting()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            other = await client.get("/console/login")
        assert other.status_code == 200  # before: 503 overloaded, the slot held by the slow form
        status, headers, body = await asyncio.wait_for(stuck, 10)
        assert status == 408
        assert headers[b"connection"] == b"close"
        assert b'data-code="body_timeout"' in body
        assert "没有及时送达".encode() in body

    aio.run(scenario())


def _inner() -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    return Starlette(routes=[Route("/api/v1/echo", echo, methods=["POST"])])


def _stack(
    *, timeout: float, preread: int, budget: int = 1 << 20, min_rate: int = 0, inner: ASGIApp | None = None
) -> tuple[ASGIApp, AdmissionControl]:
    inner = _inner() if inner is None else inner
    admission = AdmissionControl(inner, limit=1, queue_wait_ms=0, retry_after_ms=1000, exempt=frozenset())
    deadline = BodyDeadline(admission, timeout=timeout, preread=preread, budget=budget, min_rate=min_rate)
    return BodyLimit(deadline, max_bytes=1024 * 1024), admission


def test_an_upload_that_stops_arriving_gives_its_slot_back() -> None:
    """A body larger than what is read ahead is admitted first; when it stops arriving for longer than
    the timeout it is answered 408 problem+json in the caller's language and its slot is free again."""
    app, admission = _stack(timeout=TINY, preread=16)

    async def scenario() -> None:
        slow = SlowBody("/api/v1/echo", first=b"x" * 100, length=1000, headers=[(b"accept-language", b"en")])
        status, headers, body = await asyncio.wait_for(slow.run(app), 10)
        assert (status, headers[b"content-type"]) == (408, b"application/problem+json")
        assert b'"code":"body_timeout"' in body
        assert b"stopped arriving for more than 0.05 seconds" in body
        assert admission.in_flight == 0

    aio.run(scenario())


def test_bodies_arriving_in_time_reach_the_application_whole() -> None:
    """Read ahead of admission or after it, a body sent in parts arrives whole and the slot is freed."""
    for preread in (16, 4096):
        app, admission = _stack(timeout=60, preread=preread)

        async def scenario(app: ASGIApp) -> tuple[int, dict[bytes, bytes], bytes]:
            slow = SlowBody("/api/v1/echo", first=b"y" * 100, length=1000, headers=[])
            task = asyncio.create_task(slow.run(app))
            await slow.waiting()
            slow.more.set()
            return await asyncio.wait_for(task, 10)

        status, _headers, body = aio.run(scenario(app))
        assert (status, body) == (200, b"1000")
        assert admission.in_flight == 0


def test_a_chunked_body_past_the_size_limit_is_refused_while_read_ahead() -> None:
    """Reading ahead keeps the size limit: a body without a length is counted as it comes."""
    admission = AdmissionControl(_inner(), limit=1, queue_wait_ms=0, retry_after_ms=1000, exempt=frozenset())
    app = BodyLimit(BodyDeadline(admission, timeout=60, preread=4096), max_bytes=2048)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        slow = SlowBody("/api/v1/echo", first=b"z" * 3000, length=1, headers=[])
        slow.scope["headers"] = [(b"host", b"127.0.0.1"), (b"transfer-encoding", b"chunked")]
        return await asyncio.wait_for(slow.run(app), 10)

    status, _headers, body = aio.run(scenario())
    assert status == 413
    assert b'"code":"body_too_large"' in body
    assert admission.in_flight == 0


class Trickle(SlowBody):
    """A client sending its body ``part`` by ``part``, ``gap`` seconds apart: ``parts`` of them (then the
    body is whole), or without end when None."""

    def __init__(self, *, part: bytes, gap: float, parts: int | None) -> None:
        length = len(part) * (parts or 1_000_000)
        super().__init__("/api/v1/echo", first=b"", length=length, headers=[(b"accept-language", b"en")])
        self.part, self.gap, self.parts = part, gap, parts

    async def receive(self) -> dict[str, Any]:
        self.calls += 1
        if self.parts is not None and self.calls > self.parts:
            await asyncio.Event().wait()  # the client stays until the answer
        await asyncio.sleep(self.gap)
        return {"type": "http.request", "body": self.part, "more_body": self.calls != self.parts}


class _OwnClock(asyncio.SelectorEventLoop):
    """A loop whose time moves only as a ``_GapsOnItsClock`` says: a loaded machine's pauses (a process
    descheduled for longer than a gap's timeout) never count as a gap."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        return self.now


class _GapsOnItsClock(Trickle):
    """A ``Trickle`` whose gaps pass on the loop's own clock (``_OwnClock``), at once on the machine's."""

    def __init__(self, *, part: bytes, gap: float, parts: int) -> None:
        super().__init__(part=part, gap=0, parts=parts)
        self.own_gap = gap

    async def receive(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, _OwnClock)
        loop.now += self.own_gap
        return await super().receive()


def _on_its_clock(scenario: Coroutine[Any, Any, T]) -> T:
    """Run ``scenario`` on an ``_OwnClock`` loop of a thread of its own (a minute at most)."""
    result: list[T] = []

    def run() -> None:
        with asyncio.Runner(loop_factory=_OwnClock) as runner:  # closes its loop: no unclosed-loop warning
            result.append(runner.run(scenario))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(60)
    assert result, "the scenario never ended"
    return result[0]


def test_an_upload_that_keeps_arriving_is_read_whole_however_long_it_takes() -> None:
    """An upload on a slow uplink: every part comes well inside the timeout, the whole body only after
    it (fifteen gaps of a tenth of it). It is read whole; before, it was answered 408 at the timeout.
    The gaps pass on the loop's clock: on the machine's, a loaded machine's pause made one a stall."""
    app, admission = _stack(timeout=0.3, preread=16)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        return await asyncio.wait_for(_GapsOnItsClock(part=b"u" * 64, gap=0.03, parts=15).run(app), 10)

    status, _headers, body = _on_its_clock(scenario())
    assert (status, body) == (200, str(64 * 15).encode())
    assert admission.in_flight == 0


def test_a_small_body_trickling_in_after_admission_still_has_its_deadline() -> None:
    """A body no larger than what is read ahead, admitted first (the read-ahead budget spent), that keeps
    sending a byte at a time: it never stalls, and is still answered 408 at its deadline."""
    app, admission = _stack(timeout=TINY, preread=1 << 20, budget=0)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        slow = Trickle(part=b"s", gap=TINY / 10, parts=None)
        slow.scope["headers"] = [
            (b"host", b"127.0.0.1"),
            (b"content-length", b"4096"),
            (b"accept-language", b"en"),
        ]
        return await asyncio.wait_for(slow.run(app), 10)

    status, _headers, body = aio.run(scenario())
    assert status == 408
    assert b"did not arrive within 0.05 seconds" in body
    assert admission.in_flight == 0


def test_a_body_declared_large_but_trickled_still_has_its_deadline() -> None:
    """A body that says it is larger than what is read ahead, sent a byte at a time: until that much has
    actually arrived it is held to the whole-body deadline (it was timed only on stalls from its declared
    length, so a byte every few seconds held an admission slot for hours)."""
    app, admission = _stack(timeout=TINY, preread=4096)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        return await asyncio.wait_for(Trickle(part=b"s", gap=TINY / 10, parts=None).run(app), 10)

    status, _headers, body = aio.run(scenario())
    assert status == 408
    assert b"did not arrive within 0.05 seconds" in body
    assert admission.in_flight == 0


def test_an_upload_behind_the_minimum_rate_gives_its_slot_back() -> None:
    """A byte every 20 ms, never a stall, but 50 bytes a second against a minimum of 1,000: once the
    first timeout has passed and the body falls behind the rate it is answered 408 and its slot freed
    (before, a sender that never stalled held its slot for as long as it went on). The gaps pass on the
    loop's clock, so a loaded machine's pause is neither a stall nor slowness."""
    app, admission = _stack(timeout=0.5, preread=16, min_rate=1000)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        return await asyncio.wait_for(_GapsOnItsClock(part=b"r", gap=0.02, parts=1000).run(app), 60)

    status, headers, body = _on_its_clock(scenario())
    assert (status, headers[b"content-type"]) == (408, b"application/problem+json")
    assert b'"code":"body_timeout"' in body
    assert b"arrived slower than 1000 bytes a second" in body
    assert admission.in_flight == 0


def test_an_upload_above_the_minimum_rate_is_read_whole_past_the_timeout() -> None:
    """Twenty times the minimum rate: read whole, though it takes longer than the timeout (on the loop's
    clock, as above)."""
    app, admission = _stack(timeout=0.3, preread=16, min_rate=100)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        return await asyncio.wait_for(_GapsOnItsClock(part=b"u" * 64, gap=0.03, parts=15).run(app), 10)

    status, _headers, body = _on_its_clock(scenario())
    assert (status, body) == (200, str(64 * 15).encode())
    assert admission.in_flight == 0


def test_the_applications_own_time_between_reads_does_not_count_against_the_sender() -> None:
    """An application that works 50 ms on each part it reads takes the body at about 1,300 bytes a second
    of wall time, under a minimum of 10,000; the sender, asked for each part, sends it at once: read whole."""

    async def slow_reader(request: Request) -> PlainTextResponse:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            await asyncio.sleep(0.05)
        return PlainTextResponse(str(size))

    reader = Starlette(routes=[Route("/api/v1/echo", slow_reader, methods=["POST"])])
    app, admission = _stack(timeout=0.3, preread=16, min_rate=10_000, inner=reader)

    async def scenario() -> tuple[int, dict[bytes, bytes], bytes]:
        return await asyncio.wait_for(Trickle(part=b"w" * 64, gap=0, parts=15).run(app), 10)

    status, _headers, body = aio.run(scenario())
    assert (status, body) == (200, str(64 * 15).encode())
    assert admission.in_flight == 0

"""Admission control on its own: at most ``limit`` requests in flight, a short first-come wait, then a
503 ``overloaded`` with Retry-After (seconds) and Retry-After-Ms; probes pass however full it is."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from neigou.web.admission import AdmissionControl
from tests import aio

RETRY_MS = 1500


def _app(gate: asyncio.Event, *, limit: int = 1, queue_wait_ms: int = 100) -> AdmissionControl:
    async def slow(_request: Request) -> PlainTextResponse:
        await gate.wait()
        return PlainTextResponse("done")

    async def probe(_request: Request) -> PlainTextResponse:
        return PlainTextResponse("alive")

    inner = Starlette(routes=[Route("/slow", slow), Route("/healthz", probe)])
    return AdmissionControl(
        inner,
        limit=limit,
        queue_wait_ms=queue_wait_ms,
        retry_after_ms=RETRY_MS,
        exempt=frozenset({"/healthz"}),
    )


def _client(app: AdmissionControl) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def _until(app: AdmissionControl, attribute: str, value: int) -> None:
    for _ in range(200):
        if getattr(app, attribute) == value:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{attribute} never reached {value}")


def test_past_the_limit_a_request_waits_briefly_then_is_shed() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _app(gate)
        async with _client(app) as client:
            first = asyncio.create_task(client.get("/slow"))
            await _until(app, "in_flight", 1)
            shed = await client.get("/slow")
            assert shed.status_code == 503
            assert shed.headers["content-type"] == "application/problem+json"
            assert shed.headers["retry-after"] == "2"  # whole seconds, rounded up
            assert shed.headers["retry-after-ms"] == str(RETRY_MS)
            body = shed.json()
            assert (body["code"], body["status"], body["retry_after_ms"]) == ("overloaded", 503, RETRY_MS)
            assert (body["title"], body["detail"]) == (
                "服务繁忙",
                f"服务器繁忙，请在 {RETRY_MS} 毫秒后重试。",
            )
            english = await client.get("/slow", headers={"accept-language": "en"})
            assert english.json()["detail"] == f"The server is at capacity; retry in {RETRY_MS} ms."
            probe = await client.get("/healthz")
            assert (probe.status_code, probe.text) == (200, "alive")
            gate.set()
            assert (await first).status_code == 200
            assert (await client.get("/slow")).status_code == 200
        assert app.in_flight == 0

    aio.run(scenario())


def test_a_waiting_request_takes_the_slot_a_finished_one_hands_over() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _app(gate, limit=1, queue_wait_ms=5000)
        async with _client(app) as client:
            first = asyncio.create_task(client.get("/slow"))
            await _until(app, "in_flight", 1)
            waiting = asyncio.create_task(client.get("/slow"))
            await _until(app, "waiting", 1)
            assert not waiting.done()
            gate.set()
            assert (await first).status_code == 200
            assert (await waiting).status_code == 200
        assert app.in_flight == 0

    aio.run(scenario())


def test_a_caller_that_gives_up_while_waiting_frees_its_place() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _app(gate, limit=1, queue_wait_ms=5000)
        async with _client(app) as client:
            first = asyncio.create_task(client.get("/slow"))
            await _until(app, "in_flight", 1)
            impatient = asyncio.create_task(client.get("/slow"))
            await _until(app, "waiting", 1)
            impatient.cancel()
            await _until(app, "waiting", 0)
            gate.set()
            assert (await first).status_code == 200
            # Nobody is left waiting: the next request is admitted at once.
            assert (await client.get("/slow")).status_code == 200
        assert app.in_flight == 0

    aio.run(scenario())


def test_without_a_queue_wait_a_full_process_sheds_at_once() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _app(gate, limit=2, queue_wait_ms=0)
        async with _client(app) as client:
            running = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
            await _until(app, "in_flight", 2)
            assert (await client.get("/slow")).status_code == 503
            gate.set()
            assert [(await r).status_code for r in running] == [200, 200]
        assert app.in_flight == 0

    aio.run(scenario())

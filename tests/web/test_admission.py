"""Admission control on its own: at most ``limit`` requests in flight, a short first-come wait, then a
503 ``overloaded`` with Retry-After (seconds) and Retry-After-Ms (problem+json to the API, a page in the
page's own language to a person); probes pass however full it is."""

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
            shed = await client.get("/api/v1/slow")
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
            english = await client.get("/api/v1/slow", headers={"accept-language": "en"})
            assert english.json()["detail"] == f"The server is at capacity; retry in {RETRY_MS} ms."
            probe = await client.get("/healthz")
            assert (probe.status_code, probe.text) == (200, "alive")
            gate.set()
            assert (await first).status_code == 200
            assert (await client.get("/slow")).status_code == 200
        assert app.in_flight == 0

    aio.run(scenario())


SHED_PAGE = {
    "zh-CN": "当前使用人数较多，请稍后再试。",
    "en": "Many people are using the service right now. Please try again in a moment.",
}


def _shed_page(response: httpx.Response, lang: str) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert (response.headers["retry-after"], response.headers["retry-after-ms"]) == ("2", str(RETRY_MS))
    assert response.headers["cache-control"] == "no-store"
    assert f'<html lang="{lang}">' in response.text
    assert 'data-testid="http-error" data-code="overloaded"' in response.text
    assert f'data-testid="http-error-message">{SHED_PAGE[lang]}</p>' in response.text


def test_a_shed_page_is_a_page_in_the_language_the_page_would_be_in() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        app = _app(gate)
        async with _client(app) as client:
            first = asyncio.create_task(client.get("/slow"))
            await _until(app, "in_flight", 1)
            _shed_page(await client.get("/p/some-link"), "zh-CN")  # a shopper's page, before routing
            _shed_page(await client.get("/console/orders?lang=en"), "en")
            _shed_page(await client.get("/e/launch", headers={"cookie": "neigou_lang=en"}), "en")
            # a page is never in Accept-Language's language (web.i18n.locale_of), nor is its 503
            _shed_page(await client.get("/m/earnings", headers={"accept-language": "en"}), "zh-CN")
            gate.set()
            assert (await first).status_code == 200
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

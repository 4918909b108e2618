"""Live-board streams against a real server (uvicorn in a child process, on this run's database):
WATCHERS operators watch one event's board at once, which is also the process's stream cap.

Streams are counted apart from admission control: with every stream slot taken, one more stream is
answered 503 ``overloaded`` with Retry-After, while a reservation, an API read and a console page
still answer; the open streams hold no request slot and, between pushes, no database connection
(the pool's checked-out count, from ``/metrics``); they push what changed, give their slot back when
their client goes away, and end when the server stops. Before streams had their own gate, each one
held a request slot for its whole life: sixteen watchers (``max_in_flight``) left every other request
a 503. The watchers of one board share its reads (one per event, organization and tick, counted by
``/metrics``): before, every watcher read the board on its own, sixty reads a tick for sixty watchers. Nothing is timed: a wait is bounded only by STALLED_AFTER, a stall, never a measure of speed.
The module's tests share one server (``server``, started once: a start is a whole app's imports in a new
process); the test that stops it comes last, and the others take it through ``live``.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from neigou.auth.models import Role
from neigou.kit.settings import STREAM_READERS
from neigou.web.console_events import BOARD_SECONDS
from tests import aio
from tests.conftest import TokenMaker, bearer
from tests.events.builders import SKU, add_employees, create_event
from tests.factories import create_program
from tests.web.served import STALLED_AFTER, Served, serve

WATCHERS = 60


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The server with room for WATCHERS streams and the default request slots. A request may wait
    ten seconds for a slot instead of one: the WATCHERS streams open at once, each a request until its
    first board, and on a loaded machine the last of them could otherwise be shed before a slot frees
    (a watcher that held its slot for its whole life would still starve the reservation and pages)."""
    with serve(
        database_url,
        tmp_path_factory.mktemp("stream-server"),
        NEIGOU_MAX_STREAMS=str(WATCHERS),
        NEIGOU_QUEUE_WAIT_MS="10000",
    ) as served:
        yield served


@pytest.fixture
def live(server: Served) -> Served:
    """The module's server, still running: a test that needs it comes before the one that stops it."""
    assert server.process.poll() is None, "the module's server was stopped by an earlier test"
    return server


def _event(client: TestClient, operator: dict[str, str]) -> dict[str, int]:
    program = create_program(client, operator, code="streams")
    event_id = create_event(client, operator, program["id"])
    add_employees(client, operator, event_id, [{"employee_no": f"E{i}", "name": f"员工{i}"} for i in (1, 2)])
    return {"program": program["id"], "event": event_id}


async def _board(lines: Any) -> str:
    """The data of the stream's next ``board`` event."""
    async for line in lines:
        if line == "event: board":
            data: str = (await anext(lines)).removeprefix("data: ")
            return data
    raise AssertionError("the stream ended before its board")


async def _open(
    stack: AsyncExitStack, client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> tuple[httpx.Response, Any]:
    response = await stack.enter_async_context(client.stream("GET", path, headers=headers))
    return response, response.aiter_lines()


async def _metrics(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, float]:
    answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
        if sample.name.startswith("neigou_")
    }


async def _until_closed(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + STALLED_AFTER  # a stall, not a measure of speed
    while (await _metrics(client, headers))["neigou_streams_open"] > 0:
        assert time.monotonic() < deadline, "the streams of gone clients stayed open"
        await asyncio.sleep(0.1)


def _client(base: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=WATCHERS + 10)
    return httpx.AsyncClient(base_url=base, timeout=STALLED_AFTER, limits=limits)


def test_watchers_leave_room_for_reservations_reads_and_pages(
    live: Served, client: TestClient, operator: dict[str, str]
) -> None:
    world = _event(client, operator)
    stream = f"/console/events/{world['event']}/board/stream"

    async def scenario() -> None:
        async with _client(live.base) as http, AsyncExitStack() as stack:
            unknown = await http.get(f"/console/events/{2**40}/board/stream", headers=operator)
            assert (unknown.status_code, unknown.json()["code"]) == (404, "event_not_found")  # slot freed
            watchers = await asyncio.gather(*(_open(stack, http, stream, operator) for _ in range(WATCHERS)))
            assert [r.status_code for r, _ in watchers] == [200] * WATCHERS
            firsts = await asyncio.gather(*(_board(lines) for _, lines in watchers))
            assert all('"reservations":0' in board for board in firsts)

            one_more = await http.get(stream, headers=operator)
            assert one_more.status_code == 503
            assert one_more.json()["code"] == "overloaded"
            assert one_more.headers["content-type"] == "application/problem+json"
            assert int(one_more.headers["retry-after"]) >= 1

            reservation = await http.post(
                f"/api/v1/events/{world['event']}/reservations",
                json={"sku": SKU, "customer_ref": "13800000001", "employee_no": "E1"},
                headers=operator,
            )
            assert reservation.status_code == 201, reservation.text
            program = await http.get(f"/api/v1/programs/{world['program']}", headers=operator)
            assert program.status_code == 200, program.text
            page = await http.get(f"/console/events/{world['event']}", headers=operator)
            assert page.status_code == 200, page.text

            gauges = await _metrics(http, operator)
            assert gauges["neigou_streams_open"] == WATCHERS
            assert gauges["neigou_http_requests_in_flight"] == 0  # /metrics itself is not admitted
            if "neigou_db_pool_connections_in_use" in gauges:  # a QueuePool (both test databases)
                assert gauges["neigou_db_pool_connections_in_use"] <= STREAM_READERS

            pushed = await asyncio.gather(*(_board(lines) for _, lines in watchers))
            assert all('"reservations":1' in board for board in pushed)

            await stack.aclose()  # every watcher goes away
            await _until_closed(http, operator)
            again = [await _open(stack, http, stream, operator) for _ in range(WATCHERS)]
            assert [r.status_code for r, _ in again] == [200] * WATCHERS
            await stack.aclose()

    aio.run(scenario())
    log = live.log()
    assert "request.failed" not in log, log[-3000:]
    assert "request.pool_timeout" not in log, log[-3000:]


def test_watchers_of_a_board_share_one_read_per_tick(
    live: Served, client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    organizations = [
        client.post("/api/v1/organizations", json={"code": c, "name": c}, headers=operator).json()["id"]
        for c in ("ours", "acme")
    ]
    ours, theirs = (bearer(make_token(Role.OPERATOR, organization_id=o)) for o in organizations)
    program = create_program(client, operator, code="shared", organization_id=organizations[0])["id"]
    events = [create_event(client, operator, program, name=name) for name in ("one", "other")]
    for event in events:
        add_employees(client, operator, event, [{"employee_no": "E1", "name": "员工1"}])
    first, second = (f"/console/events/{e}/board/stream" for e in events)
    watchers = [(first, operator)] * 30 + [(second, operator)] * 10 + [(first, ours)] * 10

    async def reserve(http: httpx.AsyncClient, event: int, phone: str) -> None:
        body = {"sku": SKU, "customer_ref": phone, "employee_no": "E1"}
        answer = await http.post(f"/api/v1/events/{event}/reservations", json=body, headers=operator)
        assert answer.status_code == 201, answer.text

    async def scenario() -> None:
        async with _client(live.base) as http, AsyncExitStack() as stack:
            opened = await asyncio.gather(*(_open(stack, http, path, who) for path, who in watchers))
            assert [r.status_code for r, _ in opened] == [200] * len(watchers)
            assert all('"reservations":0' in b for b in await asyncio.gather(*(_board(x) for _, x in opened)))
            # Another organization's operator is never handed the board its feed already holds.
            refused = await http.get(first, headers=theirs)
            assert (refused.status_code, refused.json()["code"]) == (404, "event_not_found")
            gauges = await _metrics(http, operator)
            assert gauges["neigou_stream_feeds"] == 3  # two events, one of them seen by two scopes
            started, reads = time.monotonic(), gauges["neigou_stream_reads_total"]

            await reserve(http, events[0], "13800000001")
            await reserve(http, events[1], "13800000002")
            pushed = await asyncio.gather(*(_board(lines) for _, lines in opened))
            assert all('"reservations":1' in board for board in pushed)
            made = (await _metrics(http, operator))["neigou_stream_reads_total"] - reads
            ticks = (time.monotonic() - started) / BOARD_SECONDS + 2  # the ticks that could have run
            assert 3 <= made <= 3 * ticks, (made, ticks)  # not one per watcher (fifty a tick)

            await stack.aclose()
            await _until_closed(http, operator)
            gauges = await _metrics(http, operator)
            assert gauges["neigou_stream_feeds"] == 0
            await asyncio.sleep(2 * BOARD_SECONDS)
            after = await _metrics(http, operator)
            assert after["neigou_stream_reads_total"] == gauges["neigou_stream_reads_total"]  # not read

    aio.run(scenario())
    log = live.log()
    assert "request.failed" not in log, log[-3000:]


async def _sample(client: httpx.AsyncClient, headers: dict[str, str], name: str, **labels: str) -> float:
    answer = await client.get("/metrics", headers=headers)
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def test_a_stream_is_timed_as_a_request_up_to_its_first_board_only(
    live: Served, client: TestClient, operator: dict[str, str]
) -> None:
    """The request latency of a stream ends when it starts streaming, with its first board; its
    life is ``neigou_stream_duration_seconds``. Before, a stream held open for minutes was one
    request of minutes in the latency histogram."""
    program = create_program(client, operator, code="timed")
    path = f"/console/events/{create_event(client, operator, program['id'])}/board/stream"
    route = "/console/events/{event_id}/board/stream"
    request = {"method": "GET", "route": route, "status": "200"}
    latency, life = "neigou_http_request_duration_seconds", "neigou_stream_duration_seconds"

    names = {
        "latency": (f"{latency}_sum", request),
        "requests": (f"{latency}_count", request),
        "life": (f"{life}_sum", {"route": route}),
        "lives": (f"{life}_count", {"route": route}),
    }

    async def samples(http: httpx.AsyncClient) -> dict[str, float]:
        return {key: await _sample(http, operator, name, **labels) for key, (name, labels) in names.items()}

    async def until(http: httpx.AsyncClient, done: Callable[[dict[str, float]], bool]) -> dict[str, float]:
        deadline = time.monotonic() + STALLED_AFTER  # a stall, not a measure of speed
        while not done(now := await samples(http)):
            assert time.monotonic() < deadline, "the stream was not recorded"
            await asyncio.sleep(0.1)
        return now

    async def scenario() -> None:
        async with _client(live.base) as http, AsyncExitStack() as stack:
            before = await samples(http)
            opened = time.perf_counter()
            _, lines = await _open(stack, http, path, operator)
            await _board(lines)
            first = time.perf_counter() - opened
            await asyncio.sleep(1.0)  # the stream stays open well past its first board
            await stack.aclose()
            after = await until(http, lambda now: now["requests"] > before["requests"])
            assert after["latency"] - before["latency"] <= first  # timed up to its first board only
            after = await until(http, lambda now: now["lives"] > before["lives"])
            assert (after["requests"], after["lives"]) == (before["requests"] + 1, before["lives"] + 1)
            assert after["life"] - before["life"] >= 1.0

    aio.run(scenario())


def test_open_streams_end_when_the_server_stops(
    server: Served, client: TestClient, operator: dict[str, str]
) -> None:
    """Stops the module's server, so it comes last (``live`` fails any test after it)."""
    world = _event(client, operator)
    stream = f"/console/events/{world['event']}/board/stream"

    async def scenario() -> list[str]:
        async with _client(server.base) as http, AsyncExitStack() as stack:
            watchers = [await _open(stack, http, stream, operator) for _ in range(3)]
            await asyncio.gather(*(_board(lines) for _, lines in watchers))
            server.process.send_signal(signal.SIGTERM)
            return [line for _, lines in watchers async for line in lines]  # read to the end

    aio.run(scenario())
    # uvicorn stops gracefully, then raises the signal it caught again: -SIGTERM, not a hang.
    assert server.process.wait(timeout=STALLED_AFTER) in {0, -signal.SIGTERM}
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    assert "Task was destroyed" not in log, log[-3000:]

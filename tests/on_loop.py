"""Sweeps of thousands of requests, sent from the app's own event loop.

``TestClient`` hands each request to the event loop of its portal thread and waits for the answer
through a handful of thread switches; on a loaded machine those switches cost more than the request
itself. ``send_all`` hands a whole sweep over once: on the portal's loop (the one running the app's
lifespan) an ``httpx2.AsyncClient`` sends each request through ``ASGITransport`` to the same app,
middleware and all, encoded by the library the test client itself is built on. Exceptions the app
raises reach the caller as they do through the test client. The test client's cookies go along, and its
CSRF token is sent as a header as ``tests.app_fixtures.page_client`` does; cookies the answers set stay in
the sweep's client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from importlib.util import find_spec
from typing import TypeVar

import httpx2
from fastapi.testclient import TestClient
from httpx2._transports import asgi

from neigou.web.forms import CSRF_COOKIE

# For every request, ``ASGITransport`` asks whether trio runs the loop by importing sniffio. Where sniffio
# is not installed the answer is always no, but a failed import is not remembered: each request searched
# every ``sys.path`` entry for it again, about a tenth of a sweep's time. It is answered once here.
if find_spec("sniffio") is None:
    asgi.is_running_trio = lambda: False

Item = TypeVar("Item")
Result = TypeVar("Result")
Send = Callable[[httpx2.AsyncClient, Item], Awaitable[Result]]


def send_all(client: TestClient, items: Iterable[Item], send: Send[Item, Result]) -> list[Result]:
    """``send(http, item)`` for each item in turn, ``http`` an async client of ``client``'s app; the results
    in order. ``client`` must be open (``with TestClient(app)``, as the ``client`` fixture is)."""
    portal = client.portal
    if portal is None:
        raise RuntimeError("send_all needs an open test client: its portal runs the app's lifespan")

    async def sweep() -> list[Result]:
        http = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=client.app),
            base_url=client.base_url,
            headers=client.headers,
            cookies=client.cookies,
        )

        async def send_token(request: httpx2.Request) -> None:
            token = http.cookies.get(CSRF_COOKIE)
            if token and "x-csrftoken" not in request.headers:
                request.headers["x-csrftoken"] = token

        http.event_hooks["request"].append(send_token)
        async with http:
            return [await send(http, item) for item in items]

    return portal.call(sweep)

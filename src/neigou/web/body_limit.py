"""Request bodies past a size are refused with 413 before anything reads them.

A 100 MB body used to be read in full before the 401 that refused its caller. A declared
``Content-Length`` over the limit is answered at once; a body without one (chunked) is counted as it
arrives and refused the moment it passes the limit, before the application sees the rest.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from neigou.kit.i18n import N_, Message
from neigou.web.problems import problem

TOO_LARGE = "body_too_large"


class _TooLarge(BaseException):  # not Exception: body parsers turn those into 400s
    pass


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    megabytes = max(1, limit // (1024 * 1024))
    response = problem(
        Request(scope),
        413,
        TOO_LARGE,
        N_("Request body too large"),
        Message("The request body is larger than {megabytes} MB.", megabytes=megabytes),
        max_bytes=limit,
    )
    response.headers["Connection"] = "close"
    await response(scope, receive, send)


class BodyLimit:
    """ASGI layer: at most ``max_bytes`` of request body per request."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(scope, receive, send, self.max_bytes)
            return
        seen = 0
        started = False

        async def limited_receive() -> AsgiMessage:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: AsgiMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(scope, receive, send, self.max_bytes)

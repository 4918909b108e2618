"""Request bodies past a size are refused with 413 before anything reads them.

A 100 MB body used to be read in full before the 401 that refused its caller. A declared
``Content-Length`` over the limit is answered at once; a body without one (chunked) is counted as it
arrives and refused the moment it passes the limit, before the application sees the rest.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neigou.web.problems import PROBLEM_TYPE

TOO_LARGE = "body_too_large"


class _TooLarge(BaseException):  # not Exception: body parsers turn those into 400s
    pass


def _problem(limit: int) -> bytes:
    megabytes = max(1, limit // (1024 * 1024))
    return json.dumps(
        {
            "type": PROBLEM_TYPE + TOO_LARGE,
            "title": "Request body too large",
            "status": 413,
            "detail": f"The request body is larger than {limit} bytes (about {megabytes} MB). "
            f"请求内容超过 {megabytes} MB 上限。",
            "code": TOO_LARGE,
            "max_bytes": limit,
        },
        ensure_ascii=False,
    ).encode()


async def _refuse(send: Send, limit: int) -> None:
    body = _problem(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            await _refuse(send, self.max_bytes)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, self.max_bytes)

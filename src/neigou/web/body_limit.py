"""Request bodies past a size are refused with 413 before anything reads them.

A 100 MB body used to be read in full before the 401 that refused its caller. A declared
``Content-Length`` over the limit is answered at once; a body without one (chunked) is counted as it
arrives and refused the moment it passes the limit, before the application sees the rest.

Two limits. ``NEIGOU_MAX_BODY_BYTES`` (16 MB), for every request, is ``BodyLimit``, an ASGI layer of the
app. The smaller ``NEIGOU_MAX_JSON_BODY_BYTES`` (1 MiB) is ``JsonBodyLimit``, the same check put on each
FastAPI route whose body is JSON or raw bytes (``install``; see ``web.route_tree``): every API and
webhook route (not the pages: their forms and uploads keep the app's limit) but an upload (a form or
file body), an endpoint marked ``kit.json_text.takes_large_body`` (a whole file or a long list sent as
JSON) and one that reads its body itself up to a limit of its own (``kit.json_text.reads_its_own_body``:
a platform feed). It stands inside ``web.credentials``: a caller without a credential is answered 401 before either limit of a
route is looked at, and with neither body read.

Both answer 413 ``body_too_large``: problem+json on a path that is not a page's (the API, the
webhooks, the probes, the static files: ``web.paths.NOT_PAGES``), and to a person anywhere else (a page's form or upload, refused here or by ``web.forms``' smaller limit
on urlencoded forms) a page in the reader's language, the form's own if it was sent from a page asked
with ``?lang=``. A body whose declared ``Content-Length`` passes the limit is refused before a byte of
it is read, so its ``form_lang`` field is never seen: that page is in the language of the action's
``?lang=``, else the sending page's (its ``Referer``), else the cookie's, else zh-CN
(``web.i18n.locale_of``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from neigou.kit.i18n import N_, Message
from neigou.kit.json_text import large_body, own_body
from neigou.kit.settings import Settings
from neigou.web import route_tree
from neigou.web.answer_started import AnswerStarted
from neigou.web.form_language import sent_in
from neigou.web.i18n import FORM_LANGUAGE
from neigou.web.pages import render
from neigou.web.paths import is_page
from neigou.web.problems import problem

TOO_LARGE = "body_too_large"
_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})  # requests the JSON limit lets by without counting
MIB = 1024 * 1024
# What the refusal says, by the limit's unit: to a program (the problem's detail), to a person on a page.
_DETAILS = (
    N_("The request body is larger than {megabytes} MB."),
    N_("The request body is larger than {kilobytes} KB."),
)
_PAGE_MESSAGES = (
    N_(
        "What you sent is larger than {megabytes} MB, so it was not accepted. Go back and send a smaller file or less text."
    ),
    N_(
        "What you sent is larger than {kilobytes} KB, so it was not accepted. Go back and send a smaller file or less text."
    ),
)


class _TooLarge(BaseException):  # not Exception: body parsers turn those into 400s
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


def _over(limit: int, megabytes: str, kilobytes: str) -> Message:
    if limit >= MIB:
        return Message(megabytes, megabytes=limit // MIB)
    return Message(kilobytes, kilobytes=max(1, limit // 1024))


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """413 ``body_too_large``: problem+json to the API and the webhooks, a page to a person (in the
    language of the form sent, like the refusal of a form without its token)."""
    response: Response
    if not is_page(str(scope["path"])):
        detail = _over(limit, *_DETAILS)
        response = problem(
            Request(scope), 413, TOO_LARGE, N_("Request body too large"), detail, max_bytes=limit
        )
    else:
        scope[FORM_LANGUAGE] = partial(sent_in, scope)  # a form's answer: in the language it was sent in
        message = _over(limit, *_PAGE_MESSAGES)
        response = render(Request(scope), "too_large.html", status_code=413, message=message, code=TOO_LARGE)
        response.headers["Cache-Control"] = "no-store"
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

        async def limited_receive() -> AsgiMessage:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        answer = AnswerStarted(send)

        try:
            await self.app(scope, limited_receive, answer)
        except _TooLarge as refused:
            if not answer.started:
                await _refuse(scope, receive, send, refused.limit)


def json_limited(route: APIRoute) -> bool:
    """Whether ``route`` is held to ``NEIGOU_MAX_JSON_BODY_BYTES`` (see the module)."""
    if own_body(route.endpoint) or large_body(route.endpoint):
        return False
    body = route.body_field
    return body is None or not isinstance(body.field_info, params.Form)  # File is a Form


@dataclass(frozen=True)
class JsonBodyLimit:
    """A route's ``handle`` behind the JSON limit of the app that calls it."""

    handle: Callable[[Scope, Receive, Send], Awaitable[None]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.handle(scope, receive, send)
            return
        settings: Settings = scope["app"].state.settings
        limit = min(settings.max_json_body_bytes, settings.max_body_bytes)
        await BodyLimit(self.handle, max_bytes=limit)(scope, receive, send)


def install(routes: Iterable[BaseRoute]) -> None:
    """Put the JSON limit on every route below ``routes`` held to it (once, before ``web.credentials``
    puts its gate outside it)."""
    for route, _dependant in route_tree.api_routes(routes):
        if json_limited(route) and not isinstance(vars(route).get("handle"), JsonBodyLimit):
            route.handle = JsonBodyLimit(route.handle)  # type: ignore[method-assign]  # see web.route_tree

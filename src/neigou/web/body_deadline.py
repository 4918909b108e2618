"""A small request body must arrive within ``NEIGOU_BODY_TIMEOUT_S`` (15 s) and is read before the
request takes an admission slot; a larger one (an upload) must keep arriving.

A body sent a byte every few seconds used to hold its admission slot (``web.admission``) while the CSRF
check, the NUL check or a form's parsing waited for it: sixteen such sign-in forms kept every other
caller waiting, then answered 503 ``overloaded``. This layer stands outside admission control (and
inside ``web.body_limit.BodyLimit``, which counts every byte it reads). A body of at most ``preread``
bytes (the JSON and form limit, ``NEIGOU_MAX_JSON_BODY_BYTES``), declared or not, is read whole here,
holding no slot, and handed to the application as it came; a larger one (an upload) is admitted first
and read as the application asks for it, and so is one a credential gate (``web.credentials``) will
refuse unread: a caller without a credential still gets its 401 before a byte of its body is read.

Two limits, ``timeout`` seconds each. Until more than ``preread`` bytes of a body have actually
arrived (whatever length it declared: a body declared large and sent a byte at a time must not hold
its slot for hours), it must be whole ``timeout`` seconds after its request arrived, wherever it is
read. Past ``preread`` bytes it may take as long as it needs, as long as it keeps coming at the
minimum rate: the application waiting longer than ``timeout`` for its next part (a stall) ends it, and so
does a body behind ``min_rate`` bytes a second over the time its sender has had (from its request's
arrival, less the application's own time between its reads), after the first ``timeout`` seconds
(``NEIGOU_BODY_MIN_RATE_BYTES_S``, 1 KiB/s; 0: none). A 16 MiB import on a weak uplink
is not refused for its size; a sender that stops is, and so is one that sends a part every few seconds
to hold its admission slot for hours (a reverse proxy that buffers bodies spares the slot; README,
Operations). Past either limit the request is answered 408
``body_timeout`` (problem+json on a path that is not a page's, a page in the reader's language on a
page's) and its connection closed; an admitted request hands its slot back with it. The bodies read
ahead of admission across all requests hold at most ``budget`` bytes at once; past it, a request is
admitted and read like an upload (its deadline is still that of its size).
"""

from __future__ import annotations

import asyncio
from functools import partial

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from neigou.kit.i18n import N_, Message
from neigou.kit.ids import whole_number
from neigou.web.answer_started import AnswerStarted
from neigou.web.credentials import Gated, gated, refused_unread
from neigou.web.error_pages import error_page
from neigou.web.form_language import header, posted_page_form, sent_in
from neigou.web.i18n import FORM_LANGUAGE
from neigou.web.paths import is_page
from neigou.web.problems import problem

log = structlog.get_logger(__name__)
BODY_TIMEOUT = "body_timeout"
BUDGET_BYTES = 64 * 1024 * 1024  # bodies held ahead of admission at once, per process
_TITLE = N_("Request body too slow")
_PAGE = N_(
    "What you sent did not arrive in time, so it was not accepted. Check your connection and send it again."
)


class _TimedOut(BaseException):  # not Exception: body parsers turn those into 400s
    def __init__(self, *, stalled: bool, slow: bool = False) -> None:
        super().__init__()
        self.stalled = stalled  # a large body that stopped arriving (not a small one late)
        self.slow = slow  # a large body that fell behind the minimum rate


def _declared_body(scope: Scope) -> tuple[bool, int | None]:
    """Whether the request has a body, and its declared length (None when chunked)."""
    headers = dict(scope["headers"])
    length = headers.get(b"content-length")
    declared = None if length is None else whole_number(length.decode("latin-1"), digits=19)
    if declared is not None:
        return declared > 0, declared
    return b"transfer-encoding" in headers, None


async def _refuse(
    scope: Scope, send: Send, timeout: float, *, stalled: bool = False, slow_rate: int | None = None
) -> None:
    """408 ``body_timeout``: problem+json off the pages, a page in the reader's language on them;
    ``stalled`` when a large body stopped arriving (rather than a small one not arriving whole),
    ``slow_rate`` the minimum rate a large body fell behind."""
    request = Request(scope)
    response: Response
    if is_page(str(scope["path"])):
        scope[FORM_LANGUAGE] = partial(sent_in, scope)
        response = error_page(request, 408, BODY_TIMEOUT, _TITLE, _PAGE)
    else:
        seconds = f"{timeout:g}"
        if slow_rate is not None:
            detail = Message(
                "The request body arrived slower than {rate} bytes a second.", rate=str(slow_rate)
            )
        elif stalled:
            detail = Message(
                "The request body stopped arriving for more than {seconds} seconds.", seconds=seconds
            )
        else:
            detail = Message("The request body did not arrive within {seconds} seconds.", seconds=seconds)
        response = problem(request, 408, BODY_TIMEOUT, _TITLE, detail)
    response.headers["Connection"] = "close"
    response.headers["Cache-Control"] = "no-store"
    await response(scope, _gone, send)


async def _gone() -> AsgiMessage:
    return {"type": "http.disconnect"}


class BodyDeadline:
    """ASGI layer: a body of up to ``preread`` bytes whole within ``timeout`` seconds, and read before
    the layers inside (admission control) see the request; a larger one never idle for ``timeout``."""

    def __init__(
        self, app: ASGIApp, *, timeout: float, preread: int, budget: int = BUDGET_BYTES, min_rate: int = 0
    ) -> None:
        self.app = app
        self.timeout = timeout
        self.min_rate = min_rate
        self.preread = preread
        self.budget = budget
        self.held = 0  # bytes read ahead of admission by requests still running (event loop only)
        self._gated: tuple[Gated, ...] | None = None  # the app's gated paths, read on first need

    def _read_ahead(self, scope: Scope, declared: int | None) -> bool:
        """Whether to read the body before admission: a small one, unless a gate will refuse the request
        for want of a credential before anything reads it (``web.credentials``; the CSRF check of a
        page's form sent with a cookie reads it before that gate, so that one is read here too)."""
        if declared is not None and declared > self.preread:
            return False
        if header(scope, b"cookie") is not None and posted_page_form(scope):
            return True
        if self._gated is None:
            self._gated = gated(getattr(getattr(scope.get("app"), "router", None), "routes", ()))
        return not refused_unread(scope, self._gated)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        has_body, declared = _declared_body(scope) if scope["type"] == "http" else (False, None)
        if not has_body:
            await self.app(scope, receive, send)
            return
        deadline = asyncio.get_running_loop().time() + self.timeout
        ahead: list[AsgiMessage] = []
        held = 0
        complete = False
        try:
            if self._read_ahead(scope, declared):
                try:
                    async with asyncio.timeout_at(deadline):
                        while not complete and held <= self.preread and self.held < self.budget:
                            message = await receive()
                            size = len(message.get("body", b""))
                            held += size
                            self.held += size
                            ahead.append(message)
                            complete = message["type"] != "http.request" or not message.get("more_body")
                except TimeoutError:
                    log.info("request.body_timeout", path=scope["path"], before_admission=True)
                    await _refuse(scope, send, self.timeout)
                    return
            # The arrival deadline holds until ``preread`` bytes have actually arrived, whatever length was
            # declared (a declared large body trickled a byte at a time must not hold its slot for hours);
            # past ``preread``, only stalls end it.
            small = held <= self.preread
            await self._run(
                scope,
                receive,
                send,
                ahead=ahead,
                complete=complete,
                arrived=deadline - self.timeout,
                deadline=deadline if small else None,
            )
        finally:
            self.held -= held

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        ahead: list[AsgiMessage],
        complete: bool,
        arrived: float,
        deadline: float | None,
    ) -> None:
        """The application, its body read ahead (``ahead``) then as it asks; ``arrived`` the time its
        request arrived, ``deadline`` the time the
        whole body is due by, None once it is a large one (then each part is due ``timeout`` seconds
        after the application asks for it, or sooner when the body falls behind ``min_rate``)."""
        loop = asyncio.get_running_loop()
        received = sum(len(message.get("body", b"")) for message in ahead)
        # The sender's time so far: reading ahead, then each wait for a part. The application's time
        # between its reads is not the sender's (a sender it does not read from cannot send).
        waited = loop.time() - arrived

        def due(now: float) -> tuple[float, bool]:
            """When the part asked for at ``now`` of a large body is due, and whether the minimum rate
            sets it (the body's bytes at ``min_rate``, after the first ``timeout``, against the time the
            sender has had)."""
            stall = now + self.timeout
            if not self.min_rate:
                return stall, False
            pace = now + self.timeout + received / self.min_rate - waited
            return (pace, True) if pace < stall else (stall, False)

        async def timed_receive() -> AsgiMessage:
            nonlocal complete, deadline, received, waited
            if ahead:
                return ahead.pop(0)
            if complete:
                return await receive()
            asked = loop.time()
            at, slow = due(asked) if deadline is None else (deadline, False)
            try:
                async with asyncio.timeout_at(at):
                    message = await receive()
            except TimeoutError:
                raise _TimedOut(stalled=deadline is None, slow=slow) from None
            finally:
                waited += loop.time() - asked
            received += len(message.get("body", b""))
            if received > self.preread:
                deadline = None  # a large body after all (sent without a length): stalls from now on
            complete = message["type"] != "http.request" or not message.get("more_body")
            return message

        answer = AnswerStarted(send)

        try:
            await self.app(scope, timed_receive, answer)
        except _TimedOut as timed_out:
            stalled = timed_out.stalled
            log.info(
                "request.body_timeout",
                path=scope["path"],
                before_admission=False,
                stalled=stalled,
                below_rate=timed_out.slow,
            )
            if not answer.started:
                slow_rate = self.min_rate if timed_out.slow else None
                await _refuse(scope, send, self.timeout, stalled=stalled, slow_rate=slow_rate)

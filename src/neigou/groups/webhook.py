"""Delivering a markdown message to a WeCom group robot (企业微信群机器人).

The robot's URL carries its key: ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``.
The message is ``POST``ed as JSON ``{"msgtype": "markdown", "markdown": {"content": …}}``; the
content is at most 4096 bytes of UTF-8, and the robot answers ``{"errcode": 0, "errmsg": "ok"}``.

WeCom robots are not signed. When a program configures a signing secret (for a relay or a robot
that checks DingTalk-style signatures), the URL gets two more query parameters:
``timestamp`` (milliseconds since the epoch) and ``sign`` = URL-encoded
Base64(HMAC-SHA256(key=secret, message=f"{timestamp}\\n{secret}")), as DingTalk's custom robots
expect (the receiver refuses timestamps more than an hour off).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote_plus

import httpx

from neigou.kit.addresses import private_host
from neigou.kit.attempts import ADDRESS_NOT_ALLOWED, refusal
from neigou.kit.bounded_http import AddressNotAllowed, BoundedTransport
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.json_input import loads_untrusted
from neigou.kit.robot_budget import MAY_HAVE_POSTED

MAX_CONTENT_BYTES = 4096
MAX_PORT = 65535
# An outcome's detail when the robot took the message.
OK = "ok"
TIMEOUT_SECONDS = 10.0
# An answer is read this far (a robot's ``errcode`` is at its start); none of its text is kept.
READ_DETAIL = 20_000
# What a URL that cannot be sent to raises besides ``httpx.HTTPError``: ``httpx.InvalidURL`` (a bad
# port) and the IDNA codec's ``UnicodeError`` (an empty host label), both refusals of this attempt.
UNSENDABLE = (httpx.HTTPError, httpx.InvalidURL, UnicodeError)
# The answer's body is read until this many seconds after the call began, then left: a body trickled a
# few bytes at a time is still the receiver's answer, as far as it came.
SEND_DEADLINE_SECONDS = 60.0
# The whole call, from the host name's resolution to the answer's last byte, ends this many seconds after
# it began at the latest (``kit.bounded_http``: every step waits its own TIMEOUT_SECONDS and never past
# this): a call not answered by then fails with a timeout, however slowly its host name resolved or its
# receiver trickled the status line and headers. Room for the body's reading and three steps after it.
SEND_LIMIT_SECONDS = SEND_DEADLINE_SECONDS + 3 * TIMEOUT_SECONDS
# The longest a send holds a delivery: SEND_LIMIT_SECONDS and one step more for the claim's commit before
# it. A lease on a send in flight (a delivery's next attempt, moved by its claim) is at least this long.
SEND_BOUND = timedelta(seconds=SEND_LIMIT_SECONDS + TIMEOUT_SECONDS)


@dataclass(frozen=True)
class Answer:
    """A receiver's status and as much of its body as came within the deadline (READ_DETAIL bytes at most)."""

    status_code: int
    body: bytes
    encoding: str

    @property
    def is_success(self) -> bool:
        return self.status_code // 100 == 2

    @property
    def text(self) -> str:
        return self.body.decode(self.encoding, errors="replace")


def post(
    url: str,
    *,
    content: bytes | None = None,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    allow_private: bool = False,
) -> Answer:
    """``POST`` and read the answer within ``SEND_DEADLINE_SECONDS`` of the start (what came by then is
    the answer: a receiver that took the call is never counted as refusing it for answering slowly); the
    whole call ends within ``SEND_LIMIT_SECONDS`` of its start, resolution included, and httpx's errors
    (its timeouts among them) propagate; so does ``kit.bounded_http.AddressNotAllowed`` for a host that
    is no public address, unless ``allow_private`` (``Settings.outbound_allow_private``). Redirects are
    not followed. A ``transport`` given (a test's stub) is used as it is."""
    started = time.monotonic()
    if transport is None:
        transport = BoundedTransport(started + SEND_LIMIT_SECONDS, allow_private=allow_private)
    with (
        httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as client,
        client.stream("POST", url, content=content, json=json_body, headers=headers) as response,
    ):
        body = bytearray()
        try:
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= READ_DETAIL or time.monotonic() - started > SEND_DEADLINE_SECONDS:
                    break
        except httpx.TimeoutException:  # its status came: a body that stalls after it is still an answer
            pass
        return Answer(response.status_code, bytes(body[:READ_DETAIL]), response.encoding or "utf-8")


def sendable(url: str) -> bool:
    """Whether httpx can send to ``url`` at all: a port it parses (not ``:0x``) that a TCP connection can
    use (1 to ``MAX_PORT``: httpx parses ``:70000``, which the socket layer wraps to another port or
    overflows on) and a host whose labels the IDNA codec takes (none empty, as in ``a..b``, or malformed,
    as ``xn--``; none over 63 characters). Whether anybody answers there is for the attempt to find out."""
    try:
        parsed = httpx.Request("POST", url).url
        host, port = parsed.raw_host, parsed.port
        host.decode("ascii").encode("idna")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        return False
    return bool(host) and (port is None or 0 < port <= MAX_PORT)


def require_sendable(url: str | None, *, field: str, allow_private: bool) -> None:
    """Refuse (422, naming ``field``) a URL that no attempt could ever send to (``unsendable_url``), or
    whose host is ``localhost`` or an IP literal that is no public address (``address_not_allowed``,
    unless ``allow_private``), when it is given rather than when the first alert or event fails. A name
    is not looked up here: one that resolves to a private address is refused when a call connects."""
    if not url:
        return
    if not sendable(url):
        raise Invalid(
            Message("{field}: this address cannot be sent to; check its host name and port.", field=field),
            code="unsendable_url",
            extra={"field": field},
        )
    if not allow_private and private_host(httpx.URL(url).host):
        raise Invalid(
            Message(
                "{field}: this address is not a public Internet address; outbound calls go to public"
                " addresses only.",
                field=field,
            ),
            code=ADDRESS_NOT_ALLOWED,
            extra={"field": field},
        )


def error_of(exc: BaseException) -> str:
    """What a stored summary names of the error that stopped a call: ``address_not_allowed`` for a
    host that is no public address, else the error's class (``ConnectError``)."""
    return ADDRESS_NOT_ALLOWED if isinstance(exc, AddressNotAllowed) else type(exc).__name__


@dataclass(frozen=True)
class Outcome:
    """What the robot answered: whether it took the message, and ``detail``, the fixed summary kept and
    shown (``ok``, ``kit.attempts.refusal``'s summary, or :func:`broken_send`'s)."""

    ok: bool
    http_status: int | None
    detail: str
    # A fixed summary's parts, free of what the receiver wrote: the robot's ``errcode`` when it is a
    # number, the class of the error that stopped the call.
    errcode: int | None = None
    error: str | None = None


def broken_send(exc: Exception) -> Outcome:
    """What a send came to that raised what no send should (a fault while sending or reading the answer,
    not a refusal): a failure that may have gone out, its error's class kept, never its text (logged,
    redacted, by the caller), so the caller finishes its attempt instead of leaving it claimed."""
    name = type(exc).__name__
    return Outcome(False, None, f"{name} while sending{MAY_HAVE_POSTED}", error=name)


def sign(secret: str, timestamp_ms: int) -> str:
    """The URL-encoded signature of ``timestamp_ms`` with ``secret`` (DingTalk's scheme)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def signed_url(url: str, secret: str | None, at: datetime) -> str:
    """``url`` with ``timestamp`` and ``sign`` appended when a secret is set."""
    if not secret:
        return url
    timestamp_ms = int(at.timestamp()) * 1000 + at.microsecond // 1000
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={sign(secret, timestamp_ms)}"


def fit(lines: list[str], *, more: str, limit: int = MAX_CONTENT_BYTES) -> str:
    """Join as many lines as fit in ``limit`` UTF-8 bytes; ``more`` (with ``{n}``) tells what was cut."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        candidate = "\n".join([*kept, line])
        rest = len(lines) - index - 1
        tail = "\n" + more.format(n=rest) if rest else ""
        if len((candidate + tail).encode()) > limit:
            return "\n".join([*kept, more.format(n=len(lines) - index)])
        kept.append(line)
    return "\n".join(kept)


def send_markdown(
    url: str,
    content: str,
    *,
    secret: str | None,
    at: datetime,
    transport: httpx.BaseTransport | None = None,
    allow_private: bool = False,
) -> Outcome:
    """Post ``content`` to the robot; network errors, refusals and a URL that cannot be sent to come
    back as a failed outcome. Its detail is ``ok`` or the fixed summary of the refusal
    (``kit.attempts.refusal``: the HTTP status and the robot's numeric ``errcode``, or the class of the
    error that stopped the call): never what the robot wrote back, which may echo the message and so a
    customer's name or phone, nor the robot's key or the call's signature. ``allow_private`` as for
    :func:`post`."""
    outcome = _post(signed_url(url, secret, at), content, transport=transport, allow_private=allow_private)
    if outcome.ok:
        return replace(outcome, detail=OK)
    return replace(outcome, detail=refusal(outcome.http_status, errcode=outcome.errcode, error=outcome.error))


def _post(
    signed: str, content: str, *, transport: httpx.BaseTransport | None, allow_private: bool
) -> Outcome:
    """What the robot answered, its detail left to :func:`send_markdown` (only the parts a fixed summary
    is made of are read from the answer)."""
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    try:
        response = post(signed, json_body=body, transport=transport, allow_private=allow_private)
    except UNSENDABLE as exc:
        return Outcome(False, None, "", error=error_of(exc))
    if response.status_code // 100 != 2:
        return Outcome(False, response.status_code, "")
    try:
        answer = loads_untrusted(response.body)
    except ValueError:
        return Outcome(True, response.status_code, "")
    if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
        errcode = answer.get("errcode")
        return Outcome(
            False,
            response.status_code,
            "",
            errcode=errcode if isinstance(errcode, int) and not isinstance(errcode, bool) else None,
        )
    return Outcome(True, response.status_code, "")

"""The CSRF token of a multipart page form (a form with a file), checked before asgi-csrf sees it.

asgi-csrf 0.11 reads the token of a multipart body through a ``python-multipart`` API that no longer
exists (``FormParser(FileClass=...)``), so it cannot be handed such a body. This layer stands in front
of it for every multipart form that asgi-csrf would look into (a posted page form carrying a cookie and
no ``Authorization: Bearer``): it reads the first ``HEAD_BYTES`` of the body as they arrive and stops
there, takes the ``csrftoken`` field from the parts before the first file (``web.multipart_head``), and
compares it in constant time with the ``neigou_csrf`` cookie, signed as asgi-csrf signs it (itsdangerous,
asgi-csrf's signing namespace). A form without it there (no token, a wrong one, one after the file or
past the head) is refused with the 403 page. A form with it goes on to asgi-csrf with the token it
checked as its ``X-CSRFToken`` header, so asgi-csrf confirms it against its own cookie, and the body is
replayed to the route whole: what was read is handed on first, the rest is never held.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from secrets import compare_digest

from asgi_csrf import DEFAULT_SIGNING_NAMESPACE, cookies_from_scope
from itsdangerous import BadSignature
from itsdangerous.url_safe import URLSafeSerializer
from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neigou.web.form_language import HEAD_BYTES, posted_page_form
from neigou.web.multipart_head import MULTIPART, first_fields

TOKEN_HEADER = b"x-csrftoken"
# A signed token is about 60 bytes; a field longer than this is not one.
LONGEST_TOKEN = 512


async def _read_head(receive: Receive) -> list[Message]:
    """The messages that bring the first ``HEAD_BYTES`` of the body (or all of it, if shorter)."""
    messages: list[Message] = []
    size = 0
    while size < HEAD_BYTES:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break  # the caller went away
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = deque(messages)

    async def replay() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return replay


def _content_type(scope: Scope) -> str | None:
    """The ``Content-Type`` asgi-csrf reads: the last one, where a request sends several."""
    value = dict(scope.get("headers") or []).get(b"content-type")
    return None if value is None else value.decode("latin-1")


def _looked_into(scope: Scope) -> bool:
    """Whether asgi-csrf would read the body of this request for its token (its own tests, in its order:
    a posted page form with a ``Cookie`` header and no bearer token), and the body is multipart."""
    if not posted_page_form(scope):
        return False
    kind, _ = parse_options_header(_content_type(scope))
    if kind != MULTIPART:
        return False
    headers = dict(scope.get("headers") or [])
    bearer = headers.get(b"authorization", b"").decode("latin-1").startswith("Bearer ")
    return bool(headers.get(b"cookie")) and not bearer


class MultipartToken:
    """ASGI layer in front of asgi-csrf: the token of a multipart page form, from the head of its body."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        cookie_name: str,
        field: str,
        secret: str,
        refuse: Callable[[Scope, Send], Awaitable[None]],
    ) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.field = field
        self.signer = URLSafeSerializer(secret)
        self.refuse = refuse

    def _cookie_token(self, scope: Scope) -> bytes | None:
        """The visitor's token, as asgi-csrf reads it: the cookie's value, if it is signed with the secret."""
        token = cookies_from_scope(scope).get(self.cookie_name)
        if not isinstance(token, str) or not token:
            return None
        try:
            self.signer.loads(token, DEFAULT_SIGNING_NAMESPACE)
        except BadSignature:
            return None
        return token.encode("latin-1")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _looked_into(scope):
            await self.app(scope, receive, send)
            return
        expected = self._cookie_token(scope)
        sent = dict(scope.get("headers") or []).get(TOKEN_HEADER, b"")  # the last one, as asgi-csrf reads
        if expected is not None and compare_digest(sent, expected):
            await self.app(scope, receive, send)  # the header is the token: asgi-csrf reads no body
            return
        messages = await _read_head(receive)
        head = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        found = first_fields(
            _content_type(scope), head[:HEAD_BYTES], frozenset({self.field}), LONGEST_TOKEN
        ).get(self.field)
        if expected is None or found is None or not compare_digest(found, expected):
            await self.refuse(scope, send)
            return
        headers = [(key, value) for key, value in scope["headers"] if key != TOKEN_HEADER]
        checked = {**scope, "headers": [*headers, (TOKEN_HEADER, expected)]}
        await self.app(checked, _replaying(messages, receive), send)

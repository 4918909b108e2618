"""The multipart token check reads only the head of a body: a refusal pulls a few kilobytes of a large
upload and no more, and an accepted form hands the route the whole body, the head replayed first."""

from __future__ import annotations

from itsdangerous.url_safe import URLSafeSerializer
from starlette.types import Message, Receive, Scope, Send

from neigou.web.form_language import HEAD_BYTES
from neigou.web.multipart_token import MultipartToken
from tests.aio import run

SECRET = "s" * 32
BOUNDARY = b"----b0undary"
PIECE = 1024


def _token() -> bytes:
    return URLSafeSerializer(SECRET).dumps("visitor", "csrftoken").encode()


def _body(token: bytes, file_bytes: int = 1024 * 1024) -> bytes:
    return (
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="csrftoken"\r\n\r\n' + token + b"\r\n"
        b"--"
        + BOUNDARY
        + b'\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        + b"x" * file_bytes
        + b"\r\n--"
        + BOUNDARY
        + b"--\r\n"
    )


def _scope(*extra: tuple[bytes, bytes], cookie: bool = True) -> Scope:
    headers = [(b"content-type", b"multipart/form-data; boundary=" + BOUNDARY), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", b"neigou_session=s; neigou_csrf=" + _token()))
    return {
        "type": "http",
        "method": "POST",
        "path": "/console/products/import",
        "headers": [*headers, *extra],
    }


class Run:
    """The layer over ``body`` sent in pieces: how many pieces it pulled before handing on or refusing,
    what the app behind it got, and whether it refused."""

    def __init__(self, scope: Scope, body: bytes) -> None:
        self.pieces = [body[i : i + PIECE] for i in range(0, len(body), PIECE)]
        self.pulled = 0
        self.pulled_before_app: int | None = None
        self.got = b""
        self.inner: Scope | None = None
        self.refused = False
        layer = MultipartToken(
            self.app, cookie_name="neigou_csrf", field="csrftoken", secret=SECRET, refuse=self.refuse
        )
        run(layer(scope, self.receive, self.send))

    async def receive(self) -> Message:
        self.pulled += 1
        more = self.pulled < len(self.pieces)
        return {"type": "http.request", "body": self.pieces[self.pulled - 1], "more_body": more}

    async def send(self, message: Message) -> None:
        raise AssertionError(message)

    async def refuse(self, scope: Scope, send: Send) -> None:
        self.refused = True

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.pulled_before_app, self.inner = self.pulled, scope
        more = True
        while more:
            message = await receive()
            self.got += message.get("body", b"")
            more = message.get("more_body", False)


HEAD_PIECES = HEAD_BYTES // PIECE + 1


def test_a_wrong_or_missing_token_is_refused_from_the_head_of_the_body() -> None:
    for body in (_body(b"wrong"), _body(_token() + b"x"), _body(b"")):
        ran = Run(_scope(), body)
        assert ran.refused
        assert ran.inner is None
        assert ran.pulled <= HEAD_PIECES  # of about a thousand pieces


def test_the_right_token_hands_on_the_whole_body_with_the_token_it_checked() -> None:
    body = _body(_token())
    for stale in ([], [(b"x-csrftoken", b"stale")], [(b"x-csrftoken", _token()), (b"x-csrftoken", b"stale")]):
        ran = Run(_scope(*stale), body)
        assert not ran.refused
        assert ran.pulled_before_app is not None
        assert ran.pulled_before_app <= HEAD_PIECES
        assert ran.got == body
        assert ran.inner is not None
        assert [v for k, v in ran.inner["headers"] if k == b"x-csrftoken"] == [_token()]


def test_what_asgi_csrf_does_not_look_into_is_not_read() -> None:
    """No cookie (nothing to steal), a bearer token, or the token already in the header: the body is
    left to the app, nothing pulled before it."""
    body = _body(b"wrong")
    for scope in (
        _scope(cookie=False),
        _scope((b"authorization", b"Bearer ngt_x")),
        _scope((b"x-csrftoken", _token())),
        _scope((b"x-csrftoken", b"stale"), (b"x-csrftoken", _token())),  # the last one counts
    ):
        ran = Run(scope, body)
        assert not ran.refused
        assert ran.pulled_before_app == 0
        assert ran.got == body


def test_a_multipart_body_without_a_boundary_is_refused() -> None:
    scope = _scope()
    scope["headers"][0] = (b"content-type", b"Multipart/Form-Data")
    ran = Run(scope, _body(_token()))
    assert ran.refused
    assert ran.pulled <= HEAD_PIECES


def test_the_content_type_is_read_as_asgi_csrf_reads_it_the_last_of_several() -> None:
    """A request sending two ``Content-Type`` headers, multipart last, is checked here (asgi-csrf would
    read it as multipart, in its own reader, which fails): refused without its token, taken with it."""
    multipart = [h for h in _scope()["headers"] if h[0] == b"content-type"]
    others = [h for h in _scope()["headers"] if h[0] != b"content-type"]
    for first in (b"text/plain", b"application/x-www-form-urlencoded"):
        scope = {**_scope(), "headers": [(b"content-type", first), *multipart, *others]}
        refused = Run(scope, _body(b"wrong"))
        assert refused.refused
        assert refused.inner is None
        taken = Run(scope, _body(_token()))
        assert not taken.refused
        assert taken.got == _body(_token())

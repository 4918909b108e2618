"""Headers that keep a browser from misusing our pages: no page may be framed, and an https
deployment is reached over https only.

Every HTML answer (a page, an error page, the API's documentation) carries ``X-Frame-Options: DENY``
and ``Content-Security-Policy: frame-ancestors 'none'``: no page of ours is meant to be shown inside
another site's frame (a console button clicked through a transparent frame is clickjacking), and the
QR codes and posters are images, not pages. When the deployment's public URL is https every answer
also carries ``Strict-Transport-Security``, so a browser that has seen it never again sends a cookie
over plain http. A header the application already set is left as it is.

Two answers leave ahead of this layer and are marked by the same rule where they are made: a 500
(``web.problems``: Starlette hands the handler of ``Exception`` to its outermost layer, outside every
middleware) through ``mark``, and the share-link redirect's fast path (``web.landing.ShortLinkFastPath``),
a bare 302 and no page, which carries ``fast_path_headers`` (HSTS on an https deployment), built once.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from neigou.kit.settings import Settings

FRAME_OPTIONS = "DENY"
FRAME_POLICY = "frame-ancestors 'none'"
HSTS = "max-age=31536000"  # a year


def https_only(settings: Settings) -> bool:
    """Whether every answer asks for https only: the deployment's public URL is https."""
    return settings.public_url.startswith("https://")


def mark(headers: MutableHeaders, *, hsts: bool) -> None:
    """The framing headers when ``headers`` are an HTML answer's, HSTS when ``hsts``; a header already
    set is left as it is."""
    if headers.get("content-type", "").startswith("text/html"):
        headers.setdefault("x-frame-options", FRAME_OPTIONS)
        headers.setdefault("content-security-policy", FRAME_POLICY)
    if hsts:
        headers.setdefault("strict-transport-security", HSTS)


def mark_answer(request: Request, headers: MutableHeaders) -> None:
    """``mark`` for an answer made outside this layer, by the deployment's settings (none: no HSTS)."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    mark(headers, hsts=settings is not None and https_only(settings))


def fast_path_headers(settings: Settings) -> tuple[tuple[bytes, bytes], ...]:
    """The headers the share-link fast path adds to its 302 (not HTML: HSTS alone, when https)."""
    return ((b"strict-transport-security", HSTS.encode()),) if https_only(settings) else ()


class SecurityHeaders:
    """ASGI layer: the framing headers on every HTML answer, HSTS on every answer when ``hsts``."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked_send(message: AsgiMessage) -> None:
            if message["type"] == "http.response.start":
                mark(MutableHeaders(scope=message), hsts=self.hsts)
            await send(message)

        await self.app(scope, receive, marked_send)


def install(app: FastAPI, settings: Settings) -> None:
    """The layer, outermost of the app's (every answer passes it, a refusal of a layer's too)."""
    app.add_middleware(SecurityHeaders, hsts=https_only(settings))

"""Headers that keep a browser from misusing our pages: no page may be framed, and an https
deployment is reached over https only.

Every HTML answer (a page, an error page, the API's documentation) carries ``X-Frame-Options: DENY``
and ``Content-Security-Policy: frame-ancestors 'none'``: no page of ours is meant to be shown inside
another site's frame (a console button clicked through a transparent frame is clickjacking), and the
QR codes and posters are images, not pages. When the deployment's public URL is https every answer
also carries ``Strict-Transport-Security``, so a browser that has seen it never again sends a cookie
over plain http. A header the application already set is left as it is. The share-link redirect's fast
path (``web.landing.ShortLinkFastPath``) answers ahead of this layer: a bare 302, no page.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from neigou.kit.settings import Settings

FRAME_OPTIONS = "DENY"
FRAME_POLICY = "frame-ancestors 'none'"
HSTS = "max-age=31536000"  # a year


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
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("x-frame-options", FRAME_OPTIONS)
                    headers.setdefault("content-security-policy", FRAME_POLICY)
                if self.hsts:
                    headers.setdefault("strict-transport-security", HSTS)
            await send(message)

        await self.app(scope, receive, marked_send)


def install(app: FastAPI, settings: Settings) -> None:
    """The layer, outermost of the app's (every answer passes it, a refusal of a layer's too)."""
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))

"""Which Host headers the server answers, and where its absolute URLs point.

Share, recruiting and sign-in links are built from ``Settings.public_url`` (``NEIGOU_PUBLIC_URL``),
never from the request: a request sent with ``Host: evil.example`` used to get links to
``http://evil.example/l/…``. Requests naming a host outside ``Settings.allowed_hosts``
(``NEIGOU_TRUSTED_HOSTS``) are refused with 400 by Starlette's ``TrustedHostMiddleware``; the
liveness, readiness and metrics probes are exempt, since orchestrators call them by address.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send


def public_url(request: Request, path: str) -> str:
    """The absolute URL of ``path`` on this deployment (its public URL, not the request's Host)."""
    base: str = request.app.state.settings.public_base
    return base + path


class TrustedHosts:
    """ASGI layer: Starlette's trusted-host check for everything but the probes."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str], exempt: Collection[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(app, allowed_hosts=allowed_hosts, www_redirect=False)
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        await self.checked(scope, receive, send)


def install(app: FastAPI, *, allowed_hosts: list[str], exempt: Collection[str]) -> None:
    """Refuse unknown Host headers (outermost layer: nothing else runs for them)."""
    app.add_middleware(TrustedHosts, allowed_hosts=allowed_hosts, exempt=exempt)

"""Which Host headers the server answers, and where its absolute URLs point.

Share, recruiting and sign-in links are built from ``Settings.public_url`` (``NEIGOU_PUBLIC_URL``),
never from the request: a request sent with ``Host: evil.example`` used to get links to
``http://evil.example/l/…``. Requests naming a host outside ``Settings.allowed_hosts``
(``NEIGOU_TRUSTED_HOSTS``) are refused with 400 ``invalid_host``, problem+json on the API and a page in
the reader's language on a person's page, as every refusal (Starlette's ``TrustedHostMiddleware``, whose
matching this keeps, answered in plain text); the liveness, readiness and metrics probes are exempt,
since orchestrators call them by address. WebSocket handshakes keep Starlette's check.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import FastAPI, Request
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neigou.kit import i18n
from neigou.kit.i18n import N_
from neigou.web.problems import refusal

_PASSED = "neigou.host_trusted"  # set in the scope once the trusted-host check let a request through
_UNKNOWN_HOST = i18n.Message("This server does not answer for the host the request named.")


def public_url(request: Request, path: str) -> str:
    """The absolute URL of ``path`` on this deployment (its public URL, not the request's Host)."""
    base: str = request.app.state.settings.public_base
    return base + path


class TrustedHosts:
    """ASGI layer: Starlette's trusted-host check for everything but the probes."""

    def __init__(self, app: ASGIApp, *, allowed_hosts: list[str], exempt: Collection[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(self._passed, allowed_hosts=allowed_hosts, www_redirect=False)
        self.exempt = frozenset(exempt)

    async def _passed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[_PASSED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.checked(scope, receive, send)
            return
        refused = False

        async def watched(message: Message) -> None:
            # Starlette's own refusal (plain text) is dropped for ours; what the app sends passes
            nonlocal refused
            if refused or not scope.get(_PASSED):
                refused = True
                return
            await send(message)

        await self.checked(scope, receive, watched)
        if refused:
            response = refusal(Request(scope), 400, "invalid_host", N_("Unknown host"), _UNKNOWN_HOST)
            await response(scope, receive, send)


def install(app: FastAPI, *, allowed_hosts: list[str], exempt: Collection[str]) -> None:
    """Refuse unknown Host headers (outermost layer: nothing else runs for them)."""
    app.add_middleware(TrustedHosts, allowed_hosts=allowed_hosts, exempt=exempt)

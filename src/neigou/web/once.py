"""A new secret shown once, by Post/Redirect/Get: the form that made it (an API token, an integration)
answers with a redirect to its page, carrying the secret to that page in a sealed cookie.

The cookie is a Fernet token (``kit.sealed``, encrypted and authenticated, under a key derived from
``NEIGOU_SECRET_KEY`` for this purpose alone) that names a random slot; the redirect's URL carries the
slot, never the secret. The page opens the cookie only for its own slot, within ``ONCE_SECONDS`` of
sealing, and its answer deletes the cookie: reloading the page shows that the secret is no longer
visible and posts nothing. No server state is kept, so it works the same with one web process or
many, with Redis or without. The cookie is HTTP only, ``SameSite=Strict``, sent to that page's path
alone, and logs redact cookies.
"""

from __future__ import annotations

import hmac
import json
import secrets
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from neigou.kit.sealed import Sealer, derived_key
from neigou.web.pages import is_secure

ONCE_COOKIE = "neigou_once"
ONCE_SECONDS = 120  # from the form's answer to the page that shows the secret: one redirect
SLOT_MAX = 64


def _sealer(request: Request) -> Sealer:
    return Sealer([derived_key(request.app.state.settings.secret_key, purpose="console-once")])


def redirect_showing(request: Request, path: str, shown: dict[str, Any]) -> RedirectResponse:
    """A 303 to ``path`` whose page will show ``shown`` (secrets included) once."""
    slot = secrets.token_urlsafe(16)
    response = RedirectResponse(f"{path}?shown={slot}", status_code=303)
    sealed = _sealer(request).seal(json.dumps({"slot": slot, "path": path, "shown": shown}))
    response.set_cookie(
        ONCE_COOKIE,
        sealed,
        max_age=ONCE_SECONDS,
        path=path,
        httponly=True,
        secure=is_secure(request),
        samesite="strict",
    )
    return response


def take(request: Request, path: str, slot: str | None) -> dict[str, Any] | None:
    """What the form's answer left for ``slot`` on ``path``; None when it was taken already, has
    expired, or was never left (the answer must then :func:`forget` it)."""
    sealed = request.cookies.get(ONCE_COOKIE)
    if not slot or not sealed:
        return None
    opened = _sealer(request).unseal(sealed, max_age=ONCE_SECONDS)
    if opened is None:
        return None
    kept = json.loads(opened)
    if kept.get("path") != path or not hmac.compare_digest(str(kept.get("slot", "")), slot):
        return None
    shown: dict[str, Any] = kept["shown"]
    return shown


def forget(request: Request, response: Response, path: str) -> None:
    """Delete the cookie: what it carried is shown no more."""
    response.delete_cookie(
        ONCE_COOKIE, path=path, httponly=True, secure=is_secure(request), samesite="strict"
    )

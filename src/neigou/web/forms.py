"""Forms that cannot be sent from another site: a CSRF token in every POST form and an Origin check.

The token is ``asgi-csrf``'s signed double-submit cookie: the layer sets the ``neigou_csrf`` cookie
when a page asks for the token, and refuses a POST that carries cookies unless its ``csrftoken``
form field (the first field of the form, before any file) or ``X-CSRFToken`` header matches the
cookie. Every POST form starts with ``{{ csrf_field() }}``; ``tests/web/test_forms.py`` reads every
template and fails on a form without it. A form with a file (multipart) has its token read from the
head of its body by ``web.multipart_token`` before asgi-csrf sees it (asgi-csrf's own multipart reader
does not work with this python-multipart); a token after the file, or none, is refused. A request whose ``Origin`` (or, without one, ``Referer``)
names another site is refused before the token is looked at. Both refusals are a readable 403
page in the caller's language.

The API (``/api/``, bearer tokens only) and the signed webhooks (``/webhooks/``) never read a cookie,
so they are exempt. Cookies are ``Secure`` when the request came over HTTPS or the deployment's
public URL is https.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

from asgi_csrf import Errors, asgi_csrf_decorator
from fastapi import FastAPI, Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from neigou.auth import service as auth
from neigou.auth.dependencies import SESSION_COOKIE
from neigou.auth.models import ApiToken, TokenKind
from neigou.kit.i18n import N_
from neigou.kit.settings import Settings
from neigou.web.body_limit import BodyLimit
from neigou.web.form_language import (
    SAFE_METHODS,
    FormLanguage,
    exempt,
    header,
    language_field,
    posted_page_form,
    reading_language_field,
    sent_in,
)
from neigou.web.i18n import FORM_LANGUAGE
from neigou.web.multipart_token import MultipartToken
from neigou.web.pages import is_secure, render, templates

CSRF_COOKIE = "neigou_csrf"
CSRF_FIELD = "csrftoken"  # the form field of the token (asgi-csrf reads it; web.multipart_token too)
# asgi-csrf reads an urlencoded body whole, before routing, whenever the request carries any cookie, so
# a stranger could have a page's body read up to the app's limit before the sign-in redirect
# (``web.credentials`` answers only once a route is chosen). A form posted without a session (sign-in, a
# shopper's claim) is small: it may be this long. Any other urlencoded form (a session cookie, real or
# made up, is no proof at this point) is held to the limit of an API caller's JSON
# (``NEIGOU_MAX_JSON_BODY_BYTES``); files and long lists go as multipart uploads, which keep the app's.
SESSIONLESS_FORM_BYTES = 64 * 1024
REASONS = {
    "cross_origin": N_("This form was sent from another site, so it was not accepted."),
    "csrf_failed": N_(
        "This form has expired or did not come from this site, so it was not accepted. "
        "Go back, reload the page and send it again."
    ),
}


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden input carrying this visitor's CSRF token, the first thing in every POST form, and after
    it the form's language (``web.form_language``: a form keeps the language it was shown in)."""
    request: Request = context["request"]
    token = request.scope.get("csrftoken")
    if token is None:
        raise RuntimeError("csrf_field() needs the FormProtection layer (web.forms.install)")
    field = Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token()))
    return field + language_field(request)


def set_session_cookie(
    request: Request, response: Response, name: str, secret: str, *, samesite: str = "lax"
) -> None:
    """A sign-in cookie: HTTP only, ``Secure`` over HTTPS, as long-lived as the session."""
    hours: int = request.app.state.settings.session_hours
    response.set_cookie(
        name,
        secret,
        httponly=True,
        secure=is_secure(request),
        samesite=samesite,  # type: ignore[arg-type]  # "lax" or "strict"
        max_age=hours * 3600,
    )


def end_earlier_session(request: Request, session: Session) -> None:
    """Revoke the console or workspace session the request still presents, before a sign-in issues
    a new one: a browser holds one session at a time, and a secret it held before (on a shared
    computer, or planted in it) stops working when someone signs in."""
    secret = request.cookies.get(SESSION_COOKIE)
    principal = auth.resolve(session, secret) if secret else None
    if principal is not None:
        end_session(session, principal.token_id)


def end_session(session: Session, token_id: int) -> None:
    """Revoke a console or workspace session (a sign-in's, a sign-out's): from now on its secret is
    refused wherever it is presented. Never an API token put in the cookie or sent as a bearer: a
    program's credential is revoked on purpose, not by a page."""
    token = session.get(ApiToken, token_id)
    if token is not None and token.kind is TokenKind.SESSION:
        auth.revoke(session, token_id=token.id)


def clear_session_cookie(request: Request, response: Response, *, samesite: str = "lax") -> None:
    """Tell the browser to drop its session cookie (a sign-out), with the attributes it was set with
    (``set_session_cookie``'s)."""
    response.delete_cookie(
        SESSION_COOKIE,
        httponly=True,
        secure=is_secure(request),
        samesite=samesite,  # type: ignore[arg-type]  # "lax" or "strict"
    )


def _origin(value: str) -> str | None:
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


async def _nothing_to_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


async def _refuse(scope: Scope, send: Send, reason: str) -> None:
    scope[FORM_LANGUAGE] = partial(sent_in, scope)  # the refusal is the form's answer: in its language
    request = Request(scope)
    response = render(request, "forbidden.html", status_code=403, reason=REASONS[reason], code=reason)
    response.headers["Cache-Control"] = "no-store"
    await response(scope, _nothing_to_receive, send)


async def _csrf_failed(scope: Scope, send: Send, _error: Errors) -> None:
    await _refuse(scope, send, "csrf_failed")


async def _token_missing(scope: Scope, send: Send) -> None:
    await _refuse(scope, send, "csrf_failed")


class FormProtection:
    """ASGI layer: the Origin check, then asgi-csrf's token check, on every unsafe page request; the
    form's ``form_lang`` is read as its body passes to the token check (``web.form_language``), so a
    refusal for its token is in the form's language too."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.protect = asgi_csrf_decorator(
            cookie_name=CSRF_COOKIE,
            signing_secret=settings.secret_key,
            skip_if_scope=exempt,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="Lax",
            send_csrf_failed=_csrf_failed,
        )
        self.secret = settings.secret_key
        self.public_origin = _origin(settings.public_url)
        self.form_bytes = min(settings.max_json_body_bytes, settings.max_body_bytes)

    def _allowed(self, scope: Scope, origin: str) -> bool:
        host = header(scope, b"host")
        own = f"{scope.get('scheme', 'http')}://{host}".lower() if host else None
        return origin in {self.public_origin, own}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if posted_page_form(scope):
            claimed = header(scope, b"origin")
            if claimed is None and (referer := header(scope, b"referer")) is not None:
                claimed = _origin(referer) or "null"
            if claimed is not None and not self._allowed(scope, claimed.lower()):
                await _refuse(scope, send, "cross_origin")
                return

        async def forward(inner: Scope, receive: Receive, send: Send) -> None:
            try:
                await self.app(inner, receive, send)
            finally:
                # asgi-csrf hands on a copy of the scope: what the router adds to it (the matched route
                # the request metrics label by) goes back to the outer layers' scope.
                scope.update({key: value for key, value in inner.items() if key not in scope})

        # A multipart form's token is checked here (web.multipart_token), asgi-csrf confirming it.
        token_first = MultipartToken(
            self.protect(forward),
            cookie_name=CSRF_COOKIE,
            field=CSRF_FIELD,
            secret=self.secret,
            refuse=_token_missing,
        )
        checked: ASGIApp = token_first
        if scope["type"] == "http" and (limit := _form_limit(scope, self.form_bytes)) is not None:
            checked = BodyLimit(checked, max_bytes=limit)
        # Outermost, so a form's ``form_lang`` is read from a message before the limit refuses it: the
        # 413 of a form sent in one message past the limit is in the form's language too.
        await reading_language_field(checked)(scope, receive, send)


def _form_limit(scope: Scope, form_bytes: int) -> int | None:
    """The most of an unsafe page request's urlencoded body read: SESSIONLESS_FORM_BYTES without a
    session cookie or an Authorization header, else ``form_bytes``; None for anything else."""
    if scope["method"] in SAFE_METHODS or exempt(scope):
        return None
    content_type = (header(scope, b"content-type") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    if header(scope, b"authorization") is None and SESSION_COOKIE not in Request(scope).cookies:
        return SESSIONLESS_FORM_BYTES
    return form_bytes


def install(app: FastAPI, settings: Settings) -> None:
    """The ``csrf_field()`` template global and the protecting layer (inside the body-size limit)."""
    templates.env.globals["csrf_field"] = csrf_field
    app.add_middleware(FormLanguage)
    app.add_middleware(FormProtection, settings=settings)

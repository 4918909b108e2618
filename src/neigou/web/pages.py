"""Server-rendered pages: templates with the request's locale and money formatting."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from sqlalchemy.orm import Session

from neigou.auth.dependencies import Authenticator
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm.workspace_repository import has_customer_book
from neigou.kit.attempts import refusal_note
from neigou.kit.clock import as_utc
from neigou.kit.i18n import LANG_COOKIE
from neigou.kit.money import format_bp, format_fold, format_rate_bp, format_yuan
from neigou.kit.settings import Settings, get_settings
from neigou.web.i18n import locale_of, page_callables, query_language, with_language
from neigou.web.paths import TEMPLATE_DIR

templates = Jinja2Templates(directory=TEMPLATE_DIR)
templates.env.filters["yuan"] = format_yuan
templates.env.filters["pct"] = format_bp  # a rate someone set (a tier's share, a commission)
templates.env.filters["rate_pct"] = format_rate_bp  # a rate measured (the analytics pages)
templates.env.filters["fold"] = format_fold


def local_time(value: datetime, zone: str | None = None, pattern: str = "%m-%d %H:%M") -> str:
    """A stored instant as the program's people read it: in the program's time zone (the deployment's
    default zone on pages that span programs)."""
    return as_utc(value).astimezone(ZoneInfo(zone or get_settings().default_timezone)).strftime(pattern)


@pass_context
def _local(context: Context, value: datetime, zone: str | None = None, pattern: str = "%m-%d %H:%M") -> str:
    """The ``local`` filter: :func:`local_time`, the zone left out being the default zone of the
    application that renders the page (its settings, as a form reads them), not of the environment."""
    request = context.get("request")
    default: str | None = request.app.state.settings.default_timezone if request is not None else None
    return local_time(value, zone or default, pattern)


templates.env.filters["local"] = _local
templates.env.add_extension("jinja2.ext.i18n")
templates.env.newstyle_gettext = True  # type: ignore[attr-defined]  # set by the i18n extension


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page in the caller's locale."""
    locale = locale_of(request)
    return templates.TemplateResponse(
        request,
        name,
        {**page_callables(locale), "locale": locale, **_workspace(request, name, context), **context},
        status_code=status_code,
    )


@pass_context
def with_lang(context: Context, href: str) -> str:
    """A link on this site that keeps the page's ``?lang=`` (navigation, tabs): a language asked in the
    query holds for the pages the reader goes on to, without changing the language cookie."""
    lang = query_language(context["request"])
    return with_language(href, lang) if lang else href


templates.env.globals["with_lang"] = with_lang
# A stored send summary (``HTTP 500``, an error's class) as a sentence: ``tr(refusal_note(detail))``.
templates.env.globals["refusal_note"] = refusal_note


def is_secure(request: Request) -> bool:
    """Whether cookies set on this response must be ``Secure``."""
    settings: Settings = request.app.state.settings
    return settings.secure_cookies or request.url.scheme == "https"


def remember_language(request: Request, response: Response, locale: str) -> None:
    """Keep ``locale`` in the language cookie (the language switch): every later page is in it."""
    response.set_cookie(LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", secure=is_secure(request))


def _workspace(request: Request, name: str, context: dict[str, Any]) -> dict[str, Any]:
    """What every workspace page's navigation needs: whether the member keeps a customer book, as the
    page read it or as :data:`WorkspaceMember` read it with the session's token (never a read of its
    own: a request holds at most one connection at a time)."""
    if not name.startswith("m/") or "customer_book" in context:
        return {}
    return {"customer_book": bool(getattr(request.state, "customer_book", False))}


def _navigation(session: Session, principal: Principal, request: Request) -> None:
    """Read the workspace navigation's customer book in the token lookup's session."""
    request.state.customer_book = has_customer_book(session, principal.member_id or 0)


# The member of a workspace page: the session cookie's member, with what the navigation needs.
WorkspaceMember = Annotated[Principal, Depends(Authenticator(Role.MEMBER, cookie=True, also=_navigation))]


def client_ip(request: Request) -> str:
    """The peer address every per-address rate limit counts against ("unknown" when the server gives
    none), as :func:`address_bucket` groups it. Behind a reverse proxy the peer is the proxy unless
    uvicorn trusts it (``NEIGOU_FORWARDED_ALLOW_IPS``): then it is the client the proxy names."""
    return address_bucket(request.client.host) if request.client else "unknown"


def address_bucket(host: str) -> str:
    """An IPv6 address as its /64 network (one subscriber's: rotating within it would otherwise give a
    fresh count per address), an IPv4 address (an IPv4-mapped IPv6 one too) as itself; anything
    else, as given."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # no zone index ("fe80::1%eth0")
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to; anything pointing off-site falls back to ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target

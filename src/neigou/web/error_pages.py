"""What a person reads when a page's request is refused: ``http_error.html`` (a 503 of the console or the
workspace in its own frame), in the language the page itself would have been in (``web.i18n.locale_of``:
``?lang=``, the form's language, the cookie, zh-CN), with the refusal's status, code and headers kept.

Which requests are a page's is ``web.paths.is_page``; every other refusal stays problem+json
(``web.problems.problem``)."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import HTMLResponse

from neigou.kit.errors import Unavailable
from neigou.kit.i18n import N_, Message, Text, translate, translations
from neigou.web.i18n import locale_of
from neigou.web.pages import render

# Starlette's own refusals on a page's path (unknown address, wrong method): title and message.
HTTP_PAGES = {
    404: (
        N_("Page not found"),
        N_("There is no page at this address. Check the address, or go back and follow a link."),
    ),
    405: (
        N_("Not possible here"),
        N_("This page cannot be used this way. Go back and try again from the page itself."),
    ),
}
# A page's address or form with values its route cannot read (FastAPI's validation): what to check.
_UNREADABLE = N_("Cannot be shown")
# What a person on a page is told when it cannot be shown right now, by the problem's code; the problem's
# own detail (meant for whoever runs the deployment) follows it on the console only.
UNAVAILABLE = N_("Temporarily unavailable")
_UNAVAILABLE_PAGES = {
    "analytics_store_busy": N_("The figures are temporarily unavailable. Please try again in a few minutes."),
    "overloaded": N_("Many people are using the service right now. Please try again in a moment."),
}
_UNAVAILABLE_PAGE = N_("This page is temporarily unavailable. Please try again in a few minutes.")
_MERCHANT_NAV = "console/merchant/_nav.html"
_CONSOLE_NAV = "console/_nav.html"


def _again(request: Request) -> str | None:
    """The address to try again (a GET's or a HEAD's own, its query kept), None for a form's answer."""
    if request.method not in {"GET", "HEAD"}:
        return None
    query = request.url.query
    # One leading slash: a path such as ``//evil.example/x`` (a shed request is answered before any route
    # is chosen) would otherwise be a link to another site.
    return "/" + request.url.path.lstrip("/\\") + (f"?{query}" if query else "")


def error_page(
    request: Request, status: int, code: str, title: str, message: Text, *, retry_after: int | None = None
) -> HTMLResponse:
    """``http_error.html``: ``title`` (a msgid) and ``message`` in the page's language, ``code`` in its
    ``data-code``; a 503 offers to try again and says when (``Retry-After``)."""
    locale = locale_of(request)
    answer = render(
        request,
        "http_error.html",
        status_code=status,
        code=code,
        title=translations(locale).gettext(title),
        message=translations(locale).gettext(message)
        if isinstance(message, str)
        else translate(message, locale),
        again=_again(request) if status == 503 else None,
    )
    answer.headers["Cache-Control"] = "no-store"
    if retry_after is not None:
        answer.headers["Retry-After"] = str(retry_after)
    return answer


def unreadable_page(request: Request, code: str, fields: Sequence[str]) -> HTMLResponse:
    """422 ``code``: the page's address (or form) holds values its route cannot read, named."""
    named = ", ".join(dict.fromkeys(f for f in fields if f)) or "?"
    if request.method in {"GET", "HEAD"}:
        message = Message(
            "This address has values the page cannot read ({fields}). Check the address, or go back and "
            "follow a link.",
            fields=named,
        )
    else:
        message = Message(
            "The form sent has values this page cannot read ({fields}). Go back, check them and send it again.",
            fields=named,
        )
    return error_page(request, 422, code, _UNREADABLE, message)


def unavailable_message(code: str) -> str:
    """What a person is told of a page that cannot be shown right now, by the problem's code (a msgid)."""
    return _UNAVAILABLE_PAGES.get(code, _UNAVAILABLE_PAGE)


def unavailable_page(request: Request, exc: Unavailable) -> HTMLResponse:
    """A page that cannot be shown right now (a store another process holds): 503 with Retry-After, in
    the page's frame (the console's, the workspace's; a shopper's page is ``http_error.html``)."""
    path = request.url.path
    if not path.startswith(("/console", "/m/")):
        message = unavailable_message(exc.code)
        return error_page(request, exc.status, exc.code, UNAVAILABLE, message, retry_after=exc.retry_after)
    answer = render(
        request,
        "m/unavailable.html" if path.startswith("/m/") else "console/unavailable.html",
        status_code=exc.status,
        code=exc.code,
        message=unavailable_message(exc.code),
        reason=exc.detail,
        again=_again(request),
        nav=_MERCHANT_NAV if path.startswith("/console/merchant") else _CONSOLE_NAV,
    )
    answer.headers["Retry-After"] = str(exc.retry_after)
    answer.headers["Cache-Control"] = "no-store"
    return answer

"""The language a page form's answer is in: the one the form was shown in, however often it is sent.

A form's answer (its redirect, the form shown again with its errors, the refusal of a form without its
token) is in the language the form was sent in, with or without a language cookie. That language is,
first, the ``?lang=`` of the form's action; then the form's own ``form_lang`` field, which
``csrf_field()`` writes into every POST form of a page shown in a language asked for (``?lang=``, or a
form's answer); then the ``?lang=`` of the page that held it (its ``Referer``). The field is what keeps
a form shown again in its language: that page's address is the address it was posted to, without
``?lang=``, and a browser names it in the ``Referer`` of the next submit.

The field is looked for in the first ``HEAD_BYTES`` of the body as it passes on to whoever reads it
(the CSRF check, the route's form), never by reading the body for it; only in a posted page form (an
unsafe request outside ``/api/`` and ``/webhooks/``), so it never changes the language of any other
request, and the cookie stays the language switch's (``/lang``).
"""

from __future__ import annotations

from functools import partial
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request
from markupsafe import Markup
from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neigou.kit.i18n import LOCALES
from neigou.web.i18n import FORM_LANGUAGE, query_language, with_language
from neigou.web.multipart_head import MULTIPART, first_fields
from neigou.web.paths import is_page

LANG_FIELD = "form_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# The scope key of a posted form's ``LanguageField`` (``reading_language_field``).
FIELD_LANGUAGE = "neigou.form_field_language"
# How much of a form's body is looked at for its ``form_lang``: it follows the CSRF token, the first
# field of every POST form, so it is within the first few hundred bytes of a form a page sent.
HEAD_BYTES = 4096
URLENCODED = b"application/x-www-form-urlencoded"
_LANG_ONLY = frozenset({LANG_FIELD})


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def exempt(scope: Scope) -> bool:
    """Whether the request is not a page's (``web.paths.NOT_PAGES``): it reads no cookie."""
    return not is_page(str(scope["path"]))


def posted_page_form(scope: Scope) -> bool:
    """Whether the request is an unsafe one to a page (what the form layers check and answer)."""
    return scope["type"] == "http" and scope["method"] not in SAFE_METHODS and not exempt(scope)


def language_field(request: Request) -> Markup:
    """The hidden ``form_lang`` input of a page shown in a language asked for; nothing otherwise (the
    cookie, then zh-CN, answers such a form, as they chose the page's language)."""
    lang = query_language(request)
    if not lang:
        return Markup("")
    return Markup('<input type="hidden" name="{}" value="{}">').format(LANG_FIELD, lang)


def _lang_in(query: str) -> str:
    lang = next((v for k, v in parse_qsl(query) if k == "lang"), "")
    return lang if lang in LOCALES else ""


def sent_in(scope: Scope) -> str:
    """The language a posted form was sent in: the ``?lang=`` of its action, else its ``form_lang``
    field, else the ``?lang=`` of the page that holds it (the ``Referer``, which browsers send with a
    form to its own site); "" for none."""
    field = scope.get(FIELD_LANGUAGE)
    return (
        _lang_in(scope.get("query_string", b"").decode("latin-1"))
        or (field.lang if isinstance(field, LanguageField) else "")
        or _lang_in(urlsplit(header(scope, b"referer") or "").query)
    )


def _urlencoded_field(head: bytes, whole: bool) -> str:
    pairs = head.split(b"&")
    if not whole:
        pairs = pairs[:-1]  # cut short: its last pair may be too
    for pair in pairs:
        for key, value in parse_qsl(pair.decode("latin-1")):
            if key == LANG_FIELD:
                return value
    return ""


def _field_language(content_type: str | None, head: bytes, whole: bool) -> str:
    kind, _ = parse_options_header(content_type)
    if kind == URLENCODED:
        lang = _urlencoded_field(head, whole)
    elif kind == MULTIPART:
        lang = first_fields(content_type, head, _LANG_ONLY, 16).get(LANG_FIELD, b"").decode("latin-1")
    else:
        lang = ""
    return lang if lang in LOCALES else ""


class LanguageField:
    """A posted form's ``form_lang``, read from the start of its body as the body passes on to whoever
    reads it (the CSRF check, the route's form): nothing is read for it, so a form answered without its
    body being read (a sign-in redirect) stays unread."""

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        self.lang = ""
        self._head = b""
        self._done = False

    def _see(self, message: Message) -> None:
        cut = message["type"] != "http.request"  # the caller went away
        if not cut:
            self._head += message.get("body", b"")
        more = not cut and bool(message.get("more_body", False))
        if more and len(self._head) < HEAD_BYTES:
            return
        whole = not cut and not more and len(self._head) <= HEAD_BYTES
        self.lang = _field_language(self.content_type, self._head[:HEAD_BYTES], whole)
        self._head, self._done = b"", True

    def passing(self, receive: Receive) -> Receive:
        async def seen() -> Message:
            message = await receive()
            if not self._done:
                self._see(message)
            return message

        return seen


def reading_language_field(app: ASGIApp) -> ASGIApp:
    """``app`` with a posted page form's ``form_lang`` read on the way (``LanguageField``, in the scope
    for ``sent_in``: a shallow copy of the scope, as asgi-csrf hands on, shares it)."""

    async def reading(scope: Scope, receive: Receive, send: Send) -> None:
        if posted_page_form(scope):
            field = scope[FIELD_LANGUAGE] = LanguageField(header(scope, b"content-type"))
            receive = field.passing(receive)
        await app(scope, receive, send)

    return reading


def _local(location: str) -> bool:
    parts = urlsplit(location)
    return location.startswith("/") and not parts.netloc and "lang" not in dict(parse_qsl(parts.query))


class FormLanguage:
    """ASGI layer: a form's answer is in the language the form was sent in (``sent_in``). One that sends
    the reader on (a redirect to a page of this site) keeps it as ``?lang=``; one that shows the form
    again (its errors, 422) is rendered in it, as the scope's ``FORM_LANGUAGE`` (``web.i18n.locale_of``),
    its links and its forms' ``form_lang`` keeping it too; so is the refusal of a form without its token
    or from another site (``web.forms``). The one place for every form."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not posted_page_form(scope):
            await self.app(scope, receive, send)
            return
        # Asked for once the form is read: rendering it again, or answering with a redirect.
        scope[FORM_LANGUAGE] = partial(sent_in, scope)

        async def keeping_language(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and 300 <= message["status"] < 400
                and (lang := sent_in(scope))
            ):
                headers = [
                    (key, with_language(value.decode("latin-1"), lang).encode("latin-1"))
                    if key == b"location" and _local(value.decode("latin-1"))
                    else (key, value)
                    for key, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, keeping_language)

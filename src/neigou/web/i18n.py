"""The reader's language and the gettext callables a page is rendered with.

Text comes from the gettext catalogs (``neigou/locale``, see ``kit.i18n``); each request gets the
callables of its own language in its template context, so concurrent requests never share a mutable
"current language".
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from typing import Any

from babel.support import NullTranslations
from fastapi import Request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import escape

from neigou.kit.i18n import (
    DEFAULT_LOCALE,
    LANG_COOKIE,
    LOCALES,
    Text,
    reader_locale,
    translate,
    translations,
)
from neigou.web.labels import FAMILIES

# The scope key under which ``web.form_language.FormLanguage`` leaves how to know the language a posted
# form was sent in (a callable: the ``?lang=`` of its action, else its ``form_lang`` field, known once its
# body is read, else the ``?lang=`` of the page that held it): the one rule for a form's answer, whether it
# redirects (the layer adds ``?lang=`` to the location) or shows the form again with its errors (read
# here, and written into its forms' ``form_lang`` again).
FORM_LANGUAGE = "neigou.form_language"


def _sent_in(request: Request) -> str:
    sent = request.scope.get(FORM_LANGUAGE)
    return str(sent()) if callable(sent) else ""


def locale_of(request: Request) -> str:
    """The page language: ``?lang=``, then (a form's answer) the language the form was sent in, then the
    cookie, then zh-CN."""
    wanted = (
        request.query_params.get("lang")
        or _sent_in(request)
        or request.cookies.get(LANG_COOKIE)
        or DEFAULT_LOCALE
    )
    return wanted if wanted in LOCALES else DEFAULT_LOCALE


def query_language(request: Request) -> str:
    """The ``?lang=`` a page was asked in, or for a form's answer the language the form was sent in
    ("" when none or not a language we speak): kept in its links."""
    wanted = request.query_params.get("lang", "")
    return wanted if wanted in LOCALES else _sent_in(request)


def with_language(href: str, lang: str) -> str:
    """``href`` (a path on this site) asking for ``lang``, its fragment kept: ``/m/links#new`` →
    ``/m/links?lang=en#new``."""
    path, hash_, fragment = href.partition("#")
    joined = f"{path}{'&' if '?' in path else '?'}lang={lang}"
    return f"{joined}{hash_}{fragment}"


def problem_locale(request: Request) -> str:
    """The language of an error: the language cookie, then ``Accept-Language``, then zh-CN."""
    return reader_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def _format(context: Context, text: str, values: dict[str, Any]) -> str:
    # Like Jinja's newstyle gettext: always a %-format string; the catalog's text is escaped as text.
    if context.eval_ctx.autoescape:
        return escape(text) % values
    return text % values


def _label_key(value: Any) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@cache
def page_callables(locale: str) -> dict[str, Any]:
    """``gettext``/``ngettext``/``pgettext`` (newstyle: ``_("%(n)s left", n=3)``), ``label`` for values
    looked up in ``web.labels`` and ``tr`` for messages raised by domains, all in ``locale``."""
    catalog: NullTranslations = translations(locale)

    @pass_context
    def gettext(context: Context, msgid: str, /, **values: Any) -> str:
        return _format(context, catalog.gettext(msgid), values)

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, n: int, /, **values: Any) -> str:
        values.setdefault("num", n)
        return _format(context, catalog.ngettext(singular, plural, n), values)

    @pass_context
    def pgettext(context: Context, message_context: str, msgid: str, /, **values: Any) -> str:
        return _format(context, str(catalog.pgettext(message_context, msgid)), values)

    def label(family: str, value: Any) -> str:
        entry = FAMILIES[family].get(_label_key(value))
        if entry is None:
            return ""
        if isinstance(entry, tuple):
            return str(catalog.pgettext(*entry))
        return catalog.gettext(entry)

    def tr(text: Text) -> str:
        return translate(text, locale)

    return {"gettext": gettext, "ngettext": ngettext, "pgettext": pgettext, "label": label, "tr": tr}

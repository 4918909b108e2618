"""Translatable text: English msgids rendered later in the reader's language from the gettext catalogs
under ``neigou/locale`` (compiled to ``.mo`` by the package build).

Code that knows no request marks its sentences with ``Message`` (or ``N_`` for a bare msgid); whoever
knows the reader's language renders them with ``translate``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANG_COOKIE = "neigou_lang"


def N_(msgid: str) -> str:  # noqa: N802 - the gettext name for "mark only"
    """Mark ``msgid`` for extraction; it is translated where it is shown."""
    return msgid


def NP_(context: str, msgid: str) -> tuple[str, str]:  # noqa: N802 - the gettext name for "mark only"
    """Mark ``msgid`` in ``context`` (one English word, two meanings) for extraction."""
    return context, msgid


Label = str | tuple[str, str]
"""A msgid marked with ``N_``, or a (context, msgid) pair marked with ``NP_``."""


class Message:
    """An English sentence with named values (``{name}``), translated when it is rendered.

    ``Message("Program {id} does not exist.", id=7)`` reads "Program 7 does not exist." in English and
    "计划不存在。" (or whatever the catalog says, with the same placeholders) in Chinese.
    """

    __slots__ = ("msgid", "values")

    def __init__(self, msgid: str, /, **values: Any) -> None:
        self.msgid = msgid
        self.values = values

    def render(self, translations: NullTranslations) -> str:
        """The sentence in the language of ``translations``."""
        values = {
            name: value.render(translations) if isinstance(value, Message | Sentences) else value
            for name, value in self.values.items()
        }
        return translations.gettext(self.msgid).format(**values)

    def __str__(self) -> str:
        return self.msgid.format(**self.values)

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and (self.msgid, self.values) == (other.msgid, other.values)

    def __hash__(self) -> int:
        return hash(self.msgid)


class Sentences:
    """Several messages shown as one text, sentence after sentence."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[Message]) -> None:
        self.parts = parts

    def render(self, translations: NullTranslations) -> str:
        """The sentences in the language of ``translations``."""
        return " ".join(part.render(translations) for part in self.parts)

    def __str__(self) -> str:
        return " ".join(str(part) for part in self.parts)


Text = str | Message | Sentences


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalog of ``locale`` (English is the source language: msgids pass through)."""
    if locale not in LOCALES or locale == "en":
        return NullTranslations()
    folder = locale.replace("-", "_")
    if not (LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file():
        raise FileNotFoundError(
            f"The {locale} catalog is not compiled: reinstall the package (pip install -e .) or run "
            "pybabel compile -d src/neigou/locale"
        )
    return Translations.load(str(LOCALE_DIR), [folder], DOMAIN)


def translate(text: Text, locale: str) -> str:
    """``text`` in ``locale``: a Message is translated, a plain string is shown as it is."""
    if isinstance(text, str):
        return text
    return text.render(translations(locale))


def translate_tree(value: Any, locale: str) -> Any:
    """``value`` with every Message inside dicts and lists translated (problem extras, row errors)."""
    if isinstance(value, Message | Sentences):
        return value.render(translations(locale))
    if isinstance(value, dict):
        return {k: translate_tree(v, locale) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [translate_tree(v, locale) for v in value]
    return value


def accepted_locale(header: str | None) -> str | None:
    """The first of our languages an ``Accept-Language`` header asks for (by weight), or None."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        language = tag.strip().lower().split("-")[0]
        if weight > 0 and language in ("zh", "en"):
            weighted.append((-weight, position, "zh-CN" if language == "zh" else "en"))
    return min(weighted)[2] if weighted else None


def reader_locale(cookie: str | None, accept_language: str | None) -> str:
    """The language of an API answer or error: the language cookie, then ``Accept-Language``, then zh-CN."""
    if cookie in LOCALES:
        return cookie
    return accepted_locale(accept_language) or DEFAULT_LOCALE

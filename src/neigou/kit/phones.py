"""The one phone-number rule: parse what people type (any digits, ``+86``, spaces, dashes, dots) with
Google's libphonenumber metadata, mainland China by default, and give E.164.

Pure: no I/O. Every customer reference goes through :func:`customer_ref` before it is hashed or
masked, so one phone written seven ways (an Excel text marker round it too) is one customer. The hashed form of a mainland
number stays its domestic digits (``13812345678``), which is what was hashed before this rule, so
stored hashes keep matching; numbers of other countries hash as E.164.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import (
    Leniency,
    NumberParseException,
    PhoneNumberFormat,
    PhoneNumberMatcher,
    PhoneNumberType,
)

from neigou.kit.text_markers import spreadsheet_text

DEFAULT_REGION = "CN"
MAINLAND = 86
# The longest text read as a phone number: the longest customer reference any input takes (``customer_ref``
# is 1–128 characters in every schema and file column), so an accepted reference is read whole however widely
# it is spaced. A longer text is no phone number, and is turned away before any work is done on it.
MAX_INPUT = 128
# Marks dropped between digit groups besides white space, dashes (category Pd: ``-``, ``‐``…``―``, ``〜``…)
# and invisible format characters (Cf): the ASCII ``.()/``; the minus sign, which Unicode files as a math
# symbol, not a dash (NFKC makes it of superscript and subscript minus too); and the dots people paste
# between groups: middle dot ``·`` (NFKC makes it of the Greek ano teleia), hyphenation point ``‧``, bullet
# ``•``, bullet and dot operators ``∙`` ``⋅``, word separator middle dot ``⸱``, katakana middle dot ``・``
# (and its half-width form, after NFKC), ideographic full stop ``。`` (what a Chinese input method types
# for ``.``; its half-width form too); and the prolonged sound mark ``ー``, a letter to Unicode, which a
# kana keyboard types for ``-`` (and its half-width form, after NFKC): ``138ー1234ー5678``. Full-width
# ``．`` ``－`` ``（）`` ``／`` are ASCII after NFKC.
_SEPARATORS = frozenset(".()/" + "\u2212" + "\u00b7\u2027\u2022\u2219\u22c5\u2e31\u30fb\u3002" + "\u30fc")
# The same separators as raw text may hold them, before NFKC (what ``kit.redact`` matches in a log line):
# every dash (category Pd), the minus signs (``−``, superscript ``⁻``, subscript ``₋``) and the prolonged
# sound mark (``ー``, half-width ``ｰ``) …
DASHES = (
    "\\-\u058a\u05be\u1400\u1806\u2010-\u2015\u2e17\u2e1a\u2e3a\u2e3b\u2e40\u2e5d\u301c\u3030\u30a0"
    "\ufe31\ufe32\ufe58\ufe63\uff0d\U00010ead\u2212\u207b\u208b\u30fc\uff70"
)
# … and the dots and slashes, with their compatibility forms (full-width ``．`` ``／``, Greek ano teleia, one
# dot leader, small full stop, half-width katakana middle dot and ideographic full stop). Both are written
# as the inside of a regular expression's character class.
DOTS = "./\uff0e\uff0f\u00b7\u0387\u2027\u2022\u2219\u22c5\u2e31\u30fb\uff65\u3002\uff61\u2024\ufe52"
# What is left once the separators are gone: at most 20 digits after an optional ``+`` (E.164's 15 with an
# international and a trunk prefix); the length is bounded on this, not on the text as typed.
_SHAPE = re.compile(r"\+?[0-9]{3,20}")
# How a number is written round its digits, read once the separators are gone: a ``tel:`` URI's scheme
# (RFC 3966, any case: what a page's call link or a contact card holds) or a ``sip:`` (``sips:``) one with
# nothing but the number after it (``sip:+8613812345678``: what a softphone or a call centre's export
# writes; libphonenumber reads it too; one with a host, ``sip:…@host``, or parameters is an address and is
# kept as given), and an underscore joining the
# country code to the number (``+86_13812345678``: a form or a spreadsheet that keeps the two in one field).
# An underscore anywhere else keeps the text as given: ``138_1234_5678`` is as likely a member code.
_TEL_SCHEME = re.compile(r"(?i)(?:tel|sips?):")
_JOINED_COUNTRY_CODE = re.compile(r"(\+?(?:00?)?86)_")
# ``086`` before a mainland mobile: the international prefix ``00`` written with one zero (``086 138…``,
# ``086-138-1234-5678``), which libphonenumber reads as a trunk ``0`` and an invalid number, and the same
# behind a ``+`` (``+086 138…``, ``+0086`` written with one zero: no country code begins with ``0``, so the
# ``+`` only says an international prefix follows; libphonenumber refuses it). Only before eleven digits
# from a ``1``: a mainland mobile; ``086`` is no area code, so no landline reads this way.
_ONE_ZERO_PREFIX = re.compile(r"^\+?086(?=1[0-9]{10}$)")
_PLAIN_MOBILE_LENGTH = 11
# The fewest digits any country's mobile number is written with, its country code included (Niue's and
# Tokelau's: ``+683 1234``): a shorter run of digits is no one's mobile, however it is read
# (``tests/kit/test_phones.py`` checks it against libphonenumber's metadata).
SHORTEST_MOBILE_DIGITS = 7
_MOBILE = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
# How many candidates libphonenumber's matcher weighs in one text (``holds_a_mobile``): a text is at most
# ``MAX_INPUT`` characters, so a handful of numbers at most.
_MATCHER_TRIES = 16
_DROPPED_CATEGORIES = frozenset({"Pd", "Cf"})  # dashes; format characters (direction marks, zero-width)


@dataclass(frozen=True)
class Phone:
    """A valid phone number: ``e164`` (``+8613812345678``), the domestic digits as dialled in its
    own country (``13812345678``, ``02112345678``), and whether it reaches a mobile."""

    e164: str
    country_code: int
    domestic: str
    mobile: bool

    @property
    def key(self) -> str:
        """The form a customer reference is hashed in: domestic digits for mainland numbers."""
        return self.domestic if self.country_code == MAINLAND else self.e164


def ascii_digits(text: str) -> str:
    """``text`` with full-width and every other Unicode decimal digit as ASCII (NFKC first)."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in normal)


def _dropped(c: str) -> bool:
    """A separator between a number's digits: white space, a dash, a minus sign, ``.()/`` or a dot
    (``_SEPARATORS``), or an invisible format character (a number copied from a phone's contacts comes
    wrapped in direction marks, ``\u202a…\u202c``; chat apps put zero-width spaces in long digit runs)."""
    return c.isspace() or c in _SEPARATORS or unicodedata.category(c) in _DROPPED_CATEGORIES


# ASCII is its own NFKC form and has no other digits, so ASCII text (most references: openids and
# numbers typed on a phone) only loses its separators, in one ``str.translate``.
_DROPPED_ASCII = {code: None for code in range(128) if _dropped(chr(code))}
# Every ASCII character a written number can hold: the separators dropped, and what its compact form can
# hold before its scheme and joining underscore are read (the digits and ``+``, the underscore, and a
# ``tel:``/``sip:``/``sips:`` scheme in any case). Any other one stays in the text whatever is read off
# its front, so ``_SHAPE`` cannot match it.
_PHONE_ASCII = frozenset("0123456789+_:telsipTELSIP").union(map(chr, _DROPPED_ASCII))


def _compact(text: str) -> str | None:
    """Digits with an optional leading ``+``, separators dropped (and a ``tel:`` or ``sip:`` scheme, an
    underscore after the country code, ``086`` and ``+086`` for ``0086``); None when anything else is
    there. Four-four-three groups (``1381 2345 678``) are the same digits once the separators are gone."""
    if text.isascii():
        if not _PHONE_ASCII.issuperset(text):
            return None  # a character no way of writing a number has (an openid's letters)
        kept = text.translate(_DROPPED_ASCII)
    else:
        kept = "".join(c for c in ascii_digits(text) if not _dropped(c))
    if _SHAPE.fullmatch(kept) is None:
        if (scheme := _TEL_SCHEME.match(kept)) is not None:
            kept = kept[scheme.end() :]
        if (joined := _JOINED_COUNTRY_CODE.match(kept)) is not None:
            kept = joined.group(1) + kept[joined.end() :]
    return _ONE_ZERO_PREFIX.sub("0086", kept, count=1) if _SHAPE.fullmatch(kept) else None


def parse_phone(text: str, region: str = DEFAULT_REGION) -> Phone | None:
    """The phone number ``text`` is, read as dialled from ``region``; None when it is not a valid one.

    Letters are never read as digits (no ``1-800-FLOWERS``), so an openid is never a phone number.
    """
    if len(text) > MAX_INPUT:
        return None
    # White space and invisible marks at the edges are separators too: they go with the rest, and only
    # then is the length bounded (by ``_SHAPE``), on the digits that remain.
    compact = _compact(text)
    if compact is None:
        return None
    try:
        number = phonenumbers.parse(compact, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return Phone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        country_code=number.country_code or 0,
        domestic="".join(c for c in national if c.isdigit()),
        mobile=phonenumbers.number_type(number) in _MOBILE,
    )


def mainland_mobile(text: str) -> Phone | None:
    """A mainland China mobile number (what the join page and the claim form ask for), or None."""
    phone = parse_phone(text)
    return phone if phone is not None and phone.mobile and phone.country_code == MAINLAND else None


def customer_ref(ref: str) -> str:
    """A shopper's reference as it is hashed: an Excel text marker wrapping it dropped first
    (``kit.text_markers``: ``="13812345678"``, ``'13812345678``), then a mobile number however written
    becomes its key, anything else (an openid, the shop's own id) is kept as given, without
    surrounding spaces. ``="+86 138 1234 5678"`` is the mobile's key; an openid never begins with ``'``
    or ``="``, so no reference that is not a number changes meaning.

    Only mobiles: a shop's numeric customer id can look like a mainland landline without its
    trunk ``0``, and must not change meaning.
    """
    if len(ref) == _PLAIN_MOBILE_LENGTH and ref[0] == "1" and ref.isascii() and ref.isdigit():
        # Eleven plain digits from a 1 (how most shops send a mobile): neither an international nor a
        # trunk prefix, nor a text marker (``'`` or ``=`` first), so a mainland mobile's key is these very digits, and anything else is kept as
        # given, the same string: the answer of ``parsed_ref`` without parsing (a fortieth of its time).
        return ref
    return parsed_ref(ref)


def parsed_ref(ref: str) -> str:
    """``customer_ref`` by parsing every reference (its definition; the plain-digits shortcut gives the
    same answer, as the tests check): the text marker dropped, then the rest read as a phone number."""
    ref = spreadsheet_text(ref)
    phone = parse_phone(ref)
    return phone.key if phone is not None and phone.mobile else ref.strip()


def _plain_mobile_shape(digits: str) -> bool:
    """Eleven digits from a ``1``: a mainland mobile's shape, which a North American number written
    without its ``+`` (``1`` and ten digits) shares; never read as another country's."""
    return len(digits) == _PLAIN_MOBILE_LENGTH and digits[0] == "1"


def unprefixed_mobile(text: str) -> Phone | None:
    """A mobile of another country written with its country code but without ``+`` or ``00`` (``852 6123
    4567``, ``(852) 6123 4567``, ``85261234567``), as libphonenumber reads it behind a ``+``; None when
    the text is no such number or could be read otherwise: a number as dialled in China (a mobile, or a
    landline without its trunk ``0`` such as a shop's numeric id ``2112345678``), eleven digits from a
    ``1``, a ``0`` first (a trunk or international prefix), or a mainland one (``86 138…`` is read by
    :func:`parse_phone` already). For a column that holds phone numbers only: elsewhere such digits may
    be a code."""
    if len(text) > MAX_INPUT:
        return None
    compact = _compact(text)
    if compact is None or not compact.isdigit() or compact[0] == "0" or _plain_mobile_shape(compact):
        return None
    if parse_phone(compact) is not None:
        return None
    phone = parse_phone("+" + compact)
    return phone if phone is not None and phone.mobile and phone.country_code != MAINLAND else None


def _digit_runs(text: str) -> list[str]:
    """The runs of digits and the separators between them (``_dropped``, ``+``) in ``text``."""
    runs: list[str] = []
    run = ""
    for c in ascii_digits(text):
        if c.isdigit() or (run and (c == "+" or _dropped(c))):
            run += c
        elif run:
            runs.append(run)
            run = ""
    return [*runs, run] if run else runs


def holds_a_mobile(text: str) -> bool:
    """Whether a mobile number stands somewhere in ``text``, among other text (``13812345678(工作)``,
    ``王女士 138-1234-5678``, ``VIP13812345678``, two numbers): one libphonenumber's matcher finds (as
    dialled in China or behind ``+``/``00``), or a run of digits and separators that is one (read by
    :func:`parse_phone`, or by :func:`unprefixed_mobile` without its ``+``)."""
    if len(text) > MAX_INPUT:
        return False
    found = PhoneNumberMatcher(text, DEFAULT_REGION, leniency=Leniency.VALID, max_tries=_MATCHER_TRIES)
    if any(phonenumbers.number_type(match.number) in _MOBILE for match in found):
        return True
    for run in _digit_runs(text):
        if sum(c.isdigit() for c in run) < SHORTEST_MOBILE_DIGITS:
            continue
        if ((phone := parse_phone(run)) is not None and phone.mobile) or unprefixed_mobile(run) is not None:
            return True
    return False


def phone_cell(text: str) -> str | None:
    """The reference a cell of a column of phone numbers (an import's ``手机号``) names its customer by:
    the cell as given when :func:`customer_ref` reads it as a mobile or no mobile stands in it (a member
    code in the wrong column), a mobile of another country written without ``+`` but grouped as a number
    is written, as its E.164 form (``852 6123 4567`` → ``+85261234567``, what ``customer_ref`` makes of
    ``+852 6123 4567``); None when a mobile stands in it beside other text (a note, a name, a second
    number), which would hash as an opaque reference, another customer than the number, past its
    opt-out. Digits alone that only a country code in front would make a mobile (``60123456789``,
    ``85261234567``) are kept as given: as many member codes read so (one 11-digit code in twenty) as
    numbers abroad are written so, and two people must never share a key."""
    digits_alone = text.isascii() and text.isdigit()
    if _plain_mobile_shape(text) and digits_alone:
        return text  # eleven plain digits from a 1 (most cells): a mobile, or digits alone, kept as given
    if (phone := parse_phone(text)) is not None and phone.mobile:
        return text
    if digits_alone:
        return text
    if (abroad := unprefixed_mobile(text)) is not None:
        return abroad.e164
    return None if holds_a_mobile(text) else text

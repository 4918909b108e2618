"""Secrets and a shopper's identity taken out of free text: what every log line goes through
(``kit.logging``), and what a row keeps of an outside party's answer.

A query parameter is redacted by what its key *means*: the key is read as a server reads it
(percent-escapes and ``+`` decoded, ``customer%5Fref`` and ``%63ustomer_ref`` are ``customer_ref``), its
value replaced as written; ``key: value`` is read as ``key=value`` is, and a key written with brackets
(``customer_ref[]``, ``customer_ref[0]``, ``user[openid]``) by its base name and its bracketed parts; a
quoted pair (``"openid": "…"`` in JSON a receiver echoed, ``'customer_ref_hash': '…'`` in a dict's repr)
by the same rule (:func:`names_secret`), its value quoted or not (``"phone": 85261234567``). Every pattern
here runs in time linear in the text (no nested unbounded repetition, a key is read from its start only):
a log line may be as long as a request's URL.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

from neigou.kit.grouped_phones import COLUMN_443, GROUPED, grouped_spans, redact_grouped
from neigou.kit.intl_phones import (
    INTL_PARSES,
    INTL_START,
    PHONE,
    intl_mobile_end,
    intl_number_end,
    redact_intl_mobiles,
)
from neigou.kit.phones import DASHES, DOTS, SHORTEST_MOBILE_DIGITS

REDACTED = "[redacted]"

# A query parameter's key as a URL writes it (percent-escapes, ``+`` and brackets included), ended by ``=``
# or ``:`` (a quote may close it first: ``"phone": …``); never read from inside a longer key, so each key
# is scanned once whatever the text.
_KEY_CHARS = r"A-Za-z0-9_.%+\[\]\-"
_PARAM_KEY = re.compile(rf"(?<![{_KEY_CHARS}])([{_KEY_CHARS}]++)[\"']?([=:])")
_PARAM_VALUE = re.compile(r"[^&\s\"'#]+")
# After ``key:`` white space may come before the value, a quote may open it, and a comma, a semicolon or
# a closing bracket ends it (``{"phone": 85261234567}``, ``openid: oAbC…, next``).
_COLON_VALUE = re.compile(r"[ \t]*+[\"']?([^&\s\"'#,;)}\]]+)")
# A signature's value runs through its commas (``v1,abcdef==``).
_SIGNATURE_VALUE = re.compile(r"[^&\s\"'#;)}\]]*+")
# A key's bracketed parts (``customer_ref[]``, ``user[openid]``): each is read, and the key without them.
_BRACKETS = re.compile(r"[\[\]]+")
# A key names a secret when it ends with a secret's name (``access_token``, ``webhook.secret``,
# ``payee_keys``, ``target_sealed``, ``set-cookie``, ``monkey`` too: better too much than too little), is
# a signing or sign-in parameter, holds an identity's name as one of its parts (``phone``,
# ``phone_number``, ``customer_ref``, ``customer_ref_hash``, ``user.openid``, ``union_id``), or holds
# ``signature`` anywhere (``x-hub-signature-256``, ``x-signature``, ``x-shop-signature-v2``,
# ``signatureValue``: whatever a sender's header adds round it, it carries one). A camel-case
# key is read as its snake-case form (``customerRef``, ``accessToken``, ``openId``). Only its last
# characters are read for the first rule (a key longer than this names nothing we know): the rule
# backtracks over a run of letters and dashes, so it is kept to a bounded piece of text.
_KEY_TAIL = 64
_SECRET_TAIL = re.compile(
    r"(?i)(?:^|\b)(?:[a-z_-]*(?:token|key|secret|password|passwd|signature|sealed|cookie|authorization|"
    r"credential|bearer|phone|mobile|openid)s?|sig|sign|code|customer_ref)$"
)
# A key read as a secret for its last word ``code`` alone (a sign-in code, which is never only digits):
# under it a short number (``code: 500``, ``"code": 40001``, an HTTP status or an error code) is kept,
# being too short for anyone's mobile (``kit.phones.SHORTEST_MOBILE_DIGITS``).
_CODE_TAIL = re.compile(r"(?i)(?:^|\b)code$")
_SHORT_NUMBER = re.compile(rf"[0-9]{{1,{SHORTEST_MOBILE_DIGITS - 1}}}")
_SECRET_PART = re.compile(
    r"(?i)signature|(?<![a-z])(?:phone|mobile|open_?id|union_?id|customer_ref)(?![a-z])"
)
# A lower-case letter or digit followed by a capital: where a camel-case key's words part.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# How many times a key is decoded: ``customer%255Fref`` (encoded twice) is still read as the key it names.
_DECODINGS = 3


def decoded_key(key: str) -> str:
    """``key`` as a server reads a query's key (``unquote_plus``), decoded again while escapes remain
    (at most a few times: a key encoded twice still names what it names)."""
    for _ in range(_DECODINGS):
        if "%" not in key and "+" not in key:
            break
        key = unquote_plus(key)
    return key


def names_secret(key: str) -> bool:
    """:func:`secret_name`, remembered for the short keys a log repeats (``GET``, ``phone``, ``code``)."""
    return _short_names_secret(key) if len(key) <= _KEY_TAIL else secret_name(key)


def secret_name(key: str) -> bool:
    """Whether a key names a secret or a shopper's identity: the one rule for a query parameter's key
    (``redact_params``) and a structured log field's name (``kit.logging.redact_value``), read as
    written, as a server decodes it and in snake case (``customerRef`` is ``customer_ref``)."""
    forms = {key, decoded_key(key)}
    forms |= {part for form in forms if "[" in form or "]" in form for part in _BRACKETS.split(form) if part}
    forms |= {_CAMEL.sub("_", form) for form in forms}
    return any(
        _SECRET_TAIL.search(form[-_KEY_TAIL:]) is not None or _SECRET_PART.search(form) is not None
        for form in forms
    )


_short_names_secret = lru_cache(maxsize=4096)(secret_name)


@lru_cache(maxsize=1024)
def _names_a_code(key: str) -> bool:
    """Whether ``key`` names a secret only as a ``code`` (``code``, ``error.code``; never
    ``phone_code`` or ``sign``), read as :func:`secret_name` reads it."""
    forms = {key, decoded_key(key)}
    forms |= {_CAMEL.sub("_", form) for form in forms}
    return all(
        "[" not in form
        and _CODE_TAIL.search(form[-_KEY_TAIL:]) is not None
        and _SECRET_PART.search(form) is None
        for form in forms
    )


def short_code(key: str, value: object) -> bool:
    """Whether ``value`` under ``key`` is kept though the key names a secret: a number of fewer digits
    than any mobile (ASCII digits, or an int) under a key that names a ``code`` only."""
    if isinstance(value, bool) or not _names_a_code(key):
        return False
    text = str(value) if isinstance(value, int) else value
    return isinstance(text, str) and _SHORT_NUMBER.fullmatch(text) is not None


_MARKERS = (REDACTED, PHONE)
_SCHEMES = frozenset({"bearer", "basic"})
# A signature's key (``webhook-signature``, ``x-hub-signature-256``, ``x-signature-v2``, ``sig``): its value
# runs through commas and further space-separated ``v1,…`` items (``v1,abc== v1,def==``), as signature
# headers list them.
_SIGNATURE_KEY = re.compile(r"(?i)signature|(?:^|[_.-])sign?s?$")
_SIGNATURE_ITEMS = re.compile(r"(?:[ \t]+v[0-9]{1,3},[^&\s\"'#;)}\]]+)*+")
# A scheme word already followed by its credential's marker (``Token [redacted]``): nothing more to hide.
_SCHEME_DONE = re.compile(rf"[ \t]+{re.escape(REDACTED)}")


# A cookie header's value is the whole list of cookies (``Cookie: a=1; neigou_csrf=…; neigou_session=…``,
# ``Set-Cookie: neigou_session=…; Path=/``): every ``; name=value`` after the first goes with it.
_COOKIE_KEY = re.compile(r"(?i)cookie2?$")
_COOKIE_ITEMS = re.compile(r"(?:[ \t]*;[ \t]*[^\s;=\"',&#]++=[^\s;\"',&#]*+)*+")


def _cookie_end(text: str, start: int, end: int) -> int:
    """Where a cookie list whose first value runs from ``start`` to ``end`` ends: through its later cookies."""
    while end > start and text[end - 1] == ";":  # ``cookie=a=1;``: the separator is the list's
        end -= 1
    items = _COOKIE_ITEMS.match(text, end)
    return items.end() if items is not None else end


def _signature_end(text: str, start: int, end: int) -> int:
    """Where a signature's value from ``start`` ends: through its commas and further ``v1,…`` items."""
    value = _SIGNATURE_VALUE.match(text, start)
    end = max(end, value.end()) if value is not None else end
    items = _SIGNATURE_ITEMS.match(text, end)
    return items.end() if items is not None else end


def redact_params(text: str) -> str:
    """``text`` with the value of every ``key=value`` or ``key: value`` whose key names a secret
    (:func:`names_secret`) replaced by the marker; the key is kept as written. Linear: each key is read
    once, a redacted value is skipped, and a kept value is read again only for the keys inside it (a URL
    in a parameter)."""
    if "=" not in text and ":" not in text:
        return text
    pieces: list[str] = []
    kept = pos = 0
    while (found := _PARAM_KEY.search(text, pos)) is not None:
        pos = found.end()
        if not names_secret(found.group(1)):
            continue
        if found.group(2) == "=":
            value = _PARAM_VALUE.match(text, pos + (text[pos : pos + 1] in {'"', "'"}))
            start, end = value.span() if value is not None else (pos, pos)
        else:
            colon = _COLON_VALUE.match(text, pos)
            start, end = colon.span(1) if colon is not None else (pos, pos)
        if start < end and _SIGNATURE_KEY.search(decoded_key(found.group(1))[-_KEY_TAIL:]):
            end = _signature_end(text, start, end)
        if start < end and _COOKIE_KEY.search(decoded_key(found.group(1))):
            end = _cookie_end(text, start, end)
        # Nothing to hide: no value, one redacted already (a line redacted twice stays as it was), or the
        # scheme before a credential ``_HEADERS`` took out (``Authorization: Token [redacted]``).
        if (
            start == end
            or text.startswith(_MARKERS, start)
            or text[start:end].lower() in _SCHEMES
            or _SCHEME_DONE.match(text, end) is not None
        ):
            continue
        # A short number under a code's name (``code: 500``) is kept, unless a phone in groups starts it.
        if short_code(found.group(1), text[start:end]) and _number_end(text, start) <= end:
            continue
        # A value is cut at white space, but a phone written in groups (``customer_ref=1381\t2345\t678``,
        # ``customer_ref=+852 6123 4567``, which ``kit.phones`` reads as one number) goes whole, its later
        # groups with it, and so does any number after an international prefix (``code: +683 1234``).
        pieces += (text[kept:start], REDACTED)
        kept = pos = max(end, _number_end(text, start))
    return "".join((*pieces, text[kept:])) if pieces else text


# Pieces of a mainland mobile as people write it, ASCII, full-width or Arabic-Indic digits (both sets;
# ``kit.phones`` reads every script's digits): digits, a separator between groups, ``+86``, ``0086`` or
# ``86`` before it (glued or not, or in brackets; ``086`` and ``+086``, an international prefix written
# with one zero, and an underscore joining the country code, as ``kit.phones`` reads them), a ``tel:`` or
# ``sip:`` scheme before all, brackets round the first group. A separator is what
# ``kit.phones`` drops (its ``DASHES`` and ``DOTS``, written once there): white space, a dash or a minus
# sign or a URL query's space (``+``, ``%20``), up to three of them
# (``138 - 1234 - 5678``), with invisible format characters (direction marks, zero-width spaces) beside
# them or alone: a chat app's zero-width space beside a typed space (``138 \u200b1234 5678``) separates the
# groups as either does alone. A dot (``.``, ``·``, ``・``, ``。``…) or a slash separates them only when the
# same one parts both gaps, a space at most beside it (``138.1234.5678``, ``138·1234·5678``, ``138 / 1234 / 5678``): a decimal's dot beside another
# separator (``139.2026 1205``) stays a decimal and a number, and a date (``2026.12.05``) or a version
# is no three-four-four run.
#
# Four-four-three groups (``1381 2345 678``, ``+86 1381-2345-678``, ``(1381) 2345 678``) are a mobile
# too, as ``kit.phones`` reads them, when the same separator parts both gaps, written alike: what parts
# three-four-four groups (up to three spaces, tabs, dashes, ``+`` or ``%20``, invisible characters
# beside them or alone: ``1381  2345  678``, ``1381--2345--678``, ``1381\u200b 2345\u200b 678``), or one
# dot or slash with a space at most on each side; the first group may stand in brackets, and then its
# closing bracket is its gap, the other one free (``(1381)2345678``, ``(1381)2345 678``). Two years and
# a count parted alike (``1998 1999 100``) are redacted with them, better too much than a shopper's
# number; parted unlike (``1949-1978 300``, ``1381 2345-678``) they stay. So do three groups of a
# column of numbers (four, four and three plain digits, the same tab or wider space parting them and a
# further group: ``1500  2000  300  450``; never a mobile's three-four-four shape, a prefix or brackets,
# :func:`_phone`); a run whose digits are no mobile's (``10…``,
# ``12…``) is never one. Left unredacted, though ``kit.phones`` reads them as one number: digits of scripts other than
# these (Devanagari, …), which are not how a number reaches a Chinese shop.
_ZERO = "[0\uff10\u0660\u06f0]"
_ONE = "[1\uff11\u0661\u06f1]"
_THREE_TO_NINE = "[3-9\uff13-\uff19\u0663-\u0669\u06f3-\u06f9]"
_D = "[0-9\uff10-\uff19\u0660-\u0669\u06f0-\u06f9]"
_INVISIBLE = "[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
_GAP = rf"(?:[^\S\r\n]|[{DASHES}+]|%20)"
_SEP = rf"(?:{_INVISIBLE}{{0,3}}{_GAP}){{0,3}}{_INVISIBLE}{{0,6}}"
_CC = "[8\uff18\u0668\u06f8][6\uff16\u0666\u06f6]"
_PLUS = r"(?:[+\uff0b]|%2[bB])"
_TEL = "(?:(?:[Tt][Ee][Ll]|[Ss][Ii][Pp][Ss]?):)?"
_PREFIX = (
    rf"{_TEL}(?:(?:{_PLUS}?{_ZERO}{{1,2}}|{_PLUS})?{_CC}_?{_SEP}|[(\uff08]{_PLUS}?{_CC}[)\uff09][^\S\r\n]?)?"
)
_MARK = rf" ?(?P<mark>[{DOTS}]) ?"
_GROUPS = rf"(?:{_SEP}{_D}{{4}}{_SEP}|{_MARK}{_D}{{4}} ?(?P=mark) ?){_D}{{4}}"
_MOBILE = rf"{_PREFIX}[(\uff08]?{_ONE}{_THREE_TO_NINE}{_D}[)\uff09]?{_GROUPS}"
_ONE_GAP = rf"(?:(?!{_D}){_SEP}|[ \u3000]?[{DOTS}][ \u3000]?)"
_GAP_443 = rf"(?P<gap>{_ONE_GAP})"
_FIRST_443 = rf"(?:{_ONE}{_THREE_TO_NINE}{_D}{{2}}|[(\uff08]{_ONE}{_THREE_TO_NINE}{_D}{{2}}[)\uff09])"
_MOBILE_443 = (
    rf"{_PREFIX}(?:{_FIRST_443}{_GAP_443}{_D}{{4}}(?P=gap){_D}{{3}}"
    rf"|[(\uff08]{_ONE}{_THREE_TO_NINE}{_D}{{2}}[)\uff09]{_D}{{4}}{_ONE_GAP}?{_D}{{3}})"
)

# A credential's parameters after its scheme (RFC 9110's ``auth-param``: Digest's ``username="x",
# realm="y", nonce="…", response="…"``, AWS's ``Credential=…, SignedHeaders=…, Signature=…``): a name,
# ``=`` and a token or a quoted string (its quotes escaped too, as JSON writes them: ``\"x\"``), parted by
# commas. Linear: a quoted value's scan stops at the next quote, and the list is taken possessively.
_AUTH_QUOTED = r'\\?"(?:[^"\\\r\n]|\\[^"\r\n])*+(?:\\?"|(?=[\r\n]|\Z))'
_AUTH_PARAM = rf"[A-Za-z0-9!#$%*+.^_`|~-]++[ \t]*=[ \t]*(?:{_AUTH_QUOTED}|[^\s\"',;&]+)"
_AUTH_CREDENTIAL = rf"(?:{_AUTH_PARAM}(?:[ \t]*,[ \t]*{_AUTH_PARAM})*+|{_AUTH_QUOTED}|[^\s\"',;&]+)"
# Secrets inside free text, before (``_HEADERS``) and after (``_TEXT``) the query parameters.
_HEADERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)[ \t]+[A-Za-z0-9._~+/=-]+"), r"\1 " + REDACTED),
    # any scheme word after an Authorization key (``Token``, ``Digest``, ``AWS4-HMAC-SHA256``): the
    # whole credential after it goes, a token or every parameter, the word stays
    (
        re.compile(
            r"(?i)\b(authorization[\"']?[ \t]*[:=][ \t]*[\"']?[A-Za-z][A-Za-z0-9_-]{0,31})[ \t]+"
            rf"(?!\[redacted\]){_AUTH_CREDENTIAL}"
        ),
        r"\1 " + REDACTED,
    ),
)
_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?i)(['\"]?(?:authorization|cookie|password|secret|token)['\"]?[ \t]*[:=][ \t]*)(['\"]).*?\2"
        ),
        r"\1\2" + REDACTED + r"\2",
    ),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_" + REDACTED),
    # API tokens and sign-in codes (``kit.ids.new_token``) wherever they stand: a lookup's KeyError, a path.
    (re.compile(r"\b(ng[tc])_[A-Za-z0-9_-]{8,}"), r"\1_" + REDACTED),
)
# not inside a longer number or a decimal, but at a sentence's end (``… 13812345678.``) too
_PHONE = re.compile(rf"(?<![\d.])(?:{_MOBILE}|{_MOBILE_443})(?!\d|\.\d)")
# A column's further number beside the run: one to six plain digits standing alone.
_AMOUNT_AFTER = re.compile(r"[0-9]{1,6}(?:\s|\Z)")
_AMOUNT_BEFORE = re.compile(r"(?:\A|\s)[0-9]{1,6}\Z")


def _number_end(text: str, pos: int) -> int:
    """Where a phone (:func:`phone_end`), or else any international number (:func:`intl_number_end`),
    written from ``pos`` ends: what a value under a secret's key takes with it past white space."""
    end = phone_end(text, pos)
    return end if end > pos else intl_number_end(text, pos)


def phone_end(text: str, pos: int) -> int:
    """Where a phone written from ``pos`` ends (a mainland one, or any country's after its
    international prefix); ``pos`` when none is written there."""
    mainland = _PHONE.match(text, pos)
    if mainland is not None:
        return mainland.end()
    run = GROUPED.match(text, pos)
    if run is not None:
        # the mobiles written one after another from ``pos``, parted by the list's one separator
        end = pos
        for start, stop in grouped_spans(run):
            if start != end + len(run.group("sep")) * (end > pos):
                break
            end = stop
        if end > pos:
            return end
    found = INTL_START.match(text, pos)
    intl_end = intl_mobile_end(text, pos, found.end(), [INTL_PARSES]) if found is not None else None
    return pos if intl_end is None else intl_end


def _phone(found: re.Match[str]) -> str:
    """The marker for a run of digit groups that can be a mobile; the run as written only when it is
    three plain groups of four, four and three ASCII digits parted by the same tab or wider space, and
    that same white space parts it from a further plain number of at most six digits before or after
    it, standing alone (white space or the text's edge beyond it): a column of amounts or counts
    (``1500  2000  300  450``, ``fen\t100\t1500\t2000\t300``). A mobile's own shape (three, four,
    four), a prefix, brackets, gaps unlike each other, or a neighbour that is a date, a decimal, a
    longer number or another phone are always a phone: better too much than a shopper's number."""
    run = found.group()
    shape = COLUMN_443.fullmatch(run)
    if shape is None:
        return PHONE
    gap, text, start, end = shape.group(1), found.string, found.start(), found.end()
    after = text.startswith(gap, end) and _AMOUNT_AFTER.match(text, end + len(gap)) is not None
    before = text.endswith(gap, 0, start) and _AMOUNT_BEFORE.search(text, 0, start - len(gap)) is not None
    return run if after or before else PHONE


# A quoted name and its quoted value, as JSON, a Python dict's repr or a header echoed as JSON writes
# them (``"openid": "…"``, ``'customer_ref_hash': '…'``, ``"webhook-signature":"v1,…"``). Linear: the
# name is bounded and a value's scan stops at the next quote.
_QUOTED_PAIR = re.compile(r"""(["'])([A-Za-z0-9_.\-]{1,64})\1([ \t]*[:=][ \t]*)(["'])([^"'\n]*)\4""")


def _quoted_pair(found: re.Match[str]) -> str:
    quote, name, sep, value_quote, value = found.group(1, 2, 3, 4, 5)
    if value in {REDACTED, PHONE} or not names_secret(name) or short_code(name, value):
        # a phone already reads ``[phone]``; a short number under a code's name is no secret
        return found.group()
    return f"{quote}{name}{quote}{sep}{value_quote}{REDACTED}{value_quote}"


def redact_quoted_pairs(text: str) -> str:
    """``text`` with the value of every quoted ``"name": "value"`` pair whose name names a secret
    (:func:`names_secret`, the rule a query's key and a log field's name are read by) replaced."""
    return _QUOTED_PAIR.sub(_quoted_pair, text) if ":" in text or "=" in text else text


def redact_text(text: str) -> str:
    """The text with every secret it carries replaced by a marker."""
    for pattern, replacement in _HEADERS:
        text = pattern.sub(replacement, text)
    text = redact_params(text)
    for pattern, replacement in _TEXT:
        text = pattern.sub(replacement, text)
    return redact_quoted_pairs(redact_intl_mobiles(GROUPED.sub(redact_grouped, _PHONE.sub(_phone, text))))

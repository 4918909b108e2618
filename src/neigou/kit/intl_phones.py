"""Numbers written after an international prefix, as ``kit.redact`` finds them in a log line: a mobile of
any country ``kit.phones`` reads as one (:func:`redact_intl_mobiles`), and where any number of a country's
length ends (:func:`intl_number_end`). Each prefix reads a bounded run, so a line is read in linear time."""

from __future__ import annotations

import re
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata

from neigou.kit.phones import DASHES, DOTS, parse_phone

PHONE = "[phone]"


# A mobile of any country, as ``kit.phones`` reads one: an international prefix (``+``, full-width ``＋``,
# ``%2B``, ``00``), then digits of any script parted by what ``kit.phones`` drops (white space, dashes,
# dots and slashes, brackets, invisible marks, ``%20``). The run is read possessively and at most
# ``_INTL_RUN_CHARS`` characters long, so each prefix costs a bounded scan; it is cut after one of its
# digit groups, the longest first, where the digits after the country code are as many as that country's
# numbers have (``phonenumbers``' metadata), and only such a cut is parsed (``kit.phones.parse_phone``).
# A text parses at most ``INTL_PARSES`` cuts (a parse is slow: pure Python); a further cut of a possible
# length is redacted unparsed, better too much than a shopper's number.
# A prefix is read only where seven digits follow it, each behind at most four separators: no country's
# mobile has fewer.
_RUN_SEP = rf"(?:[^\S\r\n]|[{DASHES}{DOTS}()\uff08\uff09\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]|%20)"
INTL_START = re.compile(
    rf"(?<![\w%+\uff0b])(?:[+\uff0b]|%2[bB]|(?<!\d)00)(?=\d)(?=(?:{_RUN_SEP}{{0,4}}\d){{7}})"
)
_INTL_RUN_CHARS = 40
_INTL_RUN = re.compile(rf"(?:\d|{_RUN_SEP}){{0,{_INTL_RUN_CHARS}}}+")
_DIGITS = re.compile(r"\d+")
INTL_PARSES = 4
_INTL_HINTS = ("+", "\uff0b", "%2", "00")


@cache
def _national_lengths(country_code: int) -> frozenset[int]:
    """How many digits a number of this country code has after it (empty: no such country code)."""
    lengths: set[int] = set()
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        metadata = (
            PhoneMetadata.metadata_for_nongeo_region(country_code)
            if region == "001"
            else PhoneMetadata.metadata_for_region(region)
        )
        for desc in (metadata.general_desc, metadata.mobile) if metadata is not None else ():
            if desc is not None:
                lengths.update(n for n in desc.possible_length if n > 0)
    return frozenset(lengths)


def _intl_cuts(text: str, digits_at: int) -> list[int]:
    """Where a run of digit groups from ``digits_at`` may end as an international number, longest first."""
    run = _INTL_RUN.match(text, digits_at)
    end = run.end() if run is not None else digits_at
    digits = ""
    cuts: list[int] = []
    lengths: frozenset[int] = frozenset()
    code = 0
    for group in _DIGITS.finditer(text, digits_at, end):
        written = group.group()
        digits += written if written.isascii() else "".join(str(int(c)) for c in written)
        if not code:
            if digits[0] == "0":
                return []
            code = next((int(digits[:n]) for n in (1, 2, 3) if _national_lengths(int(digits[:n]))), 0)
            if not code and len(digits) >= 3:
                return []
            lengths = _national_lengths(code) if code else frozenset()
        if code and len(digits) - len(str(code)) in lengths:
            cuts.append(group.end())
    return cuts[::-1]


def intl_mobile_end(text: str, start: int, digits_at: int, budget: list[int]) -> int | None:
    """The end of the mobile written from ``start`` (its prefix) if there is one."""
    for cut in _intl_cuts(text, digits_at):
        if budget[0] <= 0:
            return cut
        budget[0] -= 1
        written = text[start:cut].replace("%20", " ")
        written = "+" + written[3:] if written[:3] in {"%2B", "%2b"} else written
        phone = parse_phone(written)
        if phone is not None and phone.mobile:
            return cut
    return None


def redact_intl_mobiles(text: str) -> str:
    """``text`` with every mobile written with an international prefix (any country's) as the marker."""
    if not any(hint in text for hint in _INTL_HINTS):
        return text
    pieces: list[str] = []
    kept = pos = 0
    budget = [INTL_PARSES]
    while (found := INTL_START.search(text, pos)) is not None:
        pos = found.end()
        end = intl_mobile_end(text, found.start(), found.end(), budget)
        if end is not None:
            pieces += (text[kept : found.start()], PHONE)
            kept = pos = end
    return "".join((*pieces, text[kept:])) if pieces else text


# An international prefix as a value under a secret's key starts it (``code: +683 1234``, ``00``, ``%2B``).
_INTL_PREFIX = re.compile(r"(?:[+\uff0b]|%2[bB]|00)(?=\d)")


def intl_number_end(text: str, pos: int) -> int:
    """Where a number written from ``pos`` with an international prefix ends, any number of its country
    (a landline or a short one, ``+683 1234``, not only a mobile), its digit groups parted by separators:
    the longest run of them as many digits long as that country's numbers; ``pos`` when none is there."""
    found = _INTL_PREFIX.match(text, pos)
    cuts = _intl_cuts(text, found.end()) if found is not None else []
    return cuts[0] if cuts else pos

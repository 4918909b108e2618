"""The invisible marks copied text carries, in one set: what an employee number drops as noise, and what
a name or customer reference of nothing else is blank by (``kit.ids.blank``). Customer references are
trimmed of a fixed, shorter list before they are hashed (``kit.ids``), so stored hashes keep matching.

Every format character (Unicode category Cf) that shows nothing where it stands: the byte-order mark a
spreadsheet left, zero-width spaces and joiners, direction marks, embeddings and isolates a copy from a
chat carried, the word joiner and the invisible operators, the soft hyphen (shown only where a line
breaks), the Mongolian vowel separator, the Arabic letter mark, interlinear annotation marks and the
like. Not the prepended concatenation marks (Arabic number sign and its kin, U+0600–U+0605, U+06DD,
U+070F, U+0890–U+0891, U+08E2, U+110BD, U+110CD), which show as a sign spanning the digits after them,
nor the tag characters (U+E0001, U+E0020–U+E007F), which tell one emoji flag from another and are part
of what they follow. Read from the interpreter's Unicode data once, at import (planes 0 and 1 hold
every other format character). Pure: no I/O.
"""

from __future__ import annotations

import unicodedata

_SHOWN = frozenset(
    chr(c) for c in (*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD)
)

INVISIBLE: frozenset[str] = frozenset(
    c for c in map(chr, range(0x20000)) if unicodedata.category(c) == "Cf" and c not in _SHOWN
)
"""Every invisible format character (see above)."""

DROP_INVISIBLE: dict[int, None] = dict.fromkeys(map(ord, INVISIBLE))
"""A ``str.translate`` table that drops them wherever they stand."""

IGNORABLE: frozenset[str] = INVISIBLE | frozenset(
    chr(c)
    for c in (
        0x034F,  # combining grapheme joiner
        0x115F,
        0x1160,
        0x3164,
        0xFFA0,  # Hangul fillers
        0x17B4,
        0x17B5,  # Khmer inherent vowels
        *range(0x180B, 0x180E),
        0x180F,  # Mongolian free variation selectors
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),  # variation selectors
    )
)
"""``INVISIBLE`` and the other marks Unicode says show nothing of their own (default ignorable) that are
not format characters: variation selectors (``❤`` and ``❤️`` look alike), the combining grapheme joiner,
the Hangul fillers. What a customer reference may not hold (``kit.refs``); employee numbers and blank
names keep ``INVISIBLE``."""

BLANK_GLYPHS: frozenset[str] = frozenset({"\u2800"})
"""Characters that are neither white space nor default ignorable yet draw nothing: the blank Braille
pattern, which "blank" chat names are written with. A name of them and ``IGNORABLE`` alone is blank
(``kit.ids.blank``); they are no hidden mark in a reference (``has_invisible``)."""

HASHED_EDGES: frozenset[str] = frozenset(
    "\ufeff"
    + "".join(chr(c) for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x206A)))
)
"""The invisible marks a customer reference is trimmed of at either end before it is hashed
(``kit.ids.canonical``): a byte-order mark, zero-width spaces and joiners, direction marks, embeddings and
isolates, the word joiner. A fixed list, not ``INVISIBLE``: customer references are stored only as their
hash, so a mark added here would make every stored reference that carries it at an edge a different
customer (its opt-out, limits and history lost), with no way to re-hash them."""


def edge(c: str) -> bool:
    """White space or an invisible mark of ``HASHED_EDGES``: noise around an identifier, never part of it."""
    return c.isspace() or c in HASHED_EDGES


def trim_edges(text: str) -> str:
    """``text`` without white space and the marks of ``HASHED_EDGES`` at either end, in any mix."""
    if text.isascii():
        return text.strip()  # ASCII holds no invisible mark: ``str.strip`` drops exactly ``isspace``
    start, end = 0, len(text)
    while start < end and edge(text[start]):
        start += 1
    while end > start and edge(text[end - 1]):
        end -= 1
    return text[start:end]

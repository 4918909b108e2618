"""Hypothesis strategies for a mainland mobile as a person might type it (``tests/kit/test_phones.py``,
``tests/kit/test_phone_cells.py``)."""

from __future__ import annotations

from hypothesis import strategies as st

# Zeros of decimal digit runs: ASCII, full-width, Arabic-Indic, Devanagari, Bengali, Thai, math bold.
ZEROS = ["0", "\uff10", "\u0660", "\u0966", "\u09e6", "\u0e50", "\U0001d7ce"]
SEPARATORS = ["", " ", "-", "\u3000", "\u2011", "\u2014", "\uff0d", ".", "\u00a0", "\u200b"]
# Marks Unicode does not file as dashes that people paste between groups: a minus sign (and the superscript
# one), middle dots (Latin, Greek, katakana full and half-width, the word separator), the hyphenation point,
# bullets and the dot operator, full stops (full-width, ideographic full and half-width).
DOTS = ["\u2212", "\u207b", "\u00b7", "\u0387", "\u30fb", "\uff65", "\u2e31", "\u2027", "\u2022", "\u2219"]
DOTS += ["\u22c5", "\uff0e", "\u3002", "\uff61"]
PREFIXES = ["", "+86", "+86 ", "＋86-", "0086", "0086 ", "86", "(+86)"]
# Mainland mobile prefixes libphonenumber knows as allocated.
MOBILE_PREFIXES = [
    "130",
    "133",
    "135",
    "138",
    "139",
    "150",
    "152",
    "157",
    "166",
    "170",
    "178",
    "182",
    "188",
    "199",
]

mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@st.composite
def written(draw: st.DrawFn, number: str) -> str:
    """``number`` as a person might type it: any digit script, separators anywhere, a country prefix."""
    zero = draw(st.sampled_from(ZEROS))
    out = draw(st.sampled_from(PREFIXES))
    apart = st.lists(st.sampled_from(SEPARATORS + DOTS), max_size=3).map("".join)
    for digit in number:
        out += chr(ord(zero) + int(digit)) + draw(apart)
    return draw(st.sampled_from(["", " ", "\t"])) + out + draw(st.sampled_from(["", " "]))

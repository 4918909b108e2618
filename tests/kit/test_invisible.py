"""One set of invisible marks (``kit.invisible``): employee numbers (``kit.employee_numbers``) drop them,
the soft hyphen and the other marks that show nothing included, and a name or customer reference of
only them is blank (``kit.ids.blank``). A customer reference is still trimmed of the first list only
before it is hashed (``kit.ids.canonical``): stored hashes must keep matching."""

from __future__ import annotations

import unicodedata

import pytest

from neigou.kit.employee_numbers import employee_no
from neigou.kit.ids import _HASHED_EDGES, blank, canonical, has_invisible
from neigou.kit.invisible import INVISIBLE

pytestmark = pytest.mark.no_database

# Format characters that show nothing and that the first list (byte-order mark, zero-width spaces and
# joiners, direction marks, the word joiner) missed.
MISSED = ("\u00ad", "\u061c", "\u180e", "\u2064", "\u206a", "\ufff9", "\ufffb", "\U0001bca0", "\U0001d173")


@pytest.mark.parametrize("mark", MISSED)
def test_every_mark_that_shows_nothing_is_invisible(mark: str) -> None:
    assert unicodedata.category(mark) == "Cf"
    assert mark in INVISIBLE
    hashed_as_before = "openid-1" if mark in _HASHED_EDGES else f"{mark}openid-1{mark}"
    assert canonical(f"{mark}openid-1{mark}") == hashed_as_before
    assert blank(f"{mark} {mark}")
    assert employee_no(f"{mark}E{mark}001{mark}") == "E001"


def test_a_blank_braille_pattern_draws_nothing_but_is_no_hidden_mark() -> None:
    assert blank("\u2800 \u2800")
    assert blank("\u2800\u3164")
    assert not blank("\u2801")
    assert not blank("\u2800王")
    assert "\u2800" not in INVISIBLE
    assert not has_invisible("\u2800")


@pytest.mark.parametrize("shown", ["\u0600", "\u06dd", "\U000110bd", "\U000e0067", "\U000e007f"])
def test_signs_that_show_and_emoji_tags_are_not(shown: str) -> None:
    assert unicodedata.category(shown) == "Cf"
    assert shown not in INVISIBLE


def test_the_set_holds_only_format_characters() -> None:
    assert {unicodedata.category(c) for c in INVISIBLE} == {"Cf"}
    assert {"\ufeff", "\u200b", "\u200d", "\u200e", "\u202a", "\u2060", "\u2066"} <= INVISIBLE

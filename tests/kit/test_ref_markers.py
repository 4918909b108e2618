"""Excel's text markers round a customer reference (``="13812345678"``, ``'13812345678``) are no part of
it: every path hashes and masks through ``kit.phones.customer_ref``, which drops them first. So are their
full-width forms (``＝＂13812345678＂``, ``＇13812345678``), which the hash's NFKC folds into them."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit import phones
from neigou.kit.ids import (
    customer_ref_forms,
    customer_ref_hash,
    customer_ref_mask,
    empty_once_hashed,
    names_nobody,
)
from neigou.kit.phones import customer_ref
from neigou.kit.text_markers import APOSTROPHES, EQUALS_SIGNS, QUOTES

pytestmark = pytest.mark.no_database

PLAIN = "13812345678"


@pytest.mark.parametrize(
    "ref",
    [
        '="13812345678"',  # the text formula a POS or ERP export writes
        "'13812345678",  # the apostrophe typed before a number kept as text
        ' ="13812345678" ',
        '= "13812345678"',
        "' 13812345678",
        '="+86 138 1234 5678"',  # the rest is read as before: the mobile's key
        '="138-1234-5678"',
        "'+86 138 1234 5678",
        '="１３８１２３４５６７８"',
        # as a Chinese input method types them in full-width mode
        '＝"13812345678"',
        "＝＂13812345678＂",
        "＇13812345678",
        "＇１３８１２３４５６７８",
        " ＝　＂138 1234 5678＂　",  # the ideographic space its space bar types
        '＝＂+86 138 1234 5678"',  # the quotes of either width
        "﹦＂13812345678＂",  # the small equals sign, which NFKC folds into ``=`` too
    ],
)
def test_a_marked_mobile_is_the_plain_mobile(ref: str) -> None:
    assert customer_ref(ref) == phones.parsed_ref(ref) == PLAIN
    assert customer_ref_hash("k", ref) == customer_ref_hash("k", PLAIN)
    assert customer_ref_mask(ref) == customer_ref_mask(PLAIN) == "138****5678"
    assert customer_ref_forms("k", ref) == (customer_ref_hash("k", PLAIN), "138****5678")


@pytest.mark.parametrize(
    ("ref", "key"),
    [
        ("'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),  # a marked openid loses it too
        ('="SHOP-0042"', "SHOP-0042"),
        ('="000123"', "000123"),  # a shop's code with its leading zeros kept
        ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),  # no marker: as given
        ("O'Brien", "O'Brien"),  # an apostrophe inside is no marker
        ('="138"&"5678"', '="138"&"5678"'),  # a formula that is not one quoted text is kept whole
        ('="13812345678', '="13812345678'),  # no closing quote
        ("=A1", "=A1"),
        ("''13812345678", "'13812345678"),  # one marker is dropped, not every apostrophe
        ("＇＇13812345678", "＇13812345678"),
        ("'＇13812345678", "＇13812345678"),
        ("＇oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("O＇Brien", "O＇Brien"),
        ("＝＂138＂&＂5678＂", "＝＂138＂&＂5678＂"),
        ("＝＂13812345678", "＝＂13812345678"),
        ("＝A1", "＝A1"),
        ("＂13812345678＂", "＂13812345678＂"),  # quotes without the formula's sign are no marker
        ("‘13812345678", "‘13812345678"),  # a curly quote is another character, NFKC or not
    ],
)
def test_only_a_marker_wrapping_the_whole_value_is_dropped(ref: str, key: str) -> None:
    assert customer_ref(ref) == phones.parsed_ref(ref) == key


@pytest.mark.parametrize("ref", ['=""', "'", "' ", '= " "', "＝＂＂", '＝""', "＇", "　＇　", "＝　＂　＂"])
def test_a_marker_round_nothing_names_nobody(ref: str) -> None:
    assert names_nobody(ref)
    assert empty_once_hashed(ref)


def test_a_reference_with_something_in_its_marker_names_someone() -> None:
    assert not names_nobody('="1"')
    assert not names_nobody("'x")
    assert not names_nobody(PLAIN)


@given(
    st.text(alphabet="0123456789", min_size=10, max_size=10),
    st.sampled_from(['="{}"', "'{}", ' = "{}" ', "＝＂{}＂", '＝"{}"', "＇{}", "　＇{}　"]),
)
def test_a_marked_plain_number_is_the_plain_numbers_key(rest: str, form: str) -> None:
    """Eleven plain digits from a 1 take the shortcut; the same digits in a marker are parsed, and the
    two agree, mobile or not."""
    number = "1" + rest
    marked = form.format(number)
    assert customer_ref(number) == phones.parsed_ref(number) == number
    assert customer_ref(marked) == phones.parsed_ref(marked) == number


def test_every_form_nfkc_folds_into_a_marker_character_is_one() -> None:
    """A reference is hashed in its NFKC form: a marker character in a form that folds into it and is not
    dropped would leave a marked text hashed, a customer apart from the plain number."""
    for marker, forms in (("'", APOSTROPHES), ("=", EQUALS_SIGNS), ('"', QUOTES)):
        folding = {
            chr(c) for c in range(sys.maxunicode + 1) if unicodedata.normalize("NFKC", chr(c)) == marker
        }
        assert set(forms) == folding, marker

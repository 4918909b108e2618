"""A customer reference whose hashed form still holds an invisible mark is refused (``kit.hidden_marks``):
``canonical`` trims a fixed list at the edges only, so the mark would make it another customer. Every
reference accepted before and still accepted hashes exactly as it did (the hashes below are the stored
ones: none may change, there is no way to re-hash a stored reference)."""

from __future__ import annotations

import pytest

from neigou.kit.columns import invalid_fields
from neigou.kit.hidden_marks import HIDDEN_MARK_MESSAGE, INVALID_CUSTOMER_REF, hidden_mark_in, hides_a_mark
from neigou.kit.i18n import translate
from neigou.kit.ids import customer_ref_hash
from neigou.kit.invisible import IGNORABLE, INVISIBLE

pytestmark = pytest.mark.no_database

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.mark.parametrize(
    "written",
    [
        "oUpF8uMuAJO\u200b_M2pxb1Q9zNjWeS6o",  # a zero-width space inside: canonical keeps it
        f"{OPENID}\u00ad",  # a soft hyphen at the end: not one of the marks always trimmed
        f"{OPENID}\u180e",  # the Mongolian vowel separator
        f"{OPENID}\ufe0f",  # a variation selector (not a format character)
        f"\u2066{OPENID}\u034f",  # the combining grapheme joiner
        "店铺\u2060会员-42",  # a word joiner between the words
        "138\ufe0f1234 5678",  # no phone number with it, kept as given
    ],
)
def test_a_reference_hiding_a_mark_in_its_hashed_form_is_refused(written: str) -> None:
    assert hides_a_mark(written)


# Accepted before and still, with the hash each was stored under (key "k"): the marks ``canonical``
# always trimmed at the edges, full-width digits, a mobile number with marks between its digits.
STORED = {
    OPENID: "7a90ebbd386a224e637cd3a990e90368d42e78904dcccdc2e32e52d22d4a41a5",
    f"\ufeff{OPENID}\u200b": "7a90ebbd386a224e637cd3a990e90368d42e78904dcccdc2e32e52d22d4a41a5",
    "\u202a138 1234 5678\u202c": "c365caf352e309a6776df9ae371e47d9b2226e2d56f2bd0bf29ce41842956d03",
    "138\u00ad1234\u200b5678": "c365caf352e309a6776df9ae371e47d9b2226e2d56f2bd0bf29ce41842956d03",
    "１３８１２３４５６７８": "c365caf352e309a6776df9ae371e47d9b2226e2d56f2bd0bf29ce41842956d03",
    "\u200e店铺会员-42\u2060": "ae19a13cd1156d653fae1d8b5ad74cd3169a6b3c575e7b868e15121665f4a77b",
    "+44 7911 123456": "b759a141c2f43607b017f4946190ccb33f40d02239f5d15dca6c72fbf49990a4",
    "❤": "0ea474a3346ad902381abad1d6e2866c157bc16ba395bf323ee35a324eaa8c3c",
}


@pytest.mark.parametrize("ref", list(STORED))
def test_a_reference_accepted_before_is_accepted_and_hashes_as_before(ref: str) -> None:
    assert not hides_a_mark(ref)
    assert customer_ref_hash("k", ref) == STORED[ref]


def test_the_refused_set_is_every_invisible_mark_and_the_variation_selectors() -> None:
    assert INVISIBLE < IGNORABLE
    assert {"\ufe00", "\ufe0f", "\U000e0100", "\u180b", "\u034f", "\u3164"} <= IGNORABLE
    assert all(hides_a_mark(f"a{mark}b") for mark in sorted(IGNORABLE))


def test_a_files_row_names_the_refusal_by_its_code() -> None:
    errors = [
        {"type": INVALID_CUSTOMER_REF, "loc": ("customer_ref",), "msg": "a customer reference holding…"}
    ]
    (error,) = invalid_fields(7, None, errors)
    assert (error.row, error.code, error.column, error.message) == (
        7,
        INVALID_CUSTOMER_REF,
        "customer_ref",
        HIDDEN_MARK_MESSAGE,
    )


@pytest.mark.parametrize(
    ("locale", "detail"),
    [
        ("en", "Invalid fields: customer_ref, items.0.ref. " + str(HIDDEN_MARK_MESSAGE)),
        ("zh-CN", "字段无效：customer_ref, items.0.ref。 " + translate(HIDDEN_MARK_MESSAGE, "zh-CN")),
    ],
)
def test_a_refusal_naming_its_fields_says_the_rule_in_its_one_message(locale: str, detail: str) -> None:
    """The API's refusal names the fields, then says the rule in the words a file's row error uses: one
    message to translate, not a second copy of it with the fields before it."""
    assert translate(hidden_mark_in("customer_ref, items.0.ref"), locale) == detail

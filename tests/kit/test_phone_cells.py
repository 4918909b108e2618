"""A column of phone numbers (a customer book's ``手机号``): each cell is read as a phone number
(``kit.phones.phone_cell``), a mobile of another country written without ``+`` read with its country
code only when nothing else can be meant (``unprefixed_mobile``), and a cell holding a mobile beside
other text (``holds_a_mobile``) refused. How a number is read anywhere else is ``tests/kit/test_phones.py``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit.phones import customer_ref, holds_a_mobile, phone_cell, unprefixed_mobile
from tests.kit.typed_mobiles import mobiles, written

pytestmark = pytest.mark.no_database


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("852 6123 4567", "+85261234567"),
        ("(852) 6123 4567", "+85261234567"),
        ("852-9123-4567", "+85291234567"),
        ("853 6612 3456", "+85366123456"),
        ("44 7911 123456", "+447911123456"),
    ],
)
def test_a_mobile_of_another_country_written_without_a_plus_is_read_in_a_phone_column(
    text: str, e164: str
) -> None:
    """In a column of phone numbers a country code without ``+`` is read as ``86`` is: the key is what
    ``customer_ref`` makes of the same number behind ``+``, so an opt-out sent either way holds."""
    phone = unprefixed_mobile(text)
    assert phone is not None
    assert (phone.e164, phone.mobile) == (e164, True)
    assert phone_cell(text) == e164
    assert customer_ref(e164) == customer_ref("+" + text.replace("(", "").replace(")", ""))
    assert customer_ref(text) == text  # elsewhere (a code column, an order) it stays as given


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",  # a mainland mobile
        "14012345678",  # eleven digits from a 1 in a range not allocated (yet): never another country's
        "12025550123",  # a North American number without its + looks like a mainland mobile
        "2112345678",  # read in China as a landline without its trunk 0 (a shop's numeric id)
        "8613812345678",  # mainland: read by parse_phone as it is
        "86 138 1234 5678",
        "+852 6123 4567",  # with its + or 00: read by parse_phone as it is
        "0085261234567",
        "085261234567",
        "61234567",  # a Hong Kong mobile without its country code: 61 is Australia's, no mobile there
        "85212345678",  # no Hong Kong number
        "85221234567",  # a Hong Kong landline
        "VIP001",
        "12345",
        "852 6123 4567 (HK)",
    ],
)
def test_only_an_unambiguous_mobile_of_another_country_is_read_without_a_plus(text: str) -> None:
    assert unprefixed_mobile(text) is None


@given(st.data(), mobiles)
def test_a_phone_cell_holding_a_mainland_mobile_however_written_is_kept_for_customer_ref(
    data: st.DataObject, number: str
) -> None:
    text = data.draw(written(number))
    assert phone_cell(text) == text
    assert customer_ref(text) == number


@pytest.mark.parametrize("text", ["85261234567", "60123456789", "6591234567"])
def test_digits_alone_are_never_read_as_a_mobile_abroad_in_a_phone_column(text: str) -> None:
    """Ungrouped digits that a country code in front would make a mobile are as often a member's code:
    kept as given, never a foreign number's key (two people would share it) nor refused."""
    assert unprefixed_mobile(text) is not None
    assert phone_cell(text) == text


@pytest.mark.parametrize(
    "text",
    ["VIP001", "A1234", "王女士", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "2112345678", "A2112345678", "14012345678"],
)
def test_a_phone_cell_without_a_mobile_in_it_is_kept_as_given(text: str) -> None:
    """A member code in the wrong column, a landline-like id: no mobile stands in it, it stays as given."""
    assert not holds_a_mobile(text)
    assert phone_cell(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "13812345678(工作)",
        "13812345678（工作）",
        "13812345678 王女士",
        "王女士 138-1234-5678",
        "王女士13812345678",
        "+86 138 1234 5678 手机",
        "VIP13812345678",
        "m_13812345678",
        "13812345678@qq.com",
        "13812345678/13987654321",
        "138 1234 5678 / 139 8765 4321",
        "852 6123 4567 (HK)",
        "tel 13812345678",
    ],
)
def test_a_phone_cell_holding_a_mobile_beside_other_text_is_refused(text: str) -> None:
    """It would hash as an opaque reference, another customer than the number, past its opt-out."""
    assert holds_a_mobile(text)
    assert phone_cell(text) is None


@given(
    mobiles,
    st.sampled_from(["(工作)", "王女士", "（家）", "备注", "#A", "微信同号"]),
    st.sampled_from(["", " "]),
)
def test_every_mobile_with_a_note_is_refused(number: str, note: str, space: str) -> None:
    assert phone_cell(number + space + note) is None
    assert phone_cell(note + space + number) is None
    assert phone_cell(number + "(" + number + ")") is None

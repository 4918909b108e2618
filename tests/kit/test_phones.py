"""The one phone-number rule: any way of writing a number gives one E.164 form and one hashed key.
A column of phone numbers, which reads a little more (``phone_cell``), is ``tests/kit/test_phone_cells.py``."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata

from neigou.kit import phones
from neigou.kit.ids import customer_ref_hash, customer_ref_mask, keyed_hash
from neigou.kit.phones import ascii_digits, customer_ref, mainland_mobile, parse_phone
from neigou.kit.text_markers import spreadsheet_text
from tests.kit.typed_mobiles import DOTS, mobiles, written
from tests.phone_forms import grouped_forms, prefixed_forms, spread_forms

pytestmark = pytest.mark.no_database


@given(st.data(), mobiles)
def test_every_way_of_writing_a_mobile_gives_one_number(data: st.DataObject, number: str) -> None:
    text = data.draw(written(number))
    phone = parse_phone(text)
    assert phone is not None, text
    assert (phone.e164, phone.domestic, phone.mobile) == (f"+86{number}", number, True)
    assert phone.key == number  # what was hashed before the rule: stored hashes still match
    assert mainland_mobile(text) == phone
    assert customer_ref(text) == number
    assert customer_ref_hash("k", text) == keyed_hash("k", number)
    assert customer_ref_mask(text) == f"{number[:3]}****{number[-4:]}"


@given(mobiles)
def test_the_canonical_form_is_a_fixed_point(number: str) -> None:
    assert customer_ref(customer_ref(number)) == customer_ref(number) == number


@given(st.text(max_size=40))
def test_anything_else_is_kept_as_given(text: str) -> None:
    unmarked = spreadsheet_text(text)  # an Excel text marker around it is dropped first
    phone = parse_phone(unmarked)
    if phone is None or not phone.mobile:
        assert customer_ref(text) == unmarked.strip()
    else:
        assert customer_ref(text) == phone.key
        assert parse_phone(phone.e164) == phone


@given(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=12), mobiles)
def test_letters_are_never_read_as_digits(letters: str, number: str) -> None:
    assert parse_phone(letters + number) is None
    assert customer_ref("o" + number) == "o" + number  # an openid stays an openid


@pytest.mark.parametrize("text", spread_forms("13812345678"))
def test_a_number_spread_out_or_dotted_is_one_customer(text: str) -> None:
    assert customer_ref(text) == "13812345678"
    assert customer_ref_hash("k", text) == customer_ref_hash("k", "13812345678")
    assert mainland_mobile(text) is not None


@pytest.mark.parametrize("text", prefixed_forms("13812345678"))
def test_a_number_behind_a_tel_scheme_or_another_way_of_writing_the_prefix_is_one_customer(text: str) -> None:
    assert customer_ref(text) == "13812345678"
    assert customer_ref_hash("k", text) == customer_ref_hash("k", "13812345678")
    assert mainland_mobile(text) is not None


@given(mobiles)
def test_prefixed_forms_of_every_mobile_are_its_key(number: str) -> None:
    assert [customer_ref(text) for text in prefixed_forms(number)] == [number] * len(prefixed_forms(number))


@pytest.mark.parametrize(
    "text",
    [
        *grouped_forms("13812345678"),
        "1381 2345 678",
        "1381-2345-678",
        "sip:+8613812345678",
        "sips:+86 1381 2345 678",
        "Sip:+86_13812345678",
        "+086 13812345678",
        "+08613812345678",
        "+086 1381-2345-678",
        "+086_13812345678",
        "tel:+086 138 1234 5678",
    ],
)
def test_four_four_three_groups_a_sip_scheme_and_a_plus_before_086_are_one_customer(text: str) -> None:
    assert customer_ref(text) == "13812345678"
    assert customer_ref_hash("k", text) == customer_ref_hash("k", "13812345678")
    assert mainland_mobile(text) is not None


@given(mobiles)
def test_grouped_forms_of_every_mobile_are_its_key(number: str) -> None:
    assert [customer_ref(text) for text in grouped_forms(number)] == [number] * len(grouped_forms(number))


@pytest.mark.parametrize(
    "text",
    [
        "138_1234_5678",  # an underscore only joins a country code to the number
        "_13812345678",
        "m_13812345678",  # member codes, openids and emails that hold a number
        "o13812345678_",
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "13812345678@qq.com",
        "tel:13812345678@qq.com",
        "sip:13812345678@qq.com",  # a SIP address at a host, or with parameters, is no bare number
        "sip:+8613812345678;user=phone",
        "sip:sip:13812345678",
        "gossip:13812345678",
        "tel:tel:13812345678",
        "hotel:13812345678",
        "086 02112345678",  # ``086`` is read as ``0086`` only before a mobile
        "+086 02112345678",
        "0861234567",
        "+0861234567",
        "86_138_1234_5678",
    ],
)
def test_texts_that_hold_a_number_but_are_no_way_of_writing_it_are_kept(text: str) -> None:
    assert customer_ref(text) == text
    assert mainland_mobile(text) is None


@given(st.characters(categories=["Pd"]), mobiles)
def test_every_dash_parts_groups(dash: str, number: str) -> None:
    assert customer_ref(dash.join((number[:3], number[3:7], number[7:]))) == number


@pytest.mark.parametrize("mark", DOTS)
def test_every_listed_dot_parts_groups(mark: str) -> None:
    assert customer_ref(f"{mark}138{mark}1234{mark}5678{mark}") == "13812345678"


@pytest.mark.parametrize("text", ["138_1234_5678", "138,1234,5678", "138*1234*5678", "138a1234b5678"])
def test_other_marks_and_letters_are_no_separators(text: str) -> None:
    assert customer_ref(text) == text
    assert mainland_mobile(text) is None


def test_the_length_is_bounded_on_the_digits_that_remain() -> None:
    """Spacing does not count: any text up to ``MAX_INPUT`` (the longest reference an input takes) is read
    whole; past it, nothing is read; and what is left after the separators is at most 20 digits."""
    padded = "\u200b " + "1 3 8 1 2 3 4 5 6 7 8".center(phones.MAX_INPUT - 3) + "\u200b"
    assert len(padded) == phones.MAX_INPUT
    assert customer_ref(padded) == "13812345678"
    assert parse_phone(padded + " ") is None
    assert phones._compact("1" * 21) is None
    assert phones._compact(" ".join("1" * 20)) == "1" * 20


@pytest.mark.parametrize(
    ("text", "e164", "key", "mobile"),
    [
        ("+852 9123 4567", "+85291234567", "+85291234567", True),
        ("021-1234-5678", "+862112345678", "02112345678", False),
        ("(010) 8765 4321", "+861087654321", "01087654321", False),
    ],
)
def test_other_countries_and_landlines(text: str, e164: str, key: str, mobile: bool) -> None:
    phone = parse_phone(text)
    assert phone is not None
    assert (phone.e164, phone.key, phone.mobile) == (e164, key, mobile)
    assert mainland_mobile(text) is None


@pytest.mark.parametrize(
    "ref",
    [
        "2112345678",  # a shop's numeric id that looks like a Shanghai landline stays as it is
        "12345",
        "14012345678",  # an unallocated range
        "c1",
        "oAbc1234xyz9",
        "+86 1381234567",  # one digit short
        "1" * 200,
    ],
)
def test_refs_that_are_not_mobiles_keep_their_hash(ref: str) -> None:
    assert customer_ref(ref) == ref
    assert customer_ref_hash("k", ref) == keyed_hash("k", ref)
    assert mainland_mobile(ref) is None


@pytest.mark.parametrize(
    "text",
    [
        "\u202a+86 139 1234 5678\u202c",  # copied from a phone's contacts: wrapped in direction marks
        "\u2066139 1234 5678\u2069",  # isolates, as some chat apps paste them
        "\u200e13912345678",  # a left-to-right mark
        "139\u200b1234\u200b5678",  # zero-width spaces in a long digit run
        "\ufeff13912345678",  # a byte-order mark left at a spreadsheet cell's start
    ],
)
def test_invisible_format_characters_do_not_make_another_customer(text: str) -> None:
    assert customer_ref(text) == "13912345678"
    assert customer_ref_hash("k", text) == customer_ref_hash("k", "13912345678")
    assert mainland_mobile(text) is not None


def test_unicode_digits_become_ascii() -> None:
    assert ascii_digits("１３８\u0661\u0662 x²") == "13812 x2"


@given(
    st.text(alphabet=st.characters(max_codepoint=127))
    | st.builds(
        "{}{}".format,
        st.sampled_from(["tel:", "sip:", "+86_", "sips:+", "0086 "]),
        st.text(alphabet="0123456789 -", max_size=16),
    )
)
def test_ascii_text_is_compacted_as_any_text(text: str) -> None:
    """The ASCII shortcut answers what the general path answers: the same text with a zero-width space,
    which the general path drops, takes it (schemes and a joined country code included)."""
    assert phones._dropped("\u200b")
    assert phones._compact(text) == phones._compact(text + "\u200b")


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_eleven_plain_digits_from_a_one_are_their_own_key(rest: str) -> None:
    """The shortcut for eleven plain digits gives what parsing gives, mobile or not."""
    number = "1" + rest
    assert customer_ref(number) == phones.parsed_ref(number) == number


@given(mobiles)
def test_the_shortcut_agrees_with_parsing_on_allocated_mobiles(number: str) -> None:
    assert parse_phone(number) is not None
    assert customer_ref(number) == phones.parsed_ref(number) == number


@given(st.data(), mobiles)
def test_written_forms_outside_the_shortcut_still_parse(data: st.DataObject, number: str) -> None:
    text = data.draw(written(number))
    assert customer_ref(text) == phones.parsed_ref(text)


@given(
    st.one_of(
        st.text(alphabet="0123456789+- ", max_size=14),
        st.text(max_size=14),
        st.text(alphabet="0123456789'=\" ", max_size=16),  # Excel's text markers round digits
        st.text(alphabet="0123456789＇＝＂　", max_size=16),  # and their full-width forms
    )
)
def test_the_shortcut_never_changes_an_answer(text: str) -> None:
    assert customer_ref(text) == phones.parsed_ref(text)


def _compact_by_reading(text: str) -> str | None:
    """``phones._compact`` of ASCII text without its early refusal: every way of writing is read."""
    kept = text.translate(phones._DROPPED_ASCII)
    if phones._SHAPE.fullmatch(kept) is None:
        if (scheme := phones._TEL_SCHEME.match(kept)) is not None:
            kept = kept[scheme.end() :]
        if (joined := phones._JOINED_COUNTRY_CODE.match(kept)) is not None:
            kept = joined.group(1) + kept[joined.end() :]
    return phones._ONE_ZERO_PREFIX.sub("0086", kept, count=1) if phones._SHAPE.fullmatch(kept) else None


ascii_refs = st.one_of(
    st.text(alphabet=st.characters(max_codepoint=127), max_size=24),
    st.builds(
        "".join,
        st.lists(
            st.sampled_from(
                ["tel:", "TEL:", "sip:", "Sips:", "+86_", "086", "+", "_", ":", "-", " ", "x", "a"]
            )
            | st.text(alphabet="0123456789", min_size=1, max_size=11),
            max_size=5,
        ),
    ),
)


@given(ascii_refs)
def test_ascii_text_outside_a_numbers_characters_is_refused_as_reading_it_would(text: str) -> None:
    assert phones._compact(text) == _compact_by_reading(text)


def test_no_countrys_mobile_is_shorter_than_the_shortest_kept() -> None:
    """``SHORTEST_MOBILE_DIGITS`` is the fewest digits of a mobile number with its country code, as
    libphonenumber's metadata has them (log redaction keeps a shorter number under a code's name)."""
    shortest = []
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            if region == "001":
                metadata = PhoneMetadata.metadata_for_nongeo_region(code)
            else:
                metadata = PhoneMetadata.metadata_for_region(region)
            if metadata is None or metadata.mobile is None:
                continue
            general = metadata.general_desc.possible_length if metadata.general_desc is not None else ()
            lengths = [n for n in metadata.mobile.possible_length or general if n > 0]
            shortest += [min(lengths) + len(str(code))] if lengths else []
    assert min(shortest) == phones.SHORTEST_MOBILE_DIGITS

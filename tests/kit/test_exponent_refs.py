"""A reference in exponent form is found as the hash reads it (``kit.text_markers.exponent_id``): white
space and the invisible marks hashing trims dropped at either end, then an Excel text marker, then the
NFKC form. And hashing trims those marks before it drops the marker: ``\\ufeff'13812345678`` (a CSV's
byte-order mark, a zero-width space from a chat) is the customer ``13812345678``, not ``'13812345678``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit import phones
from neigou.kit.ids import _HASHED_EDGES, canonical, customer_ref_hash, customer_ref_mask
from neigou.kit.phones import customer_ref
from neigou.kit.text_markers import EXPONENT_NUMBER, exponent_id, exponent_number, spreadsheet_text

pytestmark = pytest.mark.no_database

PLAIN = "13812345678"


@pytest.mark.parametrize(
    "ref",
    [
        "2.34568E+18",  # Excel's CSV of a 19-digit number
        "2.3456789012345677e+18",  # a workbook's cell read past 2⁵³
        "'2.34568E+18",
        '="2.34568E+18"',
        "＝＂2.34568E+18＂",
        "＇2.34568E+18",
        ' = "2.34568E+18" ',
        "\ufeff'2.34568E+18",  # a byte-order mark before the marker
        "\u200b＇2.34568E+18",
        "2.34568E18",  # no sign, a lowercase e, no point: the forms a JSON float or a person writes
        "1.3812345678e10",
        "1E10",
        "'\ufeff2.34568E+18",  # or after it
        '\u2060="2.34568E+18"\u200b',
        "２.３４５６８Ｅ＋１８",  # full-width, which NFKC folds into the ASCII form
        "＇２.３４５６８ｅ＋１８",
    ],
)
def test_a_number_in_exponent_form_is_found_however_it_is_wrapped(ref: str) -> None:
    assert exponent_id(ref)
    # what it is refused for: it would be hashed as the bare form
    assert exponent_number(canonical(customer_ref(ref)))


@pytest.mark.parametrize(
    "ref",
    [
        PLAIN,
        "'13812345678",
        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
        "''2.34568E+18",
        "2.34568E",
        "E+18",
        "e+18",
        "",
    ],
)
def test_anything_else_is_not(ref: str) -> None:
    assert not exponent_id(ref)


@pytest.mark.parametrize("mark", sorted(_HASHED_EDGES))
@pytest.mark.parametrize(
    "form", ["{m}'{n}", '{m}="{n}"', "{m}＇{n}", "{m} ＝＂{n}＂{m}", "'{m}{n}", "{m}{m} '{n}"]
)
def test_a_mark_hashing_trims_before_the_marker_is_trimmed_first(mark: str, form: str) -> None:
    ref = form.format(m=mark, n=PLAIN)
    assert spreadsheet_text(ref) == PLAIN
    assert customer_ref(ref) == phones.parsed_ref(ref) == PLAIN
    assert customer_ref_hash("k", ref) == customer_ref_hash("k", PLAIN)
    assert customer_ref_mask(ref) == "138****5678"


def test_a_mark_before_a_marked_openid_is_trimmed_too() -> None:
    assert canonical(customer_ref("\ufeff'oUpF8uMuAJO")) == "oUpF8uMuAJO"
    # a reference with no marker keeps its meaning: the mark is trimmed where it always was, in the hash
    assert customer_ref_hash("k", "\ufeffoUpF8uMuAJO") == customer_ref_hash("k", "oUpF8uMuAJO")


_PIECES = st.sampled_from(
    [
        " ",
        "\u3000",
        "\ufeff",
        "\u200b",
        "'",
        "＇",
        "=",
        "＝",
        '"',
        "＂",
        "2",
        "２",
        ".",
        "3",
        "4",
        "E",
        "e",
        "Ｅ",
        "+",
        "＋",
        "1",
        "8",
        "x",
    ]
)


@given(st.lists(_PIECES, max_size=16).map("".join))
def test_the_check_agrees_with_the_hashed_form(ref: str) -> None:
    """Whatever ``exponent_id`` says, the form the reference is hashed in says too."""
    assert exponent_id(ref) == (EXPONENT_NUMBER.fullmatch(canonical(customer_ref(ref))) is not None)

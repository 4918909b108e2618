"""A header row that does not match its import is refused by where its cells stand, never by their text."""

from __future__ import annotations

import pytest

from neigou.kit.columns import Column, FileRefused, Layout, column_letter
from neigou.kit.i18n import translate
from neigou.kit.tabular import read_table
from neigou.kit.text_markers import spreadsheet_text

pytestmark = pytest.mark.no_database

LAYOUT = Layout(Column("phone_hash"), Column("name", ("姓名",)), Column("note", required=False))
# A file that starts with its data: the first row, read as the header, is a customer's.
NO_HEADER = "13812345678,张伟,VIP\n13900001111,李娜,\n"


@pytest.mark.parametrize(
    ("position", "letter"), [(0, "A"), (2, "C"), (25, "Z"), (26, "AA"), (701, "ZZ"), (702, "AAA")]
)
def test_a_column_is_lettered_as_a_spreadsheet_shows_it(position: int, letter: str) -> None:
    assert column_letter(position) == letter


@pytest.mark.parametrize("locale", ["en", "zh-CN"])
def test_a_file_without_its_header_row_is_refused_without_repeating_a_cell(locale: str) -> None:
    with pytest.raises(FileRefused) as refused:
        read_table(NO_HEADER, LAYOUT)
    errors = refused.value.errors
    assert [(e.code, e.column) for e in errors] == [
        ("unknown_column", "A"),
        ("unknown_column", "B"),
        ("unknown_column", "C"),
        ("missing_column", "phone_hash"),
        ("missing_column", "name"),
    ]
    shown = [translate(e.message, locale) for e in errors] + [
        translate(refused.value.detail, locale),
        str(refused.value),
        repr(refused.value.extra),
    ]
    for text in shown:
        for cell in ("13812345678", "张伟", "VIP", "1234"):
            assert cell not in text
    expected = {
        "en": "Column 2 (B) of the header row is not a column of this import; its columns are phone_hash, name, note.",
        "zh-CN": "表头第 2 列（B 列）不是此导入的列；可用的列为：phone_hash, name, note。",
    }
    assert translate(errors[1].message, locale) == expected[locale]


def test_the_header_each_column_was_found_under_is_kept_as_written() -> None:
    table = read_table("Phone_Hash, 姓名 \n13812345678,张伟\n", LAYOUT)
    assert table.header.labels == {"phone_hash": "Phone_Hash", "name": "姓名"}


@pytest.mark.parametrize(
    ("cell", "value"),
    [
        ('="13812345678"', "13812345678"),  # Excel's text formula, as POS and ERP exports write it
        (' = "000123" ', "000123"),
        ("'13812345678", "13812345678"),  # the apostrophe typed before a number kept as text
        ("' 138 1234 5678", "138 1234 5678"),
        ('=""', ""),
        ("13812345678", "13812345678"),
        ("VIP-007", "VIP-007"),
        ('="13812345678', '="13812345678'),  # no closing quote: no text formula
        ('="138"&"5678"', '="138"&"5678"'),
        ("=A1", "=A1"),
        ("O'Brien", "O'Brien"),
        ("＝＂13812345678＂", "13812345678"),  # full-width, as an input method types them
        ('＝"000123"', "000123"),
        ("＇13812345678", "13812345678"),
        ("＝＂＂", ""),
        ("＝A1", "＝A1"),
        ("O＇Brien", "O＇Brien"),
        ("　", "　"),
    ],
)
def test_excel_text_markers_are_no_part_of_a_cells_value(cell: str, value: str) -> None:
    assert spreadsheet_text(cell) == value

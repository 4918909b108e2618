"""Exports neutralise formula-like text: CSV with an apostrophe, Excel as text cells."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from neigou.kit.exports import csv_bytes, looks_like_formula, xlsx_bytes

ATTACKS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","点我")',
    "+1+1",
    "-2+3",
    "@SUM(1)",
    "＝1+1",
    "\t=1",
]


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_like_text_is_recognised(text: str) -> None:
    assert looks_like_formula(text)


@pytest.mark.parametrize("text", ["张三", "w-1", "a=b", "100"])
def test_ordinary_text_is_not(text: str) -> None:
    assert not looks_like_formula(text)


def test_csv_cells_start_with_an_apostrophe_and_numbers_stay() -> None:
    data = csv_bytes(["name", "amount"], [[text, -5] for text in ATTACKS] + [["张三", 100]])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:-1]] == ["'" + t for t in ATTACKS]
    assert rows[1][1] == "-5"
    assert rows[-1] == ["张三", "100"]


def test_excel_cells_are_text_never_formulas() -> None:
    book = load_workbook(io.BytesIO(xlsx_bytes("payout-1", ["name", "amount"], [[t, 1] for t in ATTACKS])))
    sheet = book.worksheets[0]
    assert sheet.title == "payout-1"
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ATTACKS
    assert {c.data_type for c in cells} == {"s"}
    assert [row[1].value for row in sheet.iter_rows(min_row=2)] == [1] * len(ATTACKS)


def test_control_characters_excel_cannot_hold_are_dropped_not_a_500() -> None:
    """Schemathesis found it: a member name with a backspace made the payout workbook raise."""
    book = load_workbook(io.BytesIO(xlsx_bytes("t", ["name"], [["王\x08小美\x00"], ["=1+1\x1f"]])))
    sheet = book.worksheets[0]
    assert [sheet.cell(row=r, column=1).value for r in (2, 3)] == ["王小美", "=1+1"]
    assert sheet.cell(row=3, column=1).data_type == "s"

"""Spreadsheet exports (CSV, Excel) whose cells cannot be turned against the person who opens them.

A member chooses their own name and request id; written raw, ``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0``
would run as a formula in the finance team's spreadsheet. Text that starts like a formula is written as
text: in CSV with a leading apostrophe (what spreadsheets show as a text marker), in Excel as a string
cell (never a formula). Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Characters that make a spreadsheet read a cell as a formula or a command, ASCII and full width.
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would treat ``text`` as something to evaluate."""
    return text.startswith(_FORMULA_PREFIXES)


def csv_cell(value: object) -> object:
    """The value as a CSV cell: formula-like text gets a leading apostrophe."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def csv_bytes(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 CSV with a BOM (Excel then opens Chinese text intact), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([csv_cell(c) for c in columns])
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return ("\ufeff" + buffer.getvalue()).encode()


def xlsx_cell(value: object) -> object:
    """The value as an Excel cell: control characters the file format cannot hold are dropped
    (openpyxl refuses them, and a member's name may carry one)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def xlsx_bytes(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """An Excel workbook of one sheet; text is always stored as text, never as a formula."""
    book = Workbook(write_only=False)
    sheet = book.active
    assert sheet is not None  # a new workbook has its first sheet
    sheet.title = title[:31]  # Excel's limit on sheet names
    for row in [columns, *rows]:
        sheet.append([xlsx_cell(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

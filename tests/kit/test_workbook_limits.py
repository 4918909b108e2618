"""A workbook is a zip: a few KB may unpack to millions of real cells or one huge shared strings part.
The sizes its members declare are checked before anything is parsed (``file_too_large``), reading
never goes past a declared size, and a header cell past ``MAX_COLUMNS`` refuses the file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openpyxl
import pytest

from neigou.kit import workbook_rows
from neigou.kit.columns import Column, FileRefused, Layout
from neigou.kit.i18n import translate
from neigou.kit.tabular import read_table
from neigou.kit.workbook_rows import MAX_COLUMNS, UNZIPPED_FLOOR, unzipped_limit
from tests.workbooks import declaring, repeated_rows, widened, with_shared_strings, workbook

pytestmark = pytest.mark.no_database

LAYOUT = Layout(Column("sku"), Column("title"), unknown="ignore")
SMALL = workbook([["sku", "title"], ["A", "a"]])
SHEET = "xl/worksheets/sheet1.xml"


def _refused(content: bytes) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        list(read_table(content, LAYOUT))
    return refused.value


def test_a_small_workbook_unpacking_to_millions_of_cells_is_refused_before_parsing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = [0]
    real: Callable[..., Any] = openpyxl.load_workbook

    def counted(*args: Any, **kwargs: Any) -> Any:
        parsed[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(openpyxl, "load_workbook", counted)
    bomb = repeated_rows(SMALL, 300_000)  # 2.4 million real cells, 94 MB of XML
    assert len(bomb) < 500_000
    refused = _refused(bomb)
    assert refused.code == "file_too_large"
    assert [(e.row, e.code) for e in refused.errors] == [(0, "file_too_large")]
    assert translate(refused.errors[0].message, "zh-CN").startswith("该工作簿解压后")
    assert parsed[0] == 0
    # The same rows in a file of a size that holds them are read.
    assert unzipped_limit(len(bomb)) < 50 << 20
    assert unzipped_limit(1_000) == UNZIPPED_FLOOR
    fair = repeated_rows(SMALL, 1_000)
    assert len(list(read_table(fair, LAYOUT))) == 1_001


def test_a_huge_shared_strings_part_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook_rows, "MAX_SHARED_STRINGS", 1 << 20)
    assert _refused(with_shared_strings(SMALL, 2 << 20)).code == "file_too_large"
    assert len(list(read_table(with_shared_strings(SMALL, 1 << 19), LAYOUT))) == 1


def test_a_member_holding_more_than_it_declares_is_not_read_past_it() -> None:
    bomb = repeated_rows(SMALL, 300_000)
    lying = declaring(bomb, SHEET, 4_000)
    refused = _refused(lying)
    assert refused.code == "unreadable_file"


@pytest.mark.parametrize("column", ["AMK", "XFD"])  # AMK: column 1025, the first not looked in
def test_a_header_cell_past_the_columns_read_refuses_the_file(column: str) -> None:
    refused = _refused(widened(SMALL, 1, "note", column=column))
    assert refused.code == "header_too_wide"
    assert [(e.row, e.code) for e in refused.errors] == [(1, "header_too_wide")]
    assert str(refused.errors[0].message) == (
        f"The header (row 1) has a cell past column {MAX_COLUMNS}; only the first {MAX_COLUMNS} columns "
        "can be read."
    )
    # Column AMJ (1024) is read, and a data row's cell far right is not looked at.
    near = widened(widened(SMALL, 1, "note", column="AMJ"), 2, "far right")
    assert [(r.cells[:3], r.values) for r in read_table(near, LAYOUT)] == [
        (("A", "a", ""), {"sku": "A", "title": "a"})
    ]

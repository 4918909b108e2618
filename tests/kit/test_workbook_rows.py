"""A workbook costs the reader what it holds, not what its sheet claims: a few KB of .xlsx may declare
``A1:XFD1048576`` (16,384 columns by Excel's 1,048,576 rows) or jump to row 10^12."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from neigou.kit import workbook_rows
from neigou.kit.columns import Column, FileRefused, Layout
from neigou.kit.tabular import read_table
from tests.workbooks import claiming, moved, widened, workbook

pytestmark = pytest.mark.no_database

LAYOUT = Layout(Column("sku"), Column("title"))
SMALL = workbook([["sku", "title"], ["A", "a"]])
EVERY_CELL = "A1:XFD1048576"


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls = [0]
    real: Callable[..., object] = getattr(workbook_rows, name)

    def counted(*args: object) -> object:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(workbook_rows, name, counted)
    return calls


def test_a_sheet_claiming_every_cell_costs_only_the_cells_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _counting(monkeypatch, "cell_text")
    rows = _counting(monkeypatch, "_cells")
    content = moved(claiming(SMALL, EVERY_CELL), {2: 4000})
    assert len(content) < 10_000
    table = read_table(content, LAYOUT, max_rows=20_000)
    assert [(r.row, r.cells, r.values) for r in table] == [(4000, ("A", "a"), {"sku": "A", "title": "a"})]
    assert cells[0] == 4  # the header's two cells and the data row's, not 4000 x 16,384
    assert rows[0] == 4000


def test_a_sheet_claiming_less_than_it_holds_is_read_whole() -> None:
    content = claiming(workbook([["sku", "title"], ["A", "a"], ["B", "b"]]), "A1:A1")
    assert [(r.row, r.values) for r in read_table(content, LAYOUT)] == [
        (2, {"sku": "A", "title": "a"}),
        (3, {"sku": "B", "title": "b"}),
    ]


def test_rows_are_read_only_as_wide_as_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = _counting(monkeypatch, "cell_text")
    # (a header cell that far right refuses the file: tests/kit/test_workbook_limits.py)
    content = widened(claiming(SMALL, EVERY_CELL), 2, "far right")
    table = read_table(content, LAYOUT)
    assert table.header.width == 2
    assert [(r.row, r.cells) for r in table] == [(2, ("A", "a"))]
    assert cells[0] == 4
    # Within the first MAX_COLUMNS columns a data row keeps its extra cells, as a CSV row does.
    near = widened(SMALL, 1, "note", column="E")
    assert read_table(near, Layout(*LAYOUT.columns, unknown="ignore")).header.width == 5


def test_blank_rows_count_against_the_limit_and_refuse_the_file_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = _counting(monkeypatch, "_cells")
    content = moved(claiming(SMALL, EVERY_CELL), {2: 1_000_000})
    with pytest.raises(FileRefused) as refused:
        list(read_table(content, LAYOUT, max_rows=20_000))
    assert refused.value.code == "too_many_rows"
    assert [(e.row, e.code) for e in refused.value.errors] == [(20_002, "too_many_rows")]
    assert rows[0] == 20_002
    last = moved(claiming(SMALL, EVERY_CELL), {2: 20_001})
    assert [r.row for r in read_table(last, LAYOUT, max_rows=20_000)] == [20_001]


def test_blank_lines_of_a_csv_count_alike() -> None:
    text = "\nsku,title\n\n\nA,a\n"
    assert [r.row for r in read_table(text, LAYOUT, max_rows=3)] == [5]
    with pytest.raises(FileRefused) as refused:
        list(read_table(text, LAYOUT, max_rows=2))
    assert (refused.value.code, refused.value.errors[0].row) == ("too_many_rows", 5)


def test_no_row_past_excels_last_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workbook_rows, "MAX_SHEET_ROWS", 50)
    rows = _counting(monkeypatch, "_cells")
    content = moved(SMALL, {2: 10**12})
    with pytest.raises(FileRefused) as refused:
        list(read_table(content, LAYOUT))
    assert (refused.value.code, refused.value.errors[0].row) == ("too_many_rows", 51)
    assert rows[0] == 50
    assert [r.row for r in read_table(moved(SMALL, {2: 50}), LAYOUT)] == [50]

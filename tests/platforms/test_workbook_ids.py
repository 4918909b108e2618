"""Long numeric ids in an exported .xlsx: Excel holds a number cell as a float, which past 2⁵³ no longer
holds every whole number, so 2345678901234567891 and 2345678901234567800 were both read as
2345678901234567680 and two orders merged. Such a cell is refused, asking for ids written as text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from neigou.kit.i18n import translate
from neigou.kit.workbook_rows import EXACT_FLOAT_LIMIT, cell_text
from neigou.platforms.adapters import read_rows
from neigou.platforms.files import FileFetcher
from neigou.platforms.rows import Platform, PlatformLine, Skip
from tests.platforms.builders import jd_row
from tests.workbooks import workbook

pytestmark = pytest.mark.no_database

NOW = datetime(2026, 12, 4, tzinfo=UTC)
COLUMNS = ["orderId", "skuId", "skuNum", "estimateCosPrice", "estimateFee", "validCode", "orderTime"]


def test_a_number_cell_is_written_as_its_digits_only_while_a_float_holds_it_exactly() -> None:
    assert cell_text(float(EXACT_FLOAT_LIMIT - 1)) == "9007199254740991"
    assert cell_text(3.0) == "3"
    assert cell_text(float(EXACT_FLOAT_LIMIT)) == "9.0071992547409920e+15"
    assert float(2345678901234567891) == float(2345678901234567800)  # one float: two ids, one cell value
    assert cell_text(float(2345678901234567891)) == "2.3456789012345677e+18"
    assert cell_text(-float(EXACT_FLOAT_LIMIT)).endswith("e+15")


def test_long_numeric_ids_in_a_workbook_are_refused_not_merged(tmp_path: Path) -> None:
    rows: list[list[Any]] = [COLUMNS]
    for order_id in (float(2345678901234567891), float(2345678901234567800), 300001.0):
        row = jd_row(300001)
        rows.append([order_id, *(row[c] for c in COLUMNS[1:])])
    path = tmp_path / "jd.xlsx"
    path.write_bytes(workbook(rows))
    (batch,) = FileFetcher(Platform.JD_UNION, path).batches()
    out = read_rows(Platform.JD_UNION, batch.rows, NOW)
    skipped = [line for line in out if isinstance(line, Skip)]
    assert [(s.index, s.code) for s in skipped] == [(0, "invalid_field"), (1, "invalid_field")]
    told = [translate(s.message, "en") for s in skipped] + [translate(skipped[0].message, "zh-CN")]
    assert told == [
        "The field orderId is a number too long to be read exactly; write ids as text.",
        "The field orderId is a number too long to be read exactly; write ids as text.",
        "字段 orderId 是过长的数字，无法精确读取；请把编号写成文本。",
    ]
    (kept,) = [line for line in out if isinstance(line, PlatformLine)]
    assert kept.external_id == "300001"  # a number cell below 2⁵³ is read as before


def test_excel_exponent_text_in_a_csv_is_refused_alike() -> None:
    """Excel saves such a cell to CSV as ``2.34568E+18``: the same refusal, never an id of those digits."""
    (skip,) = read_rows(Platform.JD_UNION, [{**jd_row(), "orderId": "2.34568E+18"}], NOW)
    assert isinstance(skip, Skip)
    assert (skip.code, translate(skip.message, "en")) == (
        "invalid_field",
        "The field orderId is a number too long to be read exactly; write ids as text.",
    )

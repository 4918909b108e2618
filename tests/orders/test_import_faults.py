"""An order file's row error says where the fault is and what it is, in words (English and Chinese),
and never repeats the value the row holds: a customer's phone number in the quantity column once came
back as ``invalid literal for int() with base 10: '13812345678x'`` in the stored import report. The
columnar reader gives the same error as the row reader for the same fault."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from neigou.kit.columns import RowError
from neigou.kit.i18n import translate
from neigou.kit.tabular import read_table
from neigou.orders import import_columns
from neigou.orders.import_columns import ColumnOrders
from neigou.orders.import_rows import LAYOUT, parse_jsonl, parse_table
from neigou.platforms.adapters import read_rows
from neigou.platforms.rows import Platform, Skip
from tests.platforms.builders import jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.no_database

AT = "2026-03-01T12:00:00+08:00"
HEADER = "external_id,program_id,customer_ref,link_code,paid_at,sku,quantity,paid_fen"
PHONE = "13812345678"
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _echoes(error: RowError, value: str) -> bool:
    """Whether the error's message, in either language, repeats ``value`` or the phone inside it."""
    shown = [translate(error.message, locale) for locale in ("en", "zh-CN")]
    return any(value in text or PHONE in text for text in shown)


def _errors(path: Path, program_id: int | None) -> tuple[list[RowError], list[RowError]]:
    """The row errors of the row reader and of the columnar reader (which must have read the file)."""
    rows = [e for e, _ in parse_table(read_table(path, LAYOUT), program_id=program_id)]
    reader = ColumnOrders(read_table(path, LAYOUT, nul_rows="report"), path, program_id=program_id)
    columns = [e for e, _ in reader]
    assert reader.columnar
    return [e for e in rows if isinstance(e, RowError)], [e for e in columns if isinstance(e, RowError)]


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("quantity", PHONE + "x", "Row 2: quantity must be a whole number written in digits."),
        ("quantity", "张三 " + PHONE, "Row 2: quantity must be a whole number written in digits."),
        ("paid_fen", "1381-2345-678", "Row 2: paid_fen must be a whole number written in digits."),
        ("program_id", "tel:" + PHONE, "Row 2: program_id must be a whole number written in digits."),
        ("paid_at", "138 1234 5678", "Row 2: paid_at must be an ISO 8601 time written as text like"),
        ("paid_at", PHONE, "Row 2: paid_at must be an ISO 8601 time written as text like"),
        ("paid_at", "2026-03-01T12:00:00", "Row 2: paid_at must carry a time zone."),
        (
            "paid_at",
            "0001-01-01T06:00:00+14:00",
            "Row 2: paid_at must lie between 1970-01-01 and 2999-12-31.",
        ),
    ],
)
def test_a_table_rows_error_names_its_row_and_column_not_its_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str, value: str, words: str
) -> None:
    monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)  # the columns read this small file too
    cells = dict(zip(HEADER.split(","), ["N-1", "1", "c", "L", AT, "S", "1", "100"], strict=True))
    cells[column] = value
    path = tmp_path / "orders.csv"
    path.write_text(f"{HEADER}\n{','.join(cells.values())}\nN-2,1,c,L,{AT},S,1,100\n", encoding="utf-8")
    rows, columns = _errors(path, None)
    assert repr(rows) == repr(columns)  # the same error, whichever reader read the file
    [error] = rows
    assert (error.row, error.key, error.code, error.column) == (2, "N-1", "parse_error", column)
    assert str(error.message).startswith(words)
    assert translate(error.message, "zh-CN").startswith("第 2 行：")
    assert not _echoes(error, value)


def test_a_later_line_of_a_table_order_is_named_by_its_own_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order is refused at its first row, as before; the message says which of its rows is wrong."""
    monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)
    path = tmp_path / "orders.csv"
    lines = [f"N-1,1,c,L,{AT},S,1,100", f"N-1,1,c,L,{AT},T,1,100", f"N-1,1,c,L,{AT},U,2,{PHONE}y"]
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    rows, columns = _errors(path, None)
    assert repr(rows) == repr(columns)
    [error] = rows
    assert (error.row, error.column) == (2, "paid_fen")
    assert str(error.message) == "Row 4: paid_fen must be a whole number written in digits."
    assert translate(error.message, "zh-CN") == "第 4 行：paid_fen 必须是用数字书写的整数。"


def test_a_missing_program_is_said_in_words(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(f"{HEADER}\nN-1,,c,L,{AT},S,1,100\n", encoding="utf-8")
    [error] = [e for e, _ in parse_table(read_table(path, LAYOUT), program_id=None)]
    assert isinstance(error, RowError)
    assert (str(error.message), error.column) == ("Row 2: program_id is missing.", "program_id")
    assert translate(error.message, "zh-CN") == "第 2 行：缺少 program_id。"


ITEM = {"sku": "S", "quantity": 1, "paid_fen": 100}
ORDER = {"external_id": "J-1", "customer_ref": "c", "paid_at": AT, "items": [ITEM]}


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        (
            {**ORDER, "items": [{**ITEM, "quantity": PHONE + "x"}]},
            "items.0.quantity",
            "must be a whole number",
        ),
        (
            {**ORDER, "items": [ITEM, {**ITEM, "paid_fen": "张三"}]},
            "items.1.paid_fen",
            "must be a whole number",
        ),
        ({**ORDER, "items": [{"sku": PHONE, "paid_fen": 1}]}, "items.0.quantity", "is missing"),
        ({**ORDER, "items": [PHONE]}, "items.0", "must be a JSON object"),
        ({**ORDER, "items": PHONE}, "items", "must be a list"),
        ({**ORDER, "paid_at": PHONE}, "paid_at", "must be an ISO 8601 time"),
        ({**ORDER, "paid_at": int(PHONE)}, "paid_at", "must be an ISO 8601 time"),
        ({**ORDER, "program_id": f"+86 {PHONE}"}, "program_id", "must be a whole number"),
        ({**ORDER, "total_fen": [PHONE]}, "total_fen", "must be a whole number"),
        ([PHONE], None, "must be a JSON object"),
        ('{"customer_ref": "' + PHONE + '", items: []}', None, "is not valid JSON (at character 33)"),
    ],
)
def test_a_json_lines_error_names_its_field_not_its_value(
    line: object, column: str | None, words: str
) -> None:
    text = line if isinstance(line, str) else json.dumps(line)
    [(error, _)] = list(parse_jsonl([text], program_id=1))
    assert isinstance(error, RowError)
    assert (error.row, error.code, error.column) == (1, "parse_error", column)
    assert str(error.message).startswith(f"Row 1: {column} {words}" if column else f"Row 1 {words}")
    assert translate(error.message, "zh-CN").startswith("第 1 行")
    assert not _echoes(error, PHONE)


def test_a_number_python_will_not_read_is_refused_in_words() -> None:
    line = '{"items": [{"sku": "S", "quantity": ' + "1" * 5000 + ', "paid_fen": 1}]}'
    [(error, _)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(error, RowError)
    assert str(error.message) == "Row 1 could not be read."
    assert "digits" not in translate(error.message, "zh-CN")


def test_a_line_nested_past_the_parsers_depth_is_that_lines_error_and_the_others_are_read() -> None:
    good = {"external_id": "J-1", "customer_ref": "c1", "paid_at": AT,
            "items": [{"sku": "S", "quantity": 1, "paid_fen": 100}]}  # fmt: skip
    deep = '{"external_id": "J-2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [json.dumps(good), deep, json.dumps({**good, "external_id": "J-3"})]
    parsed = [entry for entry, _number in parse_jsonl(lines, program_id=1)]
    assert [isinstance(entry, RowError) for entry in parsed] == [False, True, False]
    assert isinstance(parsed[1], RowError)
    assert str(parsed[1].message) == "Row 2 could not be read."


def test_a_platform_rows_unknown_status_is_told_only_when_it_is_a_status_code() -> None:
    """A small unknown code is repeated (a status the platform added); a long number is not."""
    out = read_rows(
        Platform.PDD, [{**pdd_row(), "order_status": 99}, {**pdd_row(), "order_status": 1381234567}], NOW
    )
    assert all(isinstance(s, Skip) and s.code == "unknown_status" for s in out)
    told = [str(s.message) for s in out if isinstance(s, Skip)]
    assert told == ["order_status 99 is not a known status.", "order_status is not a known status code."]
    assert translate(out[1].message, "zh-CN") == "order_status 不是已知的状态码。"  # type: ignore[union-attr]


def test_taobaos_unknown_status_is_told_only_when_it_is_a_status_code() -> None:
    out = read_rows(
        Platform.TAOBAO, [{**taobao_row(), "tk_status": 99}, {**taobao_row(), "tk_status": 1381234567}], NOW
    )
    assert all(isinstance(s, Skip) and s.code == "unknown_status" for s in out)
    assert [str(s.message) for s in out if isinstance(s, Skip)] == [
        "tk_status 99 is not a known status.",
        "tk_status is not a known status code.",
    ]
    # JD 联盟 reads every code it does not know above 1 as invalid (a full refund): only -1 to 1 are told.
    (jd,) = read_rows(Platform.JD_UNION, [jd_row(valid_code=-1)], NOW)
    assert isinstance(jd, Skip)
    assert str(jd.message) == "validCode -1 is not a known status."

"""Batch import: CSV and JSON lines, per-row errors, duplicates, resuming after a crash."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app
from neigou.kit.settings import get_settings
from neigou.kit.tabular import nul_in_row
from neigou.ledger.models import Posting
from neigou.orders import importer, ingest
from neigou.orders.models import ImportCheckpoint, Order
from tests.cli_env import cli_environment
from tests.orders.builders import SKU, World, assert_ledger_balanced, balance, build
from tests.orders.import_files import HEADER, PAID_AT, import_orders

runner = CliRunner()


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _csv(w: World, path: Path, orders: int) -> Path:
    rows = [HEADER]
    for n in range(orders):
        rows.append(f"CSV-{n},{w.program_id},c{n},{w.link},{PAID_AT},{SKU},1,10000")
        if n % 2:
            rows.append(f"CSV-{n},{w.program_id},c{n},{w.link},{PAID_AT},YD-TEE,2,5000")
    rows.append(f"BAD-1,{w.program_id},c,{w.link},{PAID_AT},NO-SUCH-SKU,1,100")
    rows.append(f"BAD-2,{w.program_id},c,,not-a-date,{SKU},1,100")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _count(factory: sessionmaker[Session], model: type[Order] | type[Posting]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_cli_imports_csv_with_a_row_error_report(
    env: None, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    path = _csv(w, tmp_path / "orders.csv", 5)
    report = tmp_path / "errors.csv"
    result = runner.invoke(app, ["orders", "import", str(path), "--batch-size", "2", "--errors", str(report)])
    assert result.exit_code == 1, result.output
    assert "imported 5 orders, 0 already there, 2 refused" in result.output
    assert report.read_text().splitlines()[1:] == [
        "9,BAD-1,unknown_sku,items[0] names no product.",
        "10,BAD-2,parse_error,Row 10: paid_at must be an ISO 8601 time written as text like "
        "2026-03-01T12:00:00+08:00.",
    ]
    # 5 × 400 seller commission, plus 2 × (5000 × 25% × 20%) = 2 × 250 on the YD-TEE lines
    assert balance(client, operator, w.seller)["pending_fen"] == 5 * 400 + 2 * 250
    again = runner.invoke(app, ["orders", "import", str(path)])
    assert "imported 0 orders" in again.output
    assert _count(factory, Order) == 5
    assert_ledger_balanced(factory)


def test_the_error_report_writes_the_files_formula_like_text_as_text(
    env: None, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A shop's order id is the shop's text: written raw, ``=HYPERLINK(…)`` would run in the
    spreadsheet that opens the report."""
    w = build(client, operator, factory, max_levels=2)
    rows = [HEADER]
    for external_id in ('"=HYPERLINK(""http://evil.example"",""x"")"', "@SUM(1)", "+1", "-1"):
        rows.append(f"{external_id},{w.program_id},c,{w.link},{PAID_AT},NO-SUCH-SKU,1,100")
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "errors.csv"
    result = runner.invoke(app, ["orders", "import", str(path), "--errors", str(report)])
    assert result.exit_code == 1, result.output
    cells = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert [row[1] for row in cells[1:]] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(1)",
        "'+1",
        "'-1",
    ]


def test_a_paid_at_outside_the_products_days_is_a_row_error_not_the_end_of_the_import(
    env: None, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """A time with no UTC instant (``+14:00`` on the calendar's first day) stopped the whole import
    with a database error; one before 1970 went in. Each is now its row's error, and the rest go in."""
    w = build(client, operator, factory, max_levels=2)
    rows = [HEADER]
    times = ["0001-01-01T06:00:00+14:00", "9999-12-31T23:59:59-12:00", "1969-12-31T23:59:59+00:00"]
    for n, at in enumerate([*times, PAID_AT]):
        rows.append(f"EDGE-{n},{w.program_id},c{n},{w.link},{at},{SKU},1,10000")
    path = tmp_path / "edges.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    report = tmp_path / "errors.csv"
    result = runner.invoke(app, ["orders", "import", str(path), "--errors", str(report)])
    assert "imported 1 orders, 0 already there, 3 refused" in result.output, (result.output, result.exception)
    assert [line.split(",")[:3] for line in report.read_text().splitlines()[1:]] == [
        [str(n + 2), f"EDGE-{n}", "parse_error"] for n in range(3)
    ]
    assert _count(factory, Order) == 1
    assert_ledger_balanced(factory)


def test_jsonl_import_resumes_after_a_crash_without_duplicates(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    path = tmp_path / "orders.jsonl"
    lines = [
        json.dumps(
            {
                "external_id": f"J-{n}",
                "customer_ref": f"c{n}",
                "link_code": w.link,
                "paid_at": "2026-03-01T04:00:00Z",
                "items": [{"sku": SKU, "quantity": 1, "paid_fen": 10_000}],
            }
        )
        for n in range(10)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    real = ingest.finish
    calls = {"n": 0}

    def crash_on_third_batch(*args: Any, **kwargs: Any) -> ingest.BatchResult:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the machine went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "finish", crash_on_third_batch)
    with pytest.raises(RuntimeError):
        import_orders(factory, path, program_id=w.program_id, batch_size=3)
    assert _count(factory, Order) == 6
    with factory() as session:
        checkpoint = session.scalars(select(ImportCheckpoint)).one()
        assert (checkpoint.rows_done, checkpoint.finished) == (6, False)
    monkeypatch.setattr(importer, "finish", real)
    report = import_orders(factory, path, program_id=w.program_id, batch_size=3)
    assert (report.resumed_from, report.imported, report.duplicates, report.finished) == (6, 4, 0, True)
    assert _count(factory, Order) == 10
    assert _count(factory, Posting) == 10
    assert balance(client, operator, w.seller)["pending_fen"] == 10 * 400
    assert_ledger_balanced(factory)


def test_a_big_file_repeating_stored_orders_posts_them_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)

    def write(name: str, count: int) -> Path:
        path = tmp_path / name
        rows = [HEADER]
        rows += [f"BIG-{n},{w.program_id},c{n},{w.link},{PAID_AT},{SKU},1,10000" for n in range(count)]
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return path

    first = import_orders(factory, write("a.csv", 60), batch_size=100)
    again = import_orders(factory, write("b.csv", 65), batch_size=100)
    assert (first.imported, again.imported, again.duplicates) == (60, 5, 60)
    assert _count(factory, Order) == 65
    assert _count(factory, Posting) == 65
    assert_ledger_balanced(factory)


CHINESE_HEADER = ["订单号", "顾客标识", "链接码", "支付时间", "商品编码", "数量", "实付(分)", "渠道"]


def _rows(w: World, prefix: str, orders: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for n in range(orders):
        at = PAID_AT
        rows.append([f"{prefix}-{n}", f"c{n}", w.link, at, SKU, 1, 10000, "微信"])
        if n % 2:
            rows.append([f"{prefix}-{n}", f"c{n}", w.link, at, "YD-TEE", 2, 5000, "微信"])
    return rows


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def test_xlsx_and_gb18030_files_with_chinese_headers_import_and_resume(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    book = _xlsx(tmp_path / "orders.xlsx", [CHINESE_HEADER, *_rows(w, "X", 6)])
    real = ingest.finish
    calls = {"n": 0}

    def crash_on_second_batch(*args: Any, **kwargs: Any) -> ingest.BatchResult:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the machine went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "finish", crash_on_second_batch)
    with pytest.raises(RuntimeError):
        import_orders(factory, book, program_id=w.program_id, batch_size=3)
    with factory() as session:
        checkpoint = session.scalars(select(ImportCheckpoint)).one()
        assert (checkpoint.rows_done, checkpoint.finished) == (5, False)  # X-0..X-2 end on sheet row 5
    monkeypatch.setattr(importer, "finish", real)
    resumed = import_orders(factory, book, program_id=w.program_id, batch_size=3)
    assert (resumed.resumed_from, resumed.imported, resumed.errors, resumed.finished) == (5, 3, [], True)
    text = "\r".join(",".join(str(c) for c in row) for row in [CHINESE_HEADER, *_rows(w, "G", 3)]) + "\r"
    gbk = tmp_path / "orders-gbk.csv"
    gbk.write_bytes(text.encode("gb18030"))
    report = import_orders(factory, gbk, program_id=w.program_id)
    assert (report.imported, report.errors) == (3, [])
    assert _count(factory, Order) == 9
    # 9 × 400 seller commission, plus 4 YD-TEE lines × 250
    assert balance(client, operator, w.seller)["pending_fen"] == 9 * 400 + 4 * 250
    assert_ledger_balanced(factory)


def test_a_file_missing_a_column_is_refused_before_anything_is_written(
    env: None, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    path = tmp_path / "orders.csv"
    path.write_text(f"external_id,customer_ref,paid_at,sku,quantity\nM-1,c,2026-03-01T12:00:00Z,{SKU},1\n")
    result = runner.invoke(app, ["orders", "import", str(path), "--program-id", str(w.program_id)])
    assert result.exit_code == 2, result.output
    assert "row 1: [missing_column]" in result.output
    assert "bad_header" in result.output
    assert _count(factory, Order) == 0
    with factory() as session:
        assert session.scalars(select(ImportCheckpoint)).all() == []


def test_a_csv_row_holding_a_nul_refuses_its_order_and_the_rest_go_in(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Like a JSON line holding a NUL: the CSV file went on being refused at that row (the batches
    before it kept, those after never read); now the order holding it is a row error, the others go in,
    and no NUL reaches either database."""
    w = build(client, operator, factory, max_levels=2)
    rows = _rows(w, "N", 4)  # N-0 on row 2, N-1 on rows 3-4, N-2 on row 5, N-3 on rows 6-7
    rows[2][4] = "YD-TEE\x00"  # the second line of N-1, in the middle of the file
    rows[3][1] = "c\x002"  # N-2, an order of one line
    text = "\n".join(",".join(str(c) for c in row) for row in [CHINESE_HEADER, *rows]) + "\n"
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id, batch_size=1)
    assert [(e.row, e.key, e.code) for e in report.errors] == [
        (3, "N-1", "nul_character"),  # the whole order, both its rows
        (4, "N-1", "nul_character"),
        (5, "N-2", "nul_character"),
    ]
    assert (
        str(report.errors[1].message)
        == str(nul_in_row(4))
        == "Row 4 holds a NUL character (\\u0000), which cannot be stored."
    )
    assert (report.imported, report.finished) == (2, True)
    with factory() as session:
        assert sorted(session.scalars(select(Order.external_id))) == ["N-0", "N-3"]
    assert_ledger_balanced(factory)


def test_a_jsonl_line_holding_a_nul_is_a_row_error_on_both_databases() -> None:
    """PostgreSQL cannot store a NUL and SQLite would: the line is refused alike, the others parse."""
    from neigou.kit.columns import RowError
    from neigou.orders.import_rows import parse_jsonl

    good = {"external_id": "J-1", "customer_ref": "c1", "paid_at": PAID_AT}
    lines = [
        json.dumps({**good, "items": [{"sku": SKU, "quantity": 1, "paid_fen": 100}]}),
        json.dumps({**good, "external_id": "J-2\x00", "items": []}),
        json.dumps({**good, "external_id": "J-3", "customer_ref": "c\x00", "items": []}),
    ]
    parsed = [entry for entry, _number in parse_jsonl(lines, program_id=1)]
    assert not isinstance(parsed[0], RowError)
    assert [(p.row, p.code) for p in parsed[1:] if isinstance(p, RowError)] == [
        (2, "nul_character"),
        (3, "nul_character"),
    ]


@pytest.mark.parametrize("paid_at", [1733400000, 1733400000123, "1733400000", "20261205"])
def test_a_paid_at_written_as_a_number_is_a_row_error_never_unix_time(paid_at: object) -> None:
    """As the API refuses a number for a time (numeric_datetime), an order file never reads one as
    seconds: a JSON number or digits as text is the row error parse_error (eight digits read as a day
    carry no zone); the other rows go in."""
    from neigou.kit.columns import RowError
    from neigou.kit.tabular import read_table
    from neigou.orders.import_rows import LAYOUT, parse_jsonl, parse_table

    good = {"external_id": "J-1", "customer_ref": "c1", "paid_at": PAID_AT}
    items = [{"sku": SKU, "quantity": 1, "paid_fen": 100}]
    lines = [json.dumps({**good, "external_id": "J-0", "paid_at": paid_at, "items": items})]
    lines.append(json.dumps({**good, "items": items}))
    parsed = [entry for entry, _number in parse_jsonl(lines, program_id=1)]
    assert isinstance(parsed[0], RowError)
    assert (parsed[0].row, parsed[0].code) == (1, "parse_error")
    assert not isinstance(parsed[1], RowError)
    table = f"external_id,customer_ref,paid_at,sku,quantity,paid_fen\nT-0,c,{paid_at},{SKU},1,100\n"
    rows = [entry for entry, _number in parse_table(read_table(table, LAYOUT), program_id=1)]
    assert [(r.row, r.code) for r in rows if isinstance(r, RowError)] == [(2, "parse_error")]


@pytest.mark.parametrize("customer_ref", ["", " ", "\u200b", "\ufeff\u3000", "\u200e\u200f"])
def test_a_row_whose_customer_is_only_blanks_or_invisible_marks_is_a_row_error(customer_ref: str) -> None:
    """As the API refuses such a customer_ref, a file's row is refused: it would hash as the empty
    reference, one made-up customer every blank row shares."""
    from neigou.kit.columns import RowError
    from neigou.orders.import_rows import parse_jsonl
    from neigou.orders.inputs import OrderIn, shape_error

    items = [{"sku": SKU, "quantity": 1, "paid_fen": 100}]
    line = json.dumps(
        {"external_id": "B-1", "customer_ref": customer_ref, "paid_at": PAID_AT, "items": items}
    )
    [(order, _number)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(order, OrderIn)
    problem = shape_error(order)
    assert isinstance(problem, RowError)
    assert problem.code == "invalid_customer_ref"

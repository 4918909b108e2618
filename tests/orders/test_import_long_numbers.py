"""An order file's ``external_id`` or ``customer_ref`` written as a number too long for a workbook to hold
exactly is read in exponent form (``kit.workbook_rows.cell_text``): that order's row error ("write ids
as text"), never an order or a customer named by rounded digits; the file's other orders go in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.models import Order
from tests.orders.builders import SKU, build
from tests.orders.import_files import HEADER, PAID_AT, import_orders
from tests.workbooks import workbook

LONG, NEAR = 2345678901234567891, 2345678901234567800  # one float apart


def test_long_number_cells_of_a_workbook_are_row_errors(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    line: list[Any] = [w.program_id, w.link, PAID_AT, SKU, 1, 10_000]
    rows: list[list[Any]] = [
        HEADER.split(","),
        ["X-1", line[0], LONG, *line[1:]],
        [LONG, line[0], "shopper-1", *line[1:]],
        ["X-3", line[0], NEAR, *line[1:]],
        ["X-4", line[0], "shopper-1", *line[1:]],
    ]
    path = tmp_path / "orders.xlsx"
    path.write_bytes(workbook(rows))
    report = import_orders(factory, path, program_id=w.program_id)
    assert [(e.row, e.code) for e in report.errors] == [
        (2, "invalid_customer_ref"),
        (3, "invalid_external_id"),
        (4, "invalid_customer_ref"),
    ]
    assert "write ids as text" in str(report.errors[0].message)
    with factory() as session:
        assert list(session.scalars(select(Order.external_id))) == ["X-4"]


def test_excel_exponent_text_in_a_csv_is_refused_alike(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    rows = [
        f"Y-1,{w.program_id},2.34568E+18,{w.link},{PAID_AT},{SKU},1,10000",
        f"2.34568E+18,{w.program_id},shopper-2,{w.link},{PAID_AT},{SKU},1,10000",
    ]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert [(e.row, e.code) for e in report.errors] == [
        (2, "invalid_customer_ref"),
        (3, "invalid_external_id"),
    ]

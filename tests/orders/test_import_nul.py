"""An order file's row holding a NUL refuses its whole order: never a partial order written (a wrong
paid total and commission, and an ``external_id_reused`` when the fixed file comes back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.columns import RowError
from neigou.kit.tabular import read_table
from neigou.orders import importer
from neigou.orders.import_rows import LAYOUT, parse_table
from neigou.orders.inputs import OrderIn
from neigou.orders.models import Order
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import SKU, World, assert_ledger_balanced, balance, build

HEADER = ["订单号", "顾客标识", "链接码", "支付时间", "商品编码", "数量", "实付(分)"]
AT = "2026-03-01T12:00:00+08:00"


def _rows(w: World) -> list[list[Any]]:
    """N-0 on row 2, N-1 on rows 3-4 (two lines), N-2 on row 5."""
    return [
        ["N-0", "c0", w.link, AT, SKU, 1, 10000],
        ["N-1", "c1", w.link, AT, SKU, 1, 10000],
        ["N-1", "c1", w.link, AT, "YD-TEE", 2, 5000],
        ["N-2", "c2", w.link, AT, SKU, 1, 10000],
    ]


def _write(path: Path, rows: list[list[Any]]) -> Path:
    path.write_text(
        "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows]) + "\n", encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("nul", [(0, "N-1\x00"), (4, "YD-TEE\x00")], ids=["id_cell", "other_cell"])
def test_a_nul_in_an_orders_second_row_refuses_the_whole_order(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    nul: tuple[int, str],
) -> None:
    w = build(client, operator, factory, max_levels=2)
    rows = _rows(w)
    column, value = nul
    rows[2][column] = value  # N-1's second row, file row 4
    report = importer.import_file(
        factory,
        _write(tmp_path / "bad.csv", rows),
        secret_key=SECRET,
        actor=TEST_ACTOR,
        program_id=w.program_id,
        batch_size=1,
    )
    assert [(e.row, e.key, e.code) for e in report.errors] == [
        (3, "N-1", "nul_character"),
        (4, "N-1", "nul_character"),
    ]
    assert str(report.errors[0].message) == (
        "Row 3 is refused with its whole order: row 4 of that order holds a NUL character (\\u0000)."
    )
    assert str(report.errors[1].message) == "Row 4 holds a NUL character (\\u0000), which cannot be stored."
    assert (report.imported, report.finished) == (2, True)
    with factory() as session:
        assert sorted(session.scalars(select(Order.external_id))) == ["N-0", "N-2"]

    fixed = importer.import_file(
        factory,
        _write(tmp_path / "fixed.csv", _rows(w)),
        secret_key=SECRET,
        actor=TEST_ACTOR,
        program_id=w.program_id,
        batch_size=1,
    )
    assert (fixed.imported, fixed.duplicates, fixed.errors) == (1, 2, [])
    with factory() as session:
        order = session.scalars(select(Order).where(Order.external_id == "N-1")).one()
        assert order.paid_fen == 15000
    # 3 × 400 seller commission on the SKU lines, plus 5000 × 25% × 20% = 250 on N-1's YD-TEE line
    assert balance(client, operator, w.seller)["pending_fen"] == 3 * 400 + 250
    assert_ledger_balanced(factory)


def _parsed(text: str) -> list[tuple[int, str | None, str] | tuple[str, int]]:
    out: list[tuple[int, str | None, str] | tuple[str, int]] = []
    for entry, _row in parse_table(read_table(text, LAYOUT, nul_rows="report"), program_id=None):
        if isinstance(entry, RowError):
            out.append((entry.row, entry.key, entry.code))
        else:
            out.append((entry.external_id, len(entry.items)))
    return out


def test_a_nul_in_the_first_rows_id_or_in_a_program_cell_still_finds_the_order() -> None:
    """``N-1\\x00`` on the order's first row groups with ``N-1``; a program cell holding a NUL matches
    its neighbours' program whichever way round, so no row of the order goes in alone."""
    head = "external_id,program_id,customer_ref,paid_at,sku,quantity,paid_fen\n"
    line = f",c,{AT},{SKU},1,100\n"
    text = head + "N-1\x00,7" + line + "N-1,7" + line + "N-2,\x00" + line + "N-2,7" + line + "N-3,7" + line
    text += "N-4,7" + line + "N-4,7\x00" + line + "N-4,8" + line
    assert _parsed(text) == [
        (2, "N-1", "nul_character"),
        (3, "N-1", "nul_character"),
        (4, "N-2", "nul_character"),
        (5, "N-2", "nul_character"),
        ("N-3", 1),
        (7, "N-4", "nul_character"),
        (8, "N-4", "nul_character"),
        ("N-4", 1),  # program 8: another order, with its own key
    ]


def test_a_nul_row_with_no_external_id_is_refused_alone_and_says_so() -> None:
    head = "external_id,program_id,customer_ref,paid_at,sku,quantity,paid_fen\n"
    line = f",c,{AT},{SKU},1,100\n"
    text = head + "N-1,7" + line + " \x00 ,7" + line + "N-2,7" + line
    parsed = list(parse_table(read_table(text, LAYOUT, nul_rows="report"), program_id=None))
    error = parsed[1][0]
    assert isinstance(error, RowError)
    assert (error.row, error.key, error.code, parsed[1][1]) == (3, "", "nul_character", 3)
    assert str(error.message) == (
        "Row 3 holds a NUL character (\\u0000) and no external id, so its order cannot be told: this row alone "
        "is refused, and the order it belongs to may go in without it."
    )
    assert [type(p).__name__ for p, _ in parsed] == ["OrderIn", "RowError", "OrderIn"]


def test_a_keyless_nul_row_inside_an_order_does_not_split_it() -> None:
    """Rows of ``N-1`` on both sides of a keyless NUL row stay one order: split, N-1 would be stored with
    its first line only and the later row refused as ``external_id_reused``."""
    head = "external_id,program_id,customer_ref,paid_at,sku,quantity,paid_fen\n"
    tail = f",c,{AT},"
    text = head + "N-1,7" + tail + "A,1,100\n" + "\x00,7" + tail + "B,1,100\n" + "N-1,7" + tail + "C,1,100\n"
    text += ",7" + tail + "D,1,100\x00\n" + "N-2,7" + tail + "E,1,100\n"
    parsed = list(parse_table(read_table(text, LAYOUT, nul_rows="report"), program_id=None))
    order, error, after, second = (p for p, _ in parsed)
    assert isinstance(order, OrderIn)
    assert isinstance(second, OrderIn)
    assert (order.external_id, [i.sku for i in order.items]) == ("N-1", ["A", "C"])
    assert isinstance(error, RowError)
    assert isinstance(after, RowError)
    assert [(e.row, e.key, e.code) for e in (error, after)] == [
        (3, "", "nul_character"),
        (5, "", "nul_character"),
    ]
    assert str(error.message).startswith("Row 3 holds a NUL character (\\u0000) and no external id")
    checkpoints = [row for _, row in parsed]
    assert checkpoints == [4, 4, 5, 6]  # row 3's error waits for N-1 (rows 2-4): never a step back


def test_a_keyless_nul_row_with_no_order_open_is_reported_at_once() -> None:
    head = "external_id,program_id,customer_ref,paid_at,sku,quantity,paid_fen\n"
    line = f",c,{AT},{SKU},1,100\n"
    parsed = list(
        parse_table(
            read_table(head + "\x00,7" + line + "N-1,7" + line, LAYOUT, nul_rows="report"), program_id=None
        )
    )
    assert [(type(p).__name__, row) for p, row in parsed] == [("RowError", 2), ("OrderIn", 3)]


def test_rows_whose_ids_differ_only_by_surrounding_space_are_one_order() -> None:
    """Grouping reads the id and program as the stored order does, stripped: ``N-1 `` is a row of ``N-1``,
    not an order of its own that would go in without the other's line."""
    head = "external_id,program_id,customer_ref,paid_at,sku,quantity,paid_fen\n"
    line = f",c,{AT},{SKU},1,100\n"
    parsed = [
        p
        for p, _ in parse_table(
            read_table(head + "N-1,7" + line + " N-1 , 7 " + line, LAYOUT), program_id=None
        )
    ]
    assert len(parsed) == 1
    order = parsed[0]
    assert not isinstance(order, RowError)
    assert (order.external_id, order.program_id, len(order.items)) == ("N-1", 7, 2)

"""An order file's order is held in memory only up to ``MAX_ORDER_LINES`` rows: past it the order is
refused ``too_many_lines`` in one error naming its rows, and its rows are counted, not kept, so a file
whose every row carries one external id costs what one order costs."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.columns import Row, RowError
from neigou.kit.i18n import translate
from neigou.orders import importer
from neigou.orders.import_rows import MAX_ORDER_LINES, parse_table
from neigou.orders.inputs import OrderIn
from neigou.orders.models import Order
from tests.conftest import SECRET, TEST_ACTOR
from tests.orders.builders import SKU, build

HEADER = ["订单号", "顾客标识", "链接码", "支付时间", "商品编码", "数量", "实付(分)"]
AT = "2026-03-01T12:00:00+08:00"


def _line(external_id: str, link: str, n: int) -> str:
    return ",".join([external_id, "c", link, AT, SKU if n == 0 else f"S-{n}", "1", "100"])


def test_an_order_past_the_limit_is_refused_whole_and_the_next_goes_in(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    big = MAX_ORDER_LINES + 7
    lines = [",".join(HEADER), _line("N-0", w.link, 0)]
    lines += [_line("BIG", w.link, n) for n in range(big)]
    lines += [_line("N-2", w.link, 0)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = importer.import_file(
        factory, path, secret_key=SECRET, actor=TEST_ACTOR, program_id=w.program_id, batch_size=1
    )
    assert [(e.row, e.key, e.code) for e in report.errors] == [(3, "BIG", "too_many_lines")]
    message = report.errors[0].message
    last = 3 + big - 1
    assert str(message) == (
        f"Rows 3 to {last} are one order of {big} rows, more than the {MAX_ORDER_LINES} lines an "
        "order may have: the whole order is refused."
    )
    assert translate(message, "zh-CN") == (
        f"第 3 至 {last} 行是同一订单的 {big} 行，超过每单最多 {MAX_ORDER_LINES} 行：整单被拒绝。"
    )
    assert (report.imported, report.finished) == (2, True)
    with factory() as session:
        assert sorted(session.scalars(select(Order.external_id))) == ["N-0", "N-2"]


def _same_id(count: int) -> Iterator[Row]:
    for number in range(2, count + 2):
        values = {"external_id": "ONE", "customer_ref": "c", "paid_at": AT, "sku": f"S-{number}"}
        yield Row(number, (), {**values, "quantity": "1", "paid_fen": "1"})


def test_a_file_whose_every_row_has_one_id_is_not_held_in_memory() -> None:
    count = 60_000
    tracemalloc.start()
    try:
        parsed = list(parse_table(_same_id(count), program_id=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [(e.row, e.code) for e, _ in parsed if isinstance(e, RowError)] == [(2, "too_many_lines")]
    assert parsed[0][1] == count + 1  # its checkpoint: the order's last row
    assert peak < 2 << 20  # holding every row costs tens of MB


def test_an_order_of_exactly_the_limit_is_held_and_read() -> None:
    parsed = [e for e, _ in parse_table(_same_id(MAX_ORDER_LINES), program_id=1)]
    assert len(parsed) == 1
    assert isinstance(parsed[0], OrderIn)
    assert len(parsed[0].items) == MAX_ORDER_LINES

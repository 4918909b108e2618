"""A line's quantity above the API's cap (``MAX_QUANTITY``) is that row's ``invalid_quantity`` in a
file import, read by either reader: the rest of the file goes in and the import finishes, where a
quantity past the Integer column once rolled the batch back on PostgreSQL at every rerun."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.i18n import translate
from neigou.orders import import_columns
from neigou.orders.inputs import MAX_QUANTITY
from neigou.orders.models import Order
from tests.orders.builders import build
from tests.orders.import_files import import_orders, sku_orders


@pytest.fixture(params=["rows", "columns"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The row reader (a small file), or the column reader (any size, as a large file is read)."""
    if request.param == "columns":
        monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)
    return str(request.param)


def test_a_row_with_a_huge_quantity_is_reported_and_the_rest_imported(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    reader: str,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    rows = [
        ("Q-1", 1, 100),
        ("Q-HUGE", 13812345678, 100),
        ("Q-CAP", MAX_QUANTITY + 1, 100),
        ("Q-MAX", MAX_QUANTITY, 100),
        ("Q-2", 2, 100),
    ]
    path = sku_orders(tmp_path / "orders.csv", w.program_id, w.link, rows)
    report = import_orders(factory, path, batch_size=2)
    assert [(e.key, e.code) for e in report.errors] == [
        ("Q-HUGE", "invalid_quantity"),
        ("Q-CAP", "invalid_quantity"),
    ]
    assert (report.imported, report.finished) == (3, True)
    again = import_orders(factory, path, batch_size=2)  # a rerun finds it finished, not stuck on the row
    assert again.finished
    with factory() as session:
        stored = sorted(session.scalars(select(Order.external_id)))
    assert stored == ["Q-1", "Q-2", "Q-MAX"]


def test_the_quantity_refusal_names_the_row_and_the_cap(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    reader: str,
) -> None:
    w = build(client, operator, factory, max_levels=2)
    rows = [("Q-1", 1, 100), ("Q-HUGE", 13812345678, 100), ("Q-2", 2, 200)]
    path = sku_orders(tmp_path / "orders.csv", w.program_id, w.link, rows)
    report = import_orders(factory, path, batch_size=1)
    assert [(e.row, e.key, e.code) for e in report.errors] == [(3, "Q-HUGE", "invalid_quantity")]
    message = report.errors[0].message
    assert str(message) == f"items[0].quantity must be 1 to {MAX_QUANTITY}."
    assert translate(message, "zh-CN") == f"items[0] 的数量须为 1 至 {MAX_QUANTITY}。"
    assert "13812345678" not in str(message)
    assert (report.imported, report.finished) == (2, True)
    with factory() as session:
        assert sorted(session.scalars(select(Order.external_id))) == ["Q-1", "Q-2"]

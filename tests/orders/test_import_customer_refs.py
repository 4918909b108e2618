"""An order file's customer reference hiding an invisible mark is that order's row error
(``invalid_customer_ref``, the reference never repeated); the file's other orders go in, and a
reference the hashing always trimmed (a mark at an edge, marks between a mobile number's digits) is
still the same customer."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import customer_ref_hash
from neigou.orders.models import Order
from tests.conftest import SECRET
from tests.orders.builders import SKU, build
from tests.orders.import_files import HEADER, PAID_AT, import_orders

HIDING = "oUpF8uMuAJO\u200b_M2pxb1Q9zNjWeS6o"


def _stored(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return {
            str(e): str(h) for e, h in session.execute(select(Order.external_id, Order.customer_ref_hash))
        }


def test_a_csv_row_whose_customer_hides_a_mark_is_a_row_error(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    rows = [
        f"M-1,{w.program_id},{HIDING},{w.link},{PAID_AT},{SKU},1,10000",
        f"M-2,{w.program_id},openid-1\u00ad,{w.link},{PAID_AT},{SKU},1,10000",
        f"M-3,{w.program_id},\ufeff138\u200b1234 5678,{w.link},{PAID_AT},{SKU},1,10000",
        f"M-4,{w.program_id},\u200eopenid-1,{w.link},{PAID_AT},{SKU},1,10000",
    ]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert [(e.row, e.key, e.code) for e in report.errors] == [
        (2, "M-1", "invalid_customer_ref"),
        (3, "M-2", "invalid_customer_ref"),
    ]
    assert all("oUpF8" not in str(e.message) and "openid" not in str(e.message) for e in report.errors)
    assert _stored(factory) == {
        "M-3": customer_ref_hash(SECRET, "13812345678"),
        "M-4": customer_ref_hash(SECRET, "openid-1"),
    }


def test_a_json_line_whose_customer_hides_a_mark_is_a_row_error(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    items = [{"sku": SKU, "quantity": 1, "paid_fen": 10_000}]
    lines = [
        {
            "external_id": "J-1",
            "customer_ref": "openid-2\ufe0f",
            "link_code": w.link,
            "paid_at": PAID_AT,
            "items": items,
        },
        {
            "external_id": "J-2",
            "customer_ref": "openid-2",
            "link_code": w.link,
            "paid_at": PAID_AT,
            "items": items,
        },
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert [(e.row, e.key, e.code) for e in report.errors] == [(1, "J-1", "invalid_customer_ref")]
    assert list(_stored(factory)) == ["J-2"]

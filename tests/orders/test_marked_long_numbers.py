"""A shopper's reference in exponent form (a 19-digit member number a spreadsheet held roughly,
``2.34568E+18``) is refused however it is wrapped: an Excel text marker round it (``'2.34568E+18``,
``="2.34568E+18"``, full-width ``＝＂…＂``, ``＇…``) or an invisible mark before the marker (a CSV's
byte-order mark, a zero-width space) is dropped before the check, as before the hash, so two customers
whose numbers round alike are never one. And an invisible mark before the marker is trimmed before the
marker is dropped: ``\\ufeff'13812345678`` is the shopper ``13812345678``. On every order path: the API,
the ``order.paid`` webhook, an order file read row by row or as columns."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.kit.ids import customer_ref_hash
from neigou.orders import import_columns, importer
from neigou.orders.import_columns import ColumnOrders
from neigou.orders.models import Order
from tests.conftest import SECRET, row_counts
from tests.orders.builders import SKU, World, build, order_body
from tests.orders.import_files import HEADER, PAID_AT, import_orders

PLAIN = "13812345678"
PLAIN_HASH = customer_ref_hash(SECRET, PLAIN)
# Each is hashed as ``2.34568E+18``, as the bare form is.
MARKED_LONG = [
    "'2.34568E+18",
    '="2.34568E+18"',
    "＝＂2.34568E+18＂",
    "＇2.34568E+18",
    "\ufeff'2.34568E+18",
    "\u200b＇2.34568E+18",
    "'\ufeff2.34568E+18",
    "２.３４５６８Ｅ＋１８",
]
# A byte-order mark or a zero-width space before (or inside) the marker: the plain number.
EDGE_MARKED = [
    "\ufeff'13812345678",
    '\u200b="13812345678"',
    "\ufeff＇13812345678",
    "\u2060'\u200b13812345678",
]


def _hashes(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        return set(map(str, session.scalars(select(Order.customer_ref_hash))))


@pytest.mark.parametrize("ref", MARKED_LONG)
def test_the_api_refuses_a_marked_number_in_exponent_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    w = build(client, operator, factory, max_levels=2)
    before = row_counts(factory)
    refused = client.post("/api/v1/orders", json=order_body(w, "API-L", customer=ref), headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_customer_ref"), refused.text
    assert "文本" in refused.json()["detail"]  # "write ids as text", in the default zh-CN
    assert "2.34568" not in refused.text
    assert row_counts(factory) == before


def test_the_api_hashes_a_reference_with_a_mark_before_its_marker_as_the_plain_number(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    for n, ref in enumerate([PLAIN, *EDGE_MARKED]):
        taken = client.post("/api/v1/orders", json=order_body(w, f"API-{n}", customer=ref), headers=operator)
        assert taken.status_code == 201, taken.text
    assert _hashes(factory) == {PLAIN_HASH}


def _shop(client: TestClient, operator: dict[str, str], w: World) -> Any:
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    sent = iter(range(50, 0, -1))

    def send(data: dict[str, Any]) -> Any:
        raw = json.dumps({"type": "order.paid", "data": data}).encode()
        secret, integration = shop.json()["inbound_secret"], shop.json()["id"]
        headers = signing.headers(secret, utcnow() - timedelta(seconds=next(sent)), raw)
        return client.post(
            f"/webhooks/v1/integrations/{integration}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )

    return send


def _paid(w: World, external_id: str, customer: str) -> dict[str, Any]:
    body = order_body(w, external_id, (SKU, 1, 10_000), customer=customer)
    return {k: v for k, v in body.items() if k != "program_id"}


def test_the_webhook_refuses_marked_exponent_forms_and_reads_edge_marks_first(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _shop(client, operator, w)
    for n, ref in enumerate(MARKED_LONG):
        refused = send(_paid(w, f"WH-L{n}", ref))
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_customer_ref"), (
            ref,
            refused.text,
        )
        assert "2.34568" not in refused.text
    assert _hashes(factory) == set()
    for n, ref in enumerate([PLAIN, *EDGE_MARKED]):
        taken = send(_paid(w, f"WH-{n}", ref))
        assert taken.status_code == 201, taken.text
    assert _hashes(factory) == {PLAIN_HASH}


def _file(path: Path, w: World, refs: list[str]) -> Path:
    rows = [f"F-{n},{w.program_id},{ref},{w.link},{PAID_AT},{SKU},1,4990" for n, ref in enumerate(refs)]
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_an_order_file_refuses_marked_exponent_forms_row_by_row(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    refs = [*MARKED_LONG, PLAIN, *EDGE_MARKED]
    report = import_orders(factory, _file(tmp_path / "orders.csv", w, refs), program_id=w.program_id)
    assert [(e.row, e.code) for e in report.errors] == [
        (row, "invalid_customer_ref") for row in range(2, 2 + len(MARKED_LONG))
    ]
    assert "write ids as text" in str(report.errors[0].message)
    assert report.imported == 1 + len(EDGE_MARKED)
    assert _hashes(factory) == {PLAIN_HASH}


def test_an_order_file_read_as_columns_refuses_them_alike(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file holding no quote character is read as columns (``orders.import_columns``)."""
    monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)
    read: list[ColumnOrders] = []

    def reader(*args: Any, **kwargs: Any) -> ColumnOrders:
        read.append(ColumnOrders(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(importer, "ColumnOrders", reader)
    w = build(client, operator, factory, max_levels=2)
    long = [ref for ref in MARKED_LONG if '"' not in ref]
    edge = [ref for ref in EDGE_MARKED if '"' not in ref]
    report = import_orders(
        factory, _file(tmp_path / "orders.csv", w, [*long, PLAIN, *edge]), program_id=w.program_id
    )
    assert read[0].columnar
    assert read[0].fell_back_at is None
    assert [(e.row, e.code) for e in report.errors] == [
        (row, "invalid_customer_ref") for row in range(2, 2 + len(long))
    ]
    assert report.imported == 1 + len(edge)
    assert _hashes(factory) == {PLAIN_HASH}

"""A shopper's reference written with one of Excel's text markers (``="13812345678"``, the text formula
POS and ERP exports write, or ``'13812345678``), in ASCII or full-width as an input method types it
(``＝＂13812345678＂``, ``＇13812345678``), is the same shopper as ``13812345678`` on every path: the order
API, an order file read row by row or as columns, and the opt-out that erases them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import customer_ref_hash, is_tombstone
from neigou.orders import import_columns, importer
from neigou.orders.import_columns import ColumnOrders
from neigou.orders.models import Order
from tests.conftest import SECRET
from tests.orders.builders import SKU, World, build, post_order
from tests.orders.import_files import HEADER, PAID_AT, import_orders

PLAIN = "13812345678"
PLAIN_HASH = customer_ref_hash(SECRET, PLAIN)
MARKED = ['="13812345678"', "'13812345678", '="+86 138 1234 5678"', "＝＂13812345678＂", "＇13812345678"]
MARKED += ['＝"+86 138 1234 5678"', "　＇138 1234 5678　"]


def _body(world: World, external_id: str, ref: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "program_id": world.program_id,
        "customer_ref": ref,
        "link_code": world.link,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": 4990}],
        "paid_at": PAID_AT,
    }


def _hashes(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        rows = session.execute(select(Order.external_id, Order.customer_ref_hash))
        return {str(e): str(h) for e, h in rows}


def test_orders_through_the_api_with_a_marked_reference_are_the_plain_shoppers(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, _body(w, "API-0", PLAIN))
    for n, ref in enumerate(MARKED, start=1):
        post_order(client, operator, _body(w, f"API-{n}", ref))
    assert set(_hashes(factory).values()) == {PLAIN_HASH}


@pytest.mark.parametrize("ref", ['=""', "'", '= " "', "＝＂＂", "＇"])
def test_an_order_whose_marker_holds_nothing_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    w = build(client, operator, factory, max_levels=2)
    refused = client.post("/api/v1/orders", json=_body(w, "API-E", ref), headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert _hashes(factory) == {}


def test_an_order_file_with_marked_references_names_the_plain_shopper(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    refs = [PLAIN, '="13812345678"', "'13812345678", ' ="138 1234 5678" ', "'+86 138-1234-5678"]
    refs += ["＝＂13812345678＂", '＝"13812345678"', "＇+86 138-1234-5678"]
    rows = [f"F-{n},{w.program_id},{ref},{w.link},{PAID_AT},{SKU},1,4990" for n, ref in enumerate(refs)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert (report.errors, report.imported) == ([], len(refs))
    assert set(_hashes(factory).values()) == {PLAIN_HASH}


def test_an_order_file_read_as_columns_names_the_plain_shopper(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file holding no quote character is read as columns (``orders.import_columns``); its references
    are hashed as the row reader's are."""
    monkeypatch.setattr(import_columns, "COLUMNS_FROM", 0)
    read: list[ColumnOrders] = []

    def reader(*args: Any, **kwargs: Any) -> ColumnOrders:
        read.append(ColumnOrders(*args, **kwargs))
        return read[-1]

    monkeypatch.setattr(importer, "ColumnOrders", reader)
    w = build(client, operator, factory, max_levels=2)
    refs = [PLAIN, "'13812345678", "' 13812345678", "'138 1234 5678", "＇13812345678", "＝＂13812345678＂"]
    rows = [f"C-{n},{w.program_id},{ref},{w.link},{PAID_AT},{SKU},1,4990" for n, ref in enumerate(refs)]
    path = tmp_path / "orders.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert read[0].columnar
    assert read[0].fell_back_at is None
    assert (report.errors, report.imported) == ([], len(refs))
    assert set(_hashes(factory).values()) == {PLAIN_HASH}


@pytest.mark.parametrize("ref", ['="13812345678"', "'13812345678", "＝＂13812345678＂", "＇13812345678"])
def test_an_opt_out_written_with_a_marker_erases_the_plain_shoppers_orders(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: str
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, _body(w, "OPT-1", PLAIN))
    post_order(client, operator, _body(w, "OPT-2", PLAIN))
    response = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": ref, "request_id": "erase-marked-ref"},
        headers=operator,
    )
    assert response.status_code == 201, response.text
    assert response.json()["erased"]["orders"] == 2
    assert all(is_tombstone(h) for h in _hashes(factory).values())

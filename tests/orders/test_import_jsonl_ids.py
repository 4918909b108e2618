"""A JSON-lines file reads an order's text fields as the API, the webhooks and a table file do: without
surrounding spaces (``import_rows.trimmed``), so a sale a webhook stored as ``WH-7`` and a file later sent
as ``" WH-7 "`` is one order, paid and commissioned once, and the refund of ``WH-7`` reverses it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.ledger.models import Posting, PostingKind
from neigou.orders.import_rows import parse_jsonl
from neigou.orders.inputs import OrderIn
from neigou.orders.models import Order
from neigou.orders.schemas import sku_text
from tests.orders.builders import PAID_AT, SKU, World, assert_ledger_balanced, build, order_body, post_order
from tests.orders.import_files import import_orders


def _webhook(client: TestClient, operator: dict[str, str], w: World) -> Any:
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    sent = iter(range(50, 0, -1))

    def send(kind: str, data: dict[str, Any]) -> Any:
        raw = json.dumps({"type": kind, "data": data}).encode()
        secret, integration = shop.json()["inbound_secret"], shop.json()["id"]
        headers = signing.headers(secret, utcnow() - timedelta(seconds=next(sent)), raw)
        return client.post(
            f"/webhooks/v1/integrations/{integration}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )

    return send


def _line(w: World, external_id: object, **fields: Any) -> str:
    body = {**order_body(w, "x"), "external_id": external_id, **fields}
    return json.dumps({k: v for k, v in body.items() if k != "program_id"})


def _counts(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with factory() as session:
        kinds = [PostingKind.COMMISSION_EARNED, PostingKind.COMMISSION_REVERSED]
        earned, reversed_ = (
            session.scalar(select(func.count()).select_from(Posting).where(Posting.kind == kind))
            for kind in kinds
        )
        return session.scalar(select(func.count()).select_from(Order)) or 0, earned or 0, reversed_ or 0


def test_a_jsonl_id_with_spaces_is_the_order_a_webhook_stored(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    send = _webhook(client, operator, w)
    paid = {k: v for k, v in order_body(w, "WH-7").items() if k != "program_id"}
    taken = send("order.paid", paid)
    assert taken.status_code == 201, taken.text
    assert _counts(factory) == (1, 1, 0)
    path = tmp_path / "orders.jsonl"
    path.write_text(_line(w, " WH-7 ") + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert report.errors == []
    assert _counts(factory) == (1, 1, 0)  # the same sale: no second order, no second commission
    refund = {"external_id": "WH-7", "refund_id": "r-1", "amount_fen": 10_000, "at": PAID_AT.isoformat()}
    refunded = send("order.refunded", refund)
    assert refunded.status_code == 201, refunded.text
    assert _counts(factory) == (1, 1, 1)  # the one commission reversed: none left standing
    assert_ledger_balanced(factory)


def test_a_jsonl_id_with_spaces_is_the_order_the_api_stored(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "API-1"))
    path = tmp_path / "orders.jsonl"
    spaced = _line(w, "\tAPI-1 ", customer_ref=" shopper-1 ", link_code=f" {w.link} ")
    path.write_text(spaced + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert report.errors == []  # the same terms: a retry, not external_id_reused
    assert _counts(factory) == (1, 1, 0)
    with factory() as session:
        assert list(session.scalars(select(Order.external_id))) == ["API-1"]


def test_a_jsonl_line_reads_its_text_fields_as_a_table_row_does() -> None:
    line = json.dumps(
        {
            "external_id": " J-1 ",
            "customer_ref": " shopper-1\t",
            "link_code": " aB3xY9 ",
            "paid_at": PAID_AT.isoformat(),
            "items": [{"sku": f" {SKU} ", "quantity": 1, "paid_fen": 100}],
        }
    )
    [(order, _)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(order, OrderIn)
    assert (order.external_id, order.customer_ref, order.link_code) == ("J-1", "shopper-1", "aB3xY9")
    assert order.items[0].sku == SKU


def test_a_jsonl_whole_number_id_is_its_digits_as_on_the_api() -> None:
    line = json.dumps(
        {"external_id": 7007, "customer_ref": 13812345678, "paid_at": PAID_AT.isoformat(), "items": []}
    )
    [(order, _)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(order, OrderIn)
    assert (order.external_id, order.customer_ref) == ("7007", "13812345678")


@pytest.mark.parametrize("value", [True, [1], {"id": 1}])
@pytest.mark.parametrize("field", ["external_id", "customer_ref", "link_code"])
def test_a_jsonl_field_that_is_no_text_is_refused_as_the_api_refuses_it(field: str, value: object) -> None:
    body: dict[str, Any] = {
        "external_id": "J-1",
        "customer_ref": "shopper-1",
        "paid_at": PAID_AT.isoformat(),
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": 100}],
    }
    [(error, _)] = list(parse_jsonl([json.dumps({**body, field: value})], program_id=1))
    assert not isinstance(error, OrderIn)
    assert (error.code, error.column) == ("parse_error", field)
    assert str(error.message) == f"Row 1: {field} must be text."


@pytest.mark.parametrize("field", ["external_id", "customer_ref"])
def test_a_jsonl_null_id_names_nothing_rather_than_none(field: str) -> None:
    body = {"external_id": "J-1", "customer_ref": "shopper-1", "paid_at": PAID_AT.isoformat(), "items": []}
    [(order, _)] = list(parse_jsonl([json.dumps({**body, field: None})], program_id=1))
    assert isinstance(order, OrderIn)
    assert getattr(order, field) == ""  # refused as an empty id by the face checks, never "None"


@pytest.mark.parametrize("sku", [12345, 12345.0, 1e10, None, True, [SKU]])
def test_a_jsonl_sku_that_is_no_text_is_refused_as_the_api_refuses_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], sku: object
) -> None:
    """A whole number is no sku's text to the API (unlike an id, read as its digits): a JSON line's line
    reads its sku by the same function (``orders.schemas.sku_text``), so a file and the API agree."""
    w = build(client, operator, factory)
    items = [{"sku": sku, "quantity": 1, "paid_fen": 100}]
    post_order(client, operator, {**order_body(w, "API-SKU"), "items": items}, status=422)
    line = json.dumps(
        {
            "external_id": "J-1",
            "customer_ref": "shopper-1",
            "paid_at": PAID_AT.isoformat(),
            "items": [{"sku": sku, "quantity": 1, "paid_fen": 100}],
        }
    )
    [(error, _)] = list(parse_jsonl([line], program_id=1))
    assert not isinstance(error, OrderIn)
    assert (error.code, error.column) == ("parse_error", "items.0.sku")
    assert str(error.message) == "Row 1: items.0.sku must be text."
    assert "12345" not in str(error.message)


def test_a_jsonl_sku_is_trimmed_by_the_apis_own_rule() -> None:
    line = json.dumps(
        {
            "external_id": "J-1",
            "customer_ref": "shopper-1",
            "paid_at": PAID_AT.isoformat(),
            "items": [{"sku": f"\u3000{SKU}\t ", "quantity": 1, "paid_fen": 100}],
        }
    )
    [(order, _)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(order, OrderIn)
    assert order.items[0].sku == sku_text(f"\u3000{SKU}\t ") == SKU

"""An id sent as a JSON number with a point or an exponent, or as text in any exponent form, is refused
("write ids as text") on the API, the webhook and a JSON-lines file alike (``kit.json_ids``,
``kit.text_markers.EXPONENT_NUMBER``): read as its float's digits, ``13812345678.0`` would be another
customer than ``13812345678`` (another attribution, customer book, opt-out and per-customer limit). A JSON
whole number stays its digits: the same customer as the same digits written as text."""

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
from neigou.kit.text_markers import exponent_number
from neigou.orders.import_rows import parse_jsonl
from neigou.orders.inputs import OrderIn
from neigou.orders.models import Order
from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, SKU, World, build, order_body, post_order
from tests.orders.import_files import import_orders

FLOATS: list[Any] = [13812345678.0, 1.3812345679e10, 1e10, 0.5]
EXPONENT_TEXTS = ["1.3812345678e10", "1.3812345678E10", "1E10", "1e+10", "5e-1", "2.34568E+18"]


@pytest.mark.parametrize("text", EXPONENT_TEXTS)
def test_every_exponent_form_is_an_exponent_number(text: str) -> None:
    assert exponent_number(text)


@pytest.mark.parametrize("text", ["13812345678", "E10", "1.5", "JD-1E10X", "e5", "1e", "openid-e1"])
def test_no_other_text_is_one(text: str) -> None:
    assert not exponent_number(text)


@pytest.mark.parametrize("ref", [*FLOATS, *EXPONENT_TEXTS])
def test_the_api_refuses_a_customer_ref_as_a_float(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], ref: object
) -> None:
    w = build(client, operator, factory, max_levels=2)
    before = row_counts(factory)
    answer = client.post(
        "/api/v1/orders", json={**order_body(w, "F-1"), "customer_ref": ref}, headers=operator
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_customer_ref"), answer.text
    assert "请把编号写成文本" in answer.json()["detail"]  # "write ids as text"
    assert "3812345678" not in answer.text  # the value is never quoted back
    assert "2.34568" not in answer.text
    assert row_counts(factory) == before


def test_the_api_refuses_an_external_id_as_a_float(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    answer = client.post(
        "/api/v1/orders", json={**order_body(w, "x"), "external_id": 300001.0}, headers=operator
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_external_id"), answer.text


def test_a_whole_number_is_the_customer_its_digits_name(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    first = post_order(client, operator, {**order_body(w, "N-1"), "customer_ref": 13812345678})
    again = client.post(
        "/api/v1/orders", json={**order_body(w, "N-1"), "customer_ref": "13812345678"}, headers=operator
    )
    assert (again.status_code, again.json()["id"]) == (200, first["id"])  # a retry: the same customer


def test_the_webhook_refuses_a_customer_ref_as_a_float(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    data = {k: v for k, v in order_body(w, "WF-1").items() if k != "program_id"}
    before = row_counts(factory)
    for n, ref in enumerate([13812345678.0, "1.3812345678e10"]):
        raw = json.dumps({"type": "order.paid", "data": {**data, "customer_ref": ref}}).encode()
        headers = signing.headers(shop.json()["inbound_secret"], utcnow() - timedelta(seconds=30 - n), raw)
        answer = client.post(
            f"/webhooks/v1/integrations/{shop.json()['id']}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_customer_ref"), answer.text
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0
    assert row_counts(factory)["orders"] == before["orders"]


def _line(w: World, external_id: str, customer_ref: object) -> str:
    body = {**order_body(w, external_id), "customer_ref": customer_ref}
    return json.dumps({k: v for k, v in body.items() if k != "program_id"})


def test_a_jsonl_file_refuses_a_customer_ref_as_a_float(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    path = tmp_path / "orders.jsonl"
    refs: list[object] = [13812345678.0, "1.3812345678e10", 1.3812345679e10, 13812345678]
    lines = [_line(w, f"J-{n}", ref) for n, ref in enumerate(refs, start=1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_orders(factory, path, program_id=w.program_id)
    assert [(e.row, e.code) for e in report.errors] == [(n, "invalid_customer_ref") for n in (1, 2, 3)]
    assert "write ids as text" in str(report.errors[0].message)
    with factory() as session:
        assert list(session.scalars(select(Order.external_id))) == ["J-4"]


def test_a_jsonl_external_id_as_a_float_is_refused_as_on_the_api() -> None:
    line = json.dumps(
        {"external_id": 300001.0, "customer_ref": "c", "paid_at": PAID_AT.isoformat(), "items": []}
    )
    [(order, _)] = list(parse_jsonl([line], program_id=1))
    assert isinstance(order, OrderIn)
    assert exponent_number(order.external_id)  # refused invalid_external_id by the face checks


def test_a_jsonl_number_that_is_not_finite_is_no_customer() -> None:
    item = {"sku": SKU, "quantity": 1, "paid_fen": 100}
    line = f'{{"external_id": "J-1", "customer_ref": NaN, "paid_at": "{PAID_AT.isoformat()}", "items": [{json.dumps(item)}]}}'
    [(error, _)] = list(parse_jsonl([line], program_id=1))
    assert not isinstance(error, OrderIn)
    assert error.code == "parse_error"


@pytest.mark.parametrize("text", ["-1E5", "-1.3812345678000000e+10", "+1e5"])
def test_a_signed_exponent_form_is_one_too(text: str) -> None:
    assert exponent_number(text)


def test_a_negative_float_customer_ref_is_refused_on_the_api(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    answer = client.post(
        "/api/v1/orders", json={**order_body(w, "F-1"), "customer_ref": -13812345678.0}, headers=operator
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid_customer_ref"), answer.text


def test_a_jsonl_float_sku_is_a_row_error() -> None:
    item = {"sku": 12.5, "quantity": 1, "paid_fen": 100}
    line = json.dumps(
        {"external_id": "J-1", "customer_ref": "c", "paid_at": PAID_AT.isoformat(), "items": [item]}
    )
    [(error, _)] = list(parse_jsonl([line], program_id=1))
    assert not isinstance(error, OrderIn)
    assert error.code == "parse_error"


def _webhook(client: TestClient, shop: dict[str, Any], kind: str, data: dict[str, Any], n: int) -> Any:
    raw = json.dumps({"type": kind, "data": data}).encode()
    headers = signing.headers(shop["inbound_secret"], utcnow() - timedelta(seconds=30 - n), raw)
    return client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=raw,
        headers={**headers, "content-type": "application/json"},
    )


def test_a_float_id_in_a_completion_or_refund_is_refused_as_text_asked_for(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    post_order(client, operator, order_body(w, "13812345678"))
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    ).json()
    before = row_counts(factory)
    sent: list[tuple[str, dict[str, Any], str]] = [
        ("order.completed", {"external_id": 13812345678.0}, "invalid_external_id"),
        (
            "order.refunded",
            {"external_id": 13812345678.0, "refund_id": "R-1", "amount_fen": 1},
            "invalid_external_id",
        ),
        (
            "order.refunded",
            {"external_id": "13812345678", "refund_id": 300001.0, "amount_fen": 1},
            "invalid_refund_id",
        ),
    ]
    for n, (kind, data, code) in enumerate(sent):
        answer = _webhook(client, shop, kind, data, n)
        assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text
        assert "请把编号写成文本" in answer.json()["detail"]
        assert "3812345678" not in answer.text
    api = client.post(
        f"/api/v1/orders/13812345678/refunds?program_id={w.program_id}",
        json={"refund_id": -300001.0, "amount_fen": 1},
        headers=operator,
    )
    assert (api.status_code, api.json()["code"]) == (422, "invalid_refund_id"), api.text
    counts = row_counts(factory)
    assert (counts["orders"], counts["refunds"]) == (before["orders"], before["refunds"])

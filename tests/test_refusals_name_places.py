"""A refusal of an unknown sku, share link, coupon or event type names where it was (the field, the
item's index), never what was sent there: a phone number typed into a sku's or a link code's field
would go on to the problem's reader, the logs and the import's error report. The codes stay."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from string import Formatter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.orders.inputs import ItemIn, OrderIn, shape_error
from tests.conftest import row_counts
from tests.factories import create_program
from tests.orders.builders import SKU, build, order_body, post_order

PHONE = "13812345678"


def _assert_quiet(response: Any, status: int, code: str, *places: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    assert PHONE not in response.text
    for place in places:
        assert place in problem["detail"]
    return problem


def test_unknown_skus_links_and_coupons_are_refused_by_their_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    before = row_counts(factory)
    quote = {"items": [{"sku": SKU, "quantity": 1}, {"sku": PHONE, "quantity": 1}]}
    unknown = _assert_quiet(
        client.post("/api/v1/quotes", json=quote, headers=operator), 422, "unknown_sku", "items[1]"
    )
    assert (unknown["field"], unknown["indexes"]) == ("items", [1])
    coupons = {"items": [{"sku": SKU, "quantity": 1}], "coupon_ids": [int(PHONE)]}
    _assert_quiet(
        client.post("/api/v1/quotes", json=coupons, headers=operator), 422, "unknown_coupon", "coupon_ids[0]"
    )
    linked = {"link_code": PHONE, "items": [{"sku": SKU, "quantity": 1}]}
    _assert_quiet(
        client.post("/api/v1/quotes", json=linked, headers=operator), 422, "unknown_link", "link_code"
    )
    link = {"member_id": w.seller, "sku": PHONE}
    _assert_quiet(client.post("/api/v1/links", json=link, headers=operator), 422, "unknown_sku", "sku")
    order = order_body(w, "O-PHONE", (SKU, 1, 1000), (PHONE, 1, 1000))
    _assert_quiet(client.post("/api/v1/orders", json=order, headers=operator), 422, "unknown_sku", "items[1]")
    linked_order = order_body(w, "O-LINK", link=PHONE)
    _assert_quiet(client.post("/api/v1/orders", json=linked_order, headers=operator), 422, "unknown_link")
    product = {
        "sku": "P-1",
        "title": "洗发水",
        "price_fen": 100,
        "commission_rate_bp": 100,
        "brand_code": "b138",
    }
    _assert_quiet(
        client.post("/api/v1/products", json=product, headers=operator), 422, "unknown_brand", "brand_code"
    )
    _assert_quiet(client.get(f"/api/v1/orders/{PHONE}", headers=operator), 404, "order_not_found")
    assert row_counts(factory) == before


def test_a_code_or_external_id_taken_is_refused_by_its_field(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A code that names a program, brand, category or merchant already, an external id of another
    order's terms or of orders in several programs: the refusal names the field, never what was sent
    there (a phone number typed into a code's field)."""
    w = build(client, operator, factory)
    english = {**operator, "Accept-Language": "en"}
    create_program(client, operator, code=PHONE)
    program = client.post("/api/v1/programs", json={"code": PHONE, "name": "again"}, headers=english)
    taken = _assert_quiet(program, 409, "program_code_taken", "code")
    assert (taken["detail"], taken["field"]) == ("code names a program that exists already.", "code")
    for kind, code in (("brands", "brand_code_taken"), ("categories", "category_code_taken")):
        made = client.post(f"/api/v1/{kind}", json={"code": PHONE, "name": "x"}, headers=operator)
        assert made.status_code == 201, made.text
        again = client.post(f"/api/v1/{kind}", json={"code": PHONE, "name": "y"}, headers=operator)
        assert _assert_quiet(again, 409, code, "code")["field"] == "code"
    merchant = {"code": PHONE, "name": "澜泉"}
    assert client.post("/api/v1/merchants", json=merchant, headers=operator).status_code == 201
    again = client.post("/api/v1/merchants", json=merchant, headers=operator)
    assert _assert_quiet(again, 409, "merchant_code_taken", "code")["field"] == "code"
    post_order(client, operator, order_body(w, PHONE))
    other = order_body(w, PHONE, (SKU, 2, 2000))
    reused = client.post("/api/v1/orders", json=other, headers=operator)
    assert _assert_quiet(reused, 409, "external_id_reused", "external_id")["field"] == "external_id"
    second = create_program(client, operator, code="second")
    post_order(
        client, operator, {**order_body(w, PHONE, link=""), "program_id": second["id"], "link_code": None}
    )
    ambiguous = client.post(f"/api/v1/orders/{PHONE}/complete", json={}, headers=english)
    problem = _assert_quiet(ambiguous, 409, "ambiguous_external_id", "external_id")
    assert problem["detail"] == "external_id names orders in several programs: pass program_id."


def test_a_partners_unknown_event_type_is_not_repeated(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    made = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    assert made.status_code == 201, made.text
    shop = made.json()
    before = row_counts(factory)
    body = json.dumps({"type": f"order.{PHONE}", "data": {}}).encode()
    refused = client.post(
        f"/webhooks/v1/integrations/{shop['id']}",
        content=body,
        headers={
            **signing.headers(shop["inbound_secret"], utcnow(), body),
            "content-type": "application/json",
        },
    )
    _assert_quiet(refused, 422, "unknown_event", "type")
    assert row_counts(factory) == before


def test_an_off_sale_or_out_of_scope_sku_is_refused_by_its_place(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A product that is off sale, or an event price for a sku outside the promotion, is refused by the
    field and the item's index; the sku sent (here a phone number, a product's real sku) is not repeated."""
    w = build(client, operator, factory)
    made = client.post(
        "/api/v1/products",
        json={"sku": PHONE, "title": "下架品", "price_fen": 100, "commission_rate_bp": 100, "active": False},
        headers=operator,
    )
    assert made.status_code == 201, made.text
    before = row_counts(factory)
    quote = {
        "items": [{"sku": SKU, "quantity": 1}, {"sku": PHONE, "quantity": 1}, {"sku": PHONE, "quantity": 2}]
    }
    inactive = _assert_quiet(
        client.post("/api/v1/quotes", json=quote, headers=operator), 422, "product_inactive", "items[1]"
    )
    assert (inactive["field"], inactive["indexes"]) == ("items", [1, 2])
    link = {"member_id": w.seller, "sku": PHONE}
    _assert_quiet(client.post("/api/v1/links", json=link, headers=operator), 422, "product_inactive", "sku")
    english = client.post("/api/v1/quotes", json=quote, headers={**operator, "Accept-Language": "en"})
    assert english.json()["detail"] == "items[1] names a product that is not on sale."
    promotion = {
        "name": "活动价",
        "kind": "event_price",
        "params": {"prices": {SKU: 100, PHONE: 50}},
        "skus": [SKU],
        "starts_at": "2030-01-01T00:00:00+08:00",
        "ends_at": "2030-01-08T00:00:00+08:00",
    }
    scoped = _assert_quiet(
        client.post("/api/v1/promotions", json=promotion, headers=operator),
        422,
        "price_out_of_scope",
        "params.prices[1]",
    )
    assert (scoped["field"], scoped["indexes"]) == ("params.prices", [1])
    assert row_counts(factory) == before
    planned = client.post(
        "/api/v1/promotions", json={**promotion, "params": {"prices": {SKU: 100}}}, headers=operator
    )
    assert planned.status_code == 201, planned.text
    edit = {"params": {"prices": {PHONE: 50, SKU: 90}}}
    edited = _assert_quiet(
        client.patch(f"/api/v1/promotions/{planned.json()['id']}", json=edit, headers=operator),
        422,
        "price_out_of_scope",
        "params.prices[0]",
    )
    assert (edited["field"], edited["indexes"]) == ("params.prices", [0])


def test_an_unknown_event_priced_sku_is_refused_at_its_place_in_params_prices(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """An unknown sku among a promotion's event prices is named by its place in ``params.prices`` (where
    it was sent), not as ``skus[i]``, with ``field`` and ``indexes``."""
    build(client, operator, factory)
    before = row_counts(factory)
    promotion = {
        "name": "活动价",
        "kind": "event_price",
        "params": {"prices": {SKU: 100, PHONE: 50}},
        "starts_at": "2030-01-01T00:00:00+08:00",
        "ends_at": "2030-01-08T00:00:00+08:00",
    }
    english = {**operator, "Accept-Language": "en"}
    unknown = _assert_quiet(
        client.post("/api/v1/promotions", json=promotion, headers=english),
        422,
        "unknown_sku",
        "params.prices[1]",
    )
    assert (unknown["field"], unknown["indexes"]) == ("params.prices", [1])
    assert unknown["detail"] == "params.prices[1] names no product."
    assert row_counts(factory) == before


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("item", "total", "code", "detail"),
    [
        (ItemIn(PHONE, 0, 100), None, "invalid_quantity", "items[1].quantity must be at least 1."),
        (ItemIn(PHONE, 1, -1), None, "invalid_amount", "items[1].paid_fen must be 0 to 10000000000 fen."),
        (
            ItemIn(PHONE, 1, 100),
            int(PHONE),
            "inconsistent_amounts",
            "total_fen is not the sum of the lines' paid_fen.",
        ),
    ],
)
def test_an_orders_bad_line_is_named_by_its_place(
    item: ItemIn, total: int | None, code: str, detail: str
) -> None:
    """A line's quantity or amount, or a total that is not the lines' sum, is refused by the line's index
    and field, never by the sku or the amount sent (a phone number typed in the wrong column)."""
    order = OrderIn("O-1", 1, "c", None, (ItemIn(SKU, 1, 100), item), utcnow(), total_fen=total)
    error = shape_error(order)
    assert error is not None
    assert (error.code, str(error.message)) == (code, detail)
    assert PHONE not in str(error.message)


# Any refusal, whatever its code: a placeholder or an ``extra`` member that holds a sku (named or read as
# ``sku``/``skus``: ``sku=item.sku``, ``skus=", ".join(missing)``, ``{"skus": others}``) or a field of the
# entry sent (``total_fen=order.total_fen``, ``item.quantity``) repeats what was typed. Only a product the
# refusal found by its id may be named by its own sku (``sku=product.sku``), as a record by its ``.id``.
SRC = Path(__file__).resolve().parents[1] / "src" / "neigou"
# A place (as ``tests.test_exception_texts.PLACE``): an item's index, a row's number, a field, a limit.
PLACE = re.compile(r"(?i)(?:^|_)(?:rows?|lines?|index|indexes|items?|n|numbers?|fields?|columns?|max_\w+)$")
SKU_NAME = re.compile(r"(?i)(?:^|_)skus?$")
ENTRY = re.compile(r"(?i)^(?:order|item|line|entry|data|body|params)$")
AMOUNT = re.compile(r"(?i)(?:^|_)(?:quantity|fen)$")


def _holds_what_was_sent(name: str, value: ast.expr) -> bool:
    if PLACE.search(name) or (isinstance(value, ast.Attribute) and value.attr == "id"):
        return False  # a place, or a record found, by its own id
    counted = {
        id(inner)
        for outer in ast.walk(value)
        if isinstance(outer, ast.Subscript)
        or (isinstance(outer, ast.Call) and isinstance(outer.func, ast.Name) and outer.func.id == "len")
        for inner in ast.walk(outer.slice if isinstance(outer, ast.Subscript) else outer)
    }
    for node in ast.walk(value):
        if id(node) in counted:
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "product" and node.attr == "sku":
                continue  # a product found by its id, named by its own sku
            if ENTRY.search(node.value.id) and AMOUNT.search(node.attr):
                return True
            if SKU_NAME.search(node.attr):
                return True
        if isinstance(node, ast.Name) and SKU_NAME.search(node.id):
            return True
    return SKU_NAME.search(name) is not None and not (
        isinstance(value, ast.Attribute) and value.attr == "sku"
    )


def _refusal_quotes(path: Path, tree: ast.AST) -> list[str]:
    """The placeholders and ``extra`` members of refusals (a ``Message`` handed to an exception, a
    ``RowError`` or a problem, or returned with its code) that hold a sku or a field of the entry sent."""
    found = []
    for outer in ast.walk(tree):
        parts = [*outer.args, *(k.value for k in outer.keywords)] if isinstance(outer, ast.Call) else []
        parts += outer.elts if isinstance(outer, ast.Tuple) else []
        for call in parts:
            if not (
                isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Message"
            ):
                continue
            template = call.args[0] if call.args else None
            if not (isinstance(template, ast.Constant) and isinstance(template.value, str)):
                continue
            placed = {re.split(r"[.\[]", f)[0] for _, f, _, _ in Formatter().parse(template.value) if f}
            found += [
                f"{path.relative_to(SRC)}:{call.lineno} {k.arg}={ast.unparse(k.value)}"
                for k in call.keywords
                if k.arg is not None and k.arg in placed and _holds_what_was_sent(k.arg, k.value)
            ]
        if not isinstance(outer, ast.Call):
            continue
        extra = next((k.value for k in outer.keywords if k.arg == "extra"), None)
        if isinstance(extra, ast.Dict):
            found += [
                f"{path.relative_to(SRC)}:{outer.lineno} extra {key.value}"
                for key, value in zip(extra.keys, extra.values, strict=True)
                if isinstance(key, ast.Constant)
                and isinstance(key.value, str)
                and _holds_what_was_sent(key.value, value)
            ]
    return found


@pytest.mark.no_database
def test_no_refusal_quotes_a_sku_or_an_amount_sent() -> None:
    """``Sku 13812345678 is in no live campaign``, ``Quantity of 13812345678 must be at least 1``: whatever
    the refusal's code, a sku or an amount sent is what was typed. The refusal names its place instead."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += _refusal_quotes(path, ast.parse(path.read_text(encoding="utf-8")))
    assert found == []

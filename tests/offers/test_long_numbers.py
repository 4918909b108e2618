"""Whole numbers and amounts of any length typed into the catalog import, the offers forms and the quote
preview: past 18 digits (``int()`` raises past 4300), in other digits (``²``) or with an exponent no
amount has, each is refused as the field's bad number, never a 500 and never quoted back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.ids import whole_number
from neigou.offers.amounts import AmountError, percent_to_bp, yuan_to_fen
from tests.conftest import row_counts
from tests.offers.factories import product
from tests.sign_in import console_sign_in

HUGE = "9" * 5000
LONG = "1" + "0" * 18  # 19 digits


def test_whole_numbers_are_ascii_digits_of_bounded_length() -> None:
    assert whole_number(" 42 ") == 42
    assert whole_number("9" * 18) == 10**18 - 1
    assert whole_number("-3", signed=True) == -3
    for text in ("", "-3", "+3", "1_000", "²", "١٢", "1 2", LONG, HUGE):
        assert whole_number(text) is None, text
    assert whole_number("-" + HUGE, signed=True) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1e999999999", "invalid_amount"),  # was decimal.Overflow
        (HUGE, "invalid_amount"),
        ("1" + "0" * 18, "invalid_amount"),
        ("1e-999999999", "too_many_decimals"),  # was 0 fen
        ("1.0000000000000000000000000001", "too_many_decimals"),  # was 100 fen
    ],
)
def test_amounts_past_their_digits_are_refused(text: str, code: str) -> None:
    for parse in (yuan_to_fen, percent_to_bp):
        with pytest.raises(AmountError) as refused:
            parse(text)
        assert refused.value.code == code
    assert yuan_to_fen("9" * 18) == (10**18 - 1) * 100
    assert yuan_to_fen("49.900") == 4990


def _errors(page: str) -> str:
    """The page's list of errors (the form itself shows again what was typed)."""
    return page.split('data-testid="form-errors"', 1)[1].split("</div>", 1)[0]


def _import(client: TestClient, operator: dict[str, str], header: str, row: str) -> Any:
    content = f"sku,title,{header}\nA-1,t,{row}\n".encode()
    files = {"file": ("catalog.csv", content, "text/csv")}
    return client.post("/api/v1/products/import", files=files, headers=operator)


@pytest.mark.parametrize(
    "case",
    [
        ("price_fen,commission_rate_bp", f"{HUGE},100", "price_fen", "invalid_integer"),
        ("price_fen,commission_rate_bp", f"100,{HUGE}", "commission_rate_bp", "invalid_integer"),
        ("price_fen,commission_rate_bp", f"{LONG},100", "price_fen", "invalid_integer"),
        ("price_fen,commission_rate_bp", "²,100", "price_fen", "invalid_integer"),
        ("price_yuan,commission_rate_bp", "1e999999999,100", "price_yuan", "invalid_amount"),
        ("price_yuan,commission_rate_bp", f"{HUGE},100", "price_yuan", "invalid_amount"),
    ],
)
def test_the_import_refuses_over_long_numbers_by_row_and_column(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    case: tuple[str, str, str, str],
) -> None:
    header, row, field, code = case
    before = row_counts(factory)
    refused = _import(client, operator, header, row)
    assert refused.status_code == 422, refused.text[:300]
    [error] = refused.json()["errors"]
    assert (error["row"], error["field"], error["code"]) == (2, field, code)
    assert "99999" not in refused.text
    assert "1e999999999" not in refused.text
    assert row_counts(factory) == before


COUPON = {
    "name": "券",
    "kind": "amount_off",
    "value": "1",
    "min_spend_yuan": "",
    "visibility": "public",
    "skus": "",
    "total_quantity": "10",
    "per_customer_limit": "1",
    "starts_at": "2026-03-24T10:00",
    "ends_at": "2026-04-24T10:00",
}
PROMOTION = {
    "name": "满10件1.1折",
    "kind": "quantity_discount",
    "min_quantity": "10",
    "pay_rate_percent": "11",
    "priority": "1",
    "starts_at": "2026-03-24T10:00",
    "ends_at": "2026-04-24T10:00",
}


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/console/coupons/new", COUPON, "total_quantity"),
        ("/console/coupons/new", COUPON, "per_customer_limit"),
        ("/console/promotions/new", PROMOTION, "min_quantity"),
        ("/console/promotions/new", PROMOTION, "priority"),
    ],
)
def test_the_offer_forms_refuse_over_long_whole_numbers(
    client: TestClient, factory: sessionmaker[Session], path: str, form: dict[str, str], field: str
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    for typed in (HUGE, LONG, "-" + HUGE, "²"):
        refused = client.post(path, data={**form, field: typed})
        assert refused.status_code == 422, (field, typed[:5], refused.status_code)
        assert f'data-testid="error-{field}" data-code="invalid_integer"' in refused.text
        assert "99999" not in _errors(refused.text)
    assert row_counts(factory) == before


def test_the_product_form_refuses_an_amount_past_its_digits(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    for typed in ("1e999999999", HUGE):
        refused = client.post(
            "/console/products/new",
            data={"sku": "NEW-1", "title": "x", "price_yuan": typed, "commission_percent": typed},
        )
        assert refused.status_code == 422
        assert 'data-code="invalid_amount"' in refused.text
        assert "99999" not in _errors(refused.text)
    assert row_counts(factory) == before


@pytest.mark.parametrize("typed", ["²", HUGE, "9" * 23, "-1", "abc"])
def test_the_quote_preview_refuses_a_coupon_that_is_not_an_id(
    client: TestClient, factory: sessionmaker[Session], operator: dict[str, str], typed: str
) -> None:
    console_sign_in(client, factory)
    product(client, operator, "LQ-SHAMPOO-500", 4990)
    data = {"sku": ["LQ-SHAMPOO-500"], "quantity": ["1"], "coupon_id": ["", typed]}
    refused = client.post("/console/quote", data=data)
    assert refused.status_code == 422
    assert 'data-code="unknown_coupon"' in _errors(refused.text)
    assert "99999" not in _errors(refused.text)

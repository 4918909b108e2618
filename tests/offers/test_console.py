"""The offers console screens with an operator session: lists, forms that post back errors, quote preview."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.offers.factories import coupon, garments, post, product, promotion
from tests.sign_in import console_sign_in


@pytest.fixture
def console(client: TestClient, factory: sessionmaker[Session]) -> TestClient:
    """The test client signed in to the console."""
    console_sign_in(client, factory)
    return client


def test_pages_need_a_session(client: TestClient) -> None:
    for path in ("/console/products", "/console/coupons", "/console/promotions", "/console/quote"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console/login")


def test_lists_show_the_catalog_and_offers(console: TestClient, operator: dict[str, str]) -> None:
    post(console, operator, "brands", {"code": "yiduo", "name": "衣朵"})
    product(console, operator, "YD-TEE", 5900, title="衣朵 纯棉圆领T恤", brand_code="yiduo")
    coupon(console, operator, 2500, name="群内专享券", visibility="hidden")
    promotion(
        console,
        operator,
        {"kind": "quantity_discount", "params": {"min_quantity": 10, "pay_rate_bp": 1100}},
        name="满10件1.1折",
    )
    products = console.get("/console/products").text
    assert 'data-testid="products"' in products
    assert "衣朵 纯棉圆领T恤" in products
    assert "¥59.00" in products
    assert "20%" in products
    assert "商品与优惠" in products
    coupons = console.get("/console/coupons").text
    assert 'data-testid="coupons"' in coupons
    assert "群内专享券" in coupons
    assert "隐藏券" in coupons
    promotions = console.get("/console/promotions?lang=en").text
    assert 'data-testid="promotions"' in promotions
    assert "10+ items pay 11%" in promotions
    searched = console.get("/console/products?q=牛仔").text
    assert "衣朵 纯棉圆领T恤" not in searched


def test_product_form_creates_and_edits(console: TestClient, factory: sessionmaker[Session]) -> None:
    form = {"sku": "LQ-SHAMPOO-500", "title": "澜泉 氨基酸控油洗发水 500ml", "price_yuan": "49.90"}
    created = console.post(
        "/console/products/new",
        data={**form, "commission_percent": "20", "active": "on"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    listing = console.get(created.headers["location"]).text
    assert "¥49.90" in listing
    product_id = re.search(r"/console/products/(\d+)/edit", listing)
    assert product_id is not None
    edit_path = f"/console/products/{product_id.group(1)}/edit"
    page = console.get(edit_path).text
    assert 'value="49.90"' in page
    assert 'value="20"' in page
    saved = console.post(
        edit_path,
        data={"title": "澜泉 洗发水 新包装", "price_yuan": "45", "commission_percent": "12.5"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    after = console.get("/console/products").text
    assert "澜泉 洗发水 新包装" in after
    assert "¥45.00" in after
    assert "12.5%" in after
    assert "已下架" in after  # the unchecked box takes it off sale


def test_form_errors_are_shown_with_codes_and_write_nothing(
    console: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    product(console, operator, "TAKEN", 100)
    before = row_counts(factory)
    bad = console.post(
        "/console/products/new",
        data={"sku": "NEW-1", "title": "", "price_yuan": "12.345", "commission_percent": "abc"},
    )
    assert bad.status_code == 422
    assert 'data-testid="form-errors"' in bad.text
    for code in ("required", "too_many_decimals", "invalid_amount"):
        assert f'data-code="{code}"' in bad.text
    assert "小数位过多" in bad.text
    assert 'value="NEW-1"' in bad.text  # what was typed is kept
    taken = console.post(
        "/console/products/new?lang=en",
        data={"sku": "TAKEN", "title": "x", "price_yuan": "1", "commission_percent": "1"},
    )
    assert taken.status_code == 422
    assert 'data-code="sku_taken"' in taken.text
    assert "This sku exists already" in taken.text
    coupon_form = console.post(
        "/console/coupons/new",
        data={
            "name": "坏券",
            "kind": "percent_off",
            "value": "120",
            "visibility": "public",
            "total_quantity": "10",
            "per_customer_limit": "1",
            "starts_at": "2026-03-24T10:00",
            "ends_at": "2026-03-20T10:00",
            "skus": "NOPE",
        },
    )
    assert coupon_form.status_code == 422
    assert 'data-code="percent_out_of_range"' in coupon_form.text
    window = console.post(
        "/console/promotions/new",
        data={
            "name": "满10件1.1折",
            "kind": "quantity_discount",
            "min_quantity": "10",
            "pay_rate_percent": "11",
            "starts_at": "2026-03-24T10:00",
            "ends_at": "2026-03-20T10:00",
        },
    )
    assert window.status_code == 422
    assert 'data-code="invalid_window"' in window.text
    assert row_counts(factory) == before


def test_coupon_and_promotion_forms_create(console: TestClient, operator: dict[str, str]) -> None:
    product(console, operator, "LQ-SHAMPOO-500", 4990)
    made = console.post(
        "/console/coupons/new",
        data={
            "name": "洗发水隐藏券",
            "kind": "amount_off",
            "value": "25",
            "min_spend_yuan": "",
            "visibility": "hidden",
            "skus": "LQ-SHAMPOO-500",
            "total_quantity": "500",
            "per_customer_limit": "1",
            "starts_at": "2026-03-24T10:00",
            "ends_at": "2026-04-24T10:00",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    stored = console.get("/api/v1/coupons", headers=operator).json()[0]
    assert (stored["value"], stored["visibility"], stored["starts_at"]) == (
        2500,
        "hidden",
        "2026-03-24T02:00:00Z",
    )
    percent = {
        "name": "九折券",
        "kind": "percent_off",
        "value": "10",
        "min_spend_yuan": "",
        "visibility": "public",
    }
    percent |= {"skus": "", "total_quantity": "100", "per_customer_limit": "1"}
    percent |= {"starts_at": "2026-03-24T10:00", "ends_at": "2026-04-24T10:00"}
    assert console.post("/console/coupons/new", data=percent, follow_redirects=False).status_code == 303
    listing = console.get("/console/coupons").text
    assert "9折" in listing
    assert "2026-03-24 10:00" in listing
    assert "UTC" not in listing
    assert "10% off (pays 9/10)" in console.get("/console/coupons?lang=en").text
    event = console.post(
        "/console/promotions/new",
        data={
            "name": "内购会",
            "kind": "event_price",
            "event_prices": "LQ-SHAMPOO-500=29.90",
            "priority": "5",
            "exclusive": "on",
            "starts_at": "2026-03-24T10:00",
            "ends_at": "2026-03-25T10:00",
        },
        follow_redirects=False,
    )
    assert event.status_code == 303, event.text
    stored_promotion = console.get("/api/v1/promotions", headers=operator).json()[0]
    assert stored_promotion["params"] == {"prices": {"LQ-SHAMPOO-500": 2990}}
    assert (stored_promotion["priority"], stored_promotion["exclusive"]) == (5, True)


def test_quote_preview(console: TestClient, operator: dict[str, str]) -> None:
    product(console, operator, "LQ-SHAMPOO-500", 4990)
    garments(console, operator)
    hidden = coupon(console, operator, 2500, name="群内专享券", visibility="hidden")
    promotion(
        console, operator, {"kind": "quantity_discount", "params": {"min_quantity": 10, "pay_rate_bp": 1100}}
    )
    page = console.get("/console/quote")
    assert 'data-testid="quote-form"' in page.text
    rows = {"sku": ["LQ-SHAMPOO-500", "", "", "", ""], "quantity": ["1", "1", "1", "1", "1"]}
    at = {"at": "2026-03-24T20:00"}
    public = console.post("/console/quote", data={**rows, **at, "coupon_id": str(hidden["id"])})
    assert public.status_code == 200
    assert 'data-testid="quote-result"' in public.text
    assert 'data-fen="4990"' in public.text
    assert 'data-reason="link_required"' in public.text
    assert "隐藏券需通过分享链接使用" in public.text
    linked = console.post(
        "/console/quote", data={**rows, **at, "coupon_id": str(hidden["id"]), "via_link": "on"}
    )
    assert 'data-testid="quote-payable" data-fen="2490"' in linked.text
    assert "¥24.90" in linked.text
    ten = console.post("/console/quote", data={"sku": ["YD-TEE"], "quantity": ["10"], **at})
    assert 'data-fen="6490"' in ten.text
    unknown = console.post("/console/quote", data={"sku": ["NOPE"], "quantity": ["1"]})
    assert unknown.status_code == 422
    assert 'data-code="unknown_sku"' in unknown.text
    phone = console.post("/console/quote", data={"sku": ["YD-TEE"], "quantity": ["13812345678"]})
    assert phone.status_code == 422
    assert 'data-code="validation_error"' in phone.text
    shown = phone.text.split('data-testid="form-errors"', 1)[1].split("</div>", 1)[0]
    assert "第 1 行" in shown
    assert "13812345678" not in shown  # the form keeps what was typed; the refusal does not repeat it
    empty = console.post("/console/quote", data={"sku": [""], "quantity": ["0"], "at": "yesterday"})
    assert empty.status_code == 422
    assert 'data-code="invalid_datetime"' in empty.text


def test_csv_import_from_the_console(console: TestClient, factory: sessionmaker[Session]) -> None:
    bad = "sku,title,price_yuan,commission_rate_bp\nA-1,商品一,1,100\nA-2,商品二,-3,100\n".encode()
    before = row_counts(factory)
    refused = console.post("/console/products/import", files={"file": ("c.csv", bad, "text/csv")})
    assert refused.status_code == 422
    assert 'data-testid="import-errors"' in refused.text
    assert '<tr data-code="negative_amount"><td>3</td>' in refused.text
    assert row_counts(factory) == before
    good = "sku,title,price_yuan,commission_rate_bp\nA-1,商品一,1,100\n".encode()
    done = console.post("/console/products/import", files={"file": ("c.csv", good, "text/csv")})
    assert done.status_code == 200
    assert 'data-testid="import-result"' in done.text
    assert "商品一" in done.text


def test_coupon_form_sets_the_stacking_rule(console: TestClient, operator: dict[str, str]) -> None:
    form = console.get("/console/coupons/new").text
    assert 'data-testid="coupon-stacking"' in form
    assert "可叠加（每类券限一张）" in form
    created = console.post(
        "/console/coupons/new",
        data={
            "name": "独享券",
            "kind": "amount_off",
            "value": "10",
            "visibility": "public",
            "stacking": "exclusive",
            "total_quantity": "10",
            "per_customer_limit": "1",
            "starts_at": "2026-03-20T10:00",
            "ends_at": "2026-03-24T10:00",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    stored = console.get("/api/v1/coupons", headers=operator).json()
    assert [(c["name"], c["stacking"]) for c in stored] == [("独享券", "exclusive")]


def test_the_product_form_says_what_its_schema_refuses_in_the_pages_language(
    console: TestClient, factory: sessionmaker[Session]
) -> None:
    """A title of invisible marks, an address of another form, a brand code of other characters and a shop
    address too long are refused beside their fields in the page's language (``blank_name`` by its own code),
    never with pydantic's English (``String should match pattern…``)."""
    before = row_counts(factory)
    form = {
        "sku": "NEW-2",
        "title": "\u200b",
        "price_yuan": "1",
        "commission_percent": "1",
        "image_url": "ftp://x",
        "brand_code": "A B",
        "shop_url": "https://shop.example/" + "a" * 490,
    }
    chinese = console.post("/console/products/new", data=form)
    assert chinese.status_code == 422
    assert 'data-testid="error-title" data-code="blank_name">名称不能为空' in chinese.text
    assert (
        'data-testid="error-image_url" data-code="invalid_value">此处填写的格式不符合要求。' in chinese.text
    )
    assert "最多 500 个字符。" in chinese.text
    assert "should" not in chinese.text
    english = console.post("/console/products/new?lang=en", data=form)
    assert "This is not written in the form expected here." in english.text
    assert "should" not in english.text
    assert row_counts(factory) == before

"""The console's brands and categories page: each listed with its product count, a form to add each
that writes through the API's service (a taken code, an empty name or an overlong one refused beside
the field, what was typed kept, nothing saved), operators only, and one organization's rows only."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in, merchant_sign_in

PAGE = "/console/catalog"


def _counts(html: str, table: str) -> dict[str, str]:
    body = html.split(f'data-testid="{table}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-code="([^"]+)">.*?data-testid="count">(\d+)<', body, re.S)
    return dict(rows)


def test_brands_and_categories_are_listed_with_their_product_counts_and_added(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    for path, code in (("/api/v1/brands", "acme"), ("/api/v1/categories", "snacks")):
        assert (
            client.post(path, json={"code": code, "name": code.upper()}, headers=operator).status_code == 201
        )
    product = {"title": "薯片", "price_fen": 990, "commission_rate_bp": 1000, "brand_code": "acme"}
    for sku in ("CHIP-1", "CHIP-2"):
        made = client.post(
            "/api/v1/products", json={**product, "sku": sku, "category_code": "snacks"}, headers=operator
        )
        assert made.status_code == 201, made.text
    console_sign_in(client, factory)
    assert 'href="/console/catalog"' in client.get("/console/products").text
    page = client.get(PAGE)
    assert page.status_code == 200
    assert _counts(page.text, "brands") == {"acme": "2"}
    assert _counts(page.text, "categories") == {"snacks": "2"}

    added = client.post(f"{PAGE}/brands", data={"code": "nova", "name": " 新星 "}, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (303, f"{PAGE}?added=brand")
    added = client.post(f"{PAGE}/categories", data={"code": "drinks", "name": "饮料"}, follow_redirects=False)
    assert (added.status_code, added.headers["location"]) == (303, f"{PAGE}?added=category")
    page = client.get(f"{PAGE}?added=category")
    assert _counts(page.text, "brands") == {"acme": "2", "nova": "0"}
    assert _counts(page.text, "categories") == {"snacks": "2", "drinks": "0"}
    assert 'data-testid="added"' in page.text
    brands = client.get("/api/v1/brands", headers=operator).json()
    assert {"code": "nova", "name": "新星"} in [{"code": b["code"], "name": b["name"]} for b in brands]
    categories = client.get("/api/v1/categories", headers=operator).json()
    assert "drinks" in [c["code"] for c in categories]


def test_a_refused_brand_or_category_is_shown_in_place_and_nothing_is_saved(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    assert (
        client.post("/api/v1/brands", json={"code": "acme", "name": "A"}, headers=operator).status_code == 201
    )
    console_sign_in(client, factory)
    before = row_counts(factory)
    taken = client.post(f"{PAGE}/brands", data={"code": "acme", "name": "重名品牌"})
    assert taken.status_code == 409
    assert 'data-testid="error-code" data-code="brand_code_taken"' in taken.text
    assert 'value="重名品牌"' in taken.text
    empty = client.post(f"{PAGE}/categories", data={"code": "snacks", "name": "  "})
    assert empty.status_code == 422
    assert 'data-testid="error-name" data-code="required"' in empty.text
    assert 'value="snacks"' in empty.text
    long = client.post(f"{PAGE}/categories", data={"code": "Bad Code", "name": "名" * 121})
    assert long.status_code == 422
    # The schema's refusals, as a file's row error has them, in the page's language.
    assert 'data-testid="error-name" data-code="invalid_value">最多 120 个字符。' in long.text
    assert 'data-testid="error-code" data-code="invalid_value">此处填写的格式不符合要求。' in long.text
    assert 'value="Bad Code"' in long.text
    # The category form's refusal is not shown on the brand form.
    brand_form = long.text.split('data-testid="brand-form"', 1)[1].split("</form>", 1)[0]
    assert "error-" not in brand_form
    assert client.post(f"{PAGE}/categories", data={}).status_code == 422
    assert row_counts(factory) == before
    category = client.post(
        f"{PAGE}/categories", data={"code": "acme", "name": "同码分类"}, follow_redirects=False
    )
    assert category.status_code == 303  # a brand's code does not take a category's


def test_only_operators_reach_the_page_and_see_their_own_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    assert client.get(PAGE, follow_redirects=False).headers["location"].startswith("/console/login")
    anonymous = client.post(f"{PAGE}/brands", data={"code": "x", "name": "x"}, follow_redirects=False)
    assert anonymous.status_code in {303, 403}
    program = create_program(client, operator, code="cat")
    member = create_member(client, operator, program["id"], name="成员")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/brands", data={"code": "x", "name": "x"}).status_code == 403
    client.cookies.clear()
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=operator).json()[
        "id"
    ]
    merchant_sign_in(client, factory, shop)  # the API's brand and category writes are operators' only
    assert client.get(PAGE, follow_redirects=False).status_code == 403
    for path in (f"{PAGE}/brands", f"{PAGE}/categories"):
        assert client.post(path, data={"code": "m", "name": "m"}, follow_redirects=False).status_code == 403
    client.cookies.clear()
    rival = client.post(
        "/api/v1/organizations", json={"code": "rival", "name": "对手"}, headers=operator
    ).json()
    theirs = bearer(make_token(Role.OPERATOR, organization_id=rival["id"]))
    assert (
        client.post("/api/v1/brands", json={"code": "theirs", "name": "他牌"}, headers=theirs).status_code
        == 201
    )
    mine = client.post(
        "/api/v1/organizations", json={"code": "mine", "name": "我方"}, headers=operator
    ).json()
    with transaction(factory) as session:
        auth.create_user(
            session, username="mine-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=mine["id"]
        )
    assert (
        client.post("/console/login", data={"username": "mine-ops", "password": PASSWORD}).status_code == 200
    )
    assert (
        client.post(
            f"{PAGE}/brands", data={"code": "ours", "name": "我牌"}, follow_redirects=False
        ).status_code
        == 303
    )
    page = client.get(PAGE).text
    assert _counts(page, "brands") == {"ours": "0"}
    assert "他牌" not in page

"""A program's, a brand's and a category's code is unique within its organization only: two
organizations each have "yiduo" and "apparel" and a program "spring", a second one in the same
organization is 409 ``…_code_taken`` (naming nothing of another organization), and a product, a filter
and a catalog import resolve a code within their own organization (docs/tenancy.md)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.offers.factories import post, product

CODES = (("brands", "yiduo", "brand_code_taken"), ("categories", "apparel", "category_code_taken"))


def _operator(client: TestClient, admin: dict[str, str], make_token: TokenMaker, code: str) -> dict[str, str]:
    made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
    assert made.status_code == 201, made.text
    return bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))


def _skus(client: TestClient, headers: dict[str, str], query: str) -> list[str]:
    answer = client.get(f"/api/v1/products{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(p["sku"] for p in answer.json())


def test_two_organizations_share_codes_and_each_resolves_its_own(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = _operator(client, operator, make_token, "org-a")
    b = _operator(client, operator, make_token, "org-b")
    ids: dict[str, dict[str, Any]] = {}
    for name, headers in (("a", a), ("b", b)):
        program = client.post("/api/v1/programs", json={"code": "spring", "name": name}, headers=headers)
        assert program.status_code == 201, program.text
        ids[name] = {
            kind: post(client, headers, kind, {"code": code, "name": name})["id"] for kind, code, _ in CODES
        }
    for kind, code, taken in CODES:
        again = client.post(f"/api/v1/{kind}", json={"code": code, "name": "again"}, headers=a)
        assert (again.status_code, again.json()["code"], again.json()["field"]) == (409, taken, "code")
        assert code not in again.json()["detail"]
    again = client.post("/api/v1/programs", json={"code": "spring", "name": "again"}, headers=b)
    assert (again.status_code, again.json()["code"]) == (409, "program_code_taken")
    assert [p["name"] for p in client.get("/api/v1/programs", headers=b).json()] == ["b"]

    # A product names its own organization's brand and category by code.
    made_a = product(client, a, "A-TEE", 5900, brand_code="yiduo", category_code="apparel")
    made_b = product(client, b, "B-TEE", 6900, brand_code="yiduo", category_code="apparel")
    assert (made_a["brand_code"], made_b["brand_code"]) == ("yiduo", "yiduo")
    assert _skus(client, a, "?brand=yiduo") == ["A-TEE"]
    assert _skus(client, b, "?category=apparel&brand=yiduo") == ["B-TEE"]
    # A platform administrator's filter finds each organization's product whose own brand has the code.
    assert _skus(client, operator, "?brand=yiduo") == ["A-TEE", "B-TEE"]
    assert _skus(client, operator, "?brand=nobody") == []
    changed = client.patch(f"/api/v1/products/{made_b['id']}", json={"brand_code": None}, headers=b)
    assert changed.status_code == 200, changed.text
    back = client.patch(f"/api/v1/products/{made_b['id']}", json={"brand_code": "yiduo"}, headers=b)
    assert (back.status_code, back.json()["brand_code"]) == (200, "yiduo")
    assert _skus(client, operator, "?brand=yiduo") == ["A-TEE", "B-TEE"]


def test_a_catalog_import_resolves_codes_in_the_importers_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = _operator(client, operator, make_token, "org-a")
    b = _operator(client, operator, make_token, "org-b")
    post(client, a, "brands", {"code": "yiduo", "name": "a"})
    content = b"sku,title,price_fen,commission_rate_bp,brand_code\nB-TEE,tee,5900,1000,yiduo\n"
    refused = client.post(
        "/api/v1/products/import", files={"file": ("c.csv", content, "text/csv")}, headers=b
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "import_invalid")
    assert refused.json()["errors"][0]["code"] == "unknown_brand"  # a's brand is not b's
    post(client, b, "brands", {"code": "yiduo", "name": "b"})
    done = client.post("/api/v1/products/import", files={"file": ("c.csv", content, "text/csv")}, headers=b)
    assert done.status_code == 200, done.text
    assert _skus(client, b, "?brand=yiduo") == ["B-TEE"]
    assert _skus(client, a, "?brand=yiduo") == []

"""A merchant whose organization reviews merchants' changes raises no commission through a campaign:
the boost adds to the rate an order through the campaign's links pays, so setting or raising it (or
bringing a product under it) is the operators' (409 ``boost_needs_review``), as a rate change of the
merchant's waits for an operator; lowering or keeping it stays the merchant's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import merchant_sign_in

pytestmark = pytest.mark.world_per_module


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    client, admin, make_token = module_client, module_operator, module_make_token
    brand = _ok(
        client.post("/api/v1/organizations", json={"code": "b-brand", "name": "品牌"}, headers=admin), 201
    )
    free = _ok(
        client.post("/api/v1/organizations", json={"code": "b-free", "name": "自由"}, headers=admin), 201
    )
    made: dict[str, Any] = {}
    for key, organization, reviewed in (("brand", brand, True), ("free", free, False)):
        operator = bearer(make_token(Role.OPERATOR, organization_id=organization["id"]))
        program = create_program(client, operator, code=f"boost-{key}")
        shop = _ok(
            client.post("/api/v1/merchants", json={"code": f"s-{key}", "name": "店"}, headers=operator), 201
        )
        merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
        for sku in (f"{key}-1", f"{key}-2"):
            body = {"sku": sku, "title": "店品", "price_fen": 1000, "commission_rate_bp": 1000}
            _ok(client.post("/api/v1/products", json=body, headers=merchant), 201)
        switched = client.patch(
            f"/api/v1/organizations/{organization['id']}",
            json={"review_merchant_changes": reviewed},
            headers=operator,
        )
        assert _ok(switched)["review_merchant_changes"] is reviewed
        member = create_member(client, operator, program["id"], name="seller")
        made[key] = {
            "operator": operator,
            "program": program["id"],
            "merchant": merchant,
            "shop": shop["id"],
            "member": bearer(make_token(Role.MEMBER, member["id"])),
        }
    return made


def _campaign(world: dict[str, Any], key: str, **extra: Any) -> dict[str, Any]:
    now = utcnow()
    return {
        "program_id": world[key]["program"],
        "name": "店铺上新",
        "skus": [f"{key}-1"],
        "starts_at": (now + timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(days=7)).isoformat(),
        **extra,
    }


def test_a_merchant_under_review_publishes_no_boost_and_writes_nothing(
    module_client: TestClient, world: dict[str, Any], module_factory: sessionmaker[Session]
) -> None:
    client, brand = module_client, world["brand"]
    product = _ok(client.get("/api/v1/products", headers=brand["merchant"]))[0]
    held = client.patch(
        f"/api/v1/products/{product['id']}", json={"commission_rate_bp": 9000}, headers=brand["merchant"]
    )
    assert _ok(held)["commission_rate_bp"] == 1000  # the rate waits for an operator
    before = row_counts(module_factory)
    refused = client.post(
        "/api/v1/campaigns",
        json=_campaign(world, "brand", commission_boost_bp=8000),
        headers=brand["merchant"],
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "boost_needs_review"
    assert refused.json()["field"] == "commission_boost_bp"
    assert "8000" not in refused.text
    assert "80%" not in refused.text
    assert "贵机构审核商家的佣金变更" in refused.json()["detail"]
    english = client.post(
        "/api/v1/campaigns",
        json=_campaign(world, "brand", commission_boost_bp=1),
        headers={**brand["merchant"], "accept-language": "en"},
    )
    assert english.json()["detail"] == (
        "Your organization reviews merchants' commission changes: an operator sets or raises a campaign's "
        "commission boost."
    )
    assert row_counts(module_factory) == before
    # Without a boost the merchant publishes as before; the operator's boost applies at once.
    made = _ok(
        client.post("/api/v1/campaigns", json=_campaign(world, "brand"), headers=brand["merchant"]), 201
    )
    assert made["commission_boost_bp"] == 0
    assert (
        _ok(
            client.post(
                "/api/v1/campaigns",
                json=_campaign(world, "brand", commission_boost_bp=500),
                headers=brand["operator"],
            ),
            201,
        )["commission_boost_bp"]
        == 500
    )


def test_a_merchant_under_review_lowers_or_keeps_a_boost_but_raises_none(
    module_client: TestClient, world: dict[str, Any], module_factory: sessionmaker[Session]
) -> None:
    client, brand = module_client, world["brand"]
    made = _ok(
        client.post("/api/v1/campaigns", json=_campaign(world, "brand"), headers=brand["merchant"]), 201
    )
    path = f"/api/v1/campaigns/{made['id']}"
    raised = client.patch(path, json={"commission_boost_bp": 8000}, headers=brand["merchant"])
    assert (raised.status_code, raised.json()["code"]) == (409, "boost_needs_review")
    assert _ok(client.get(path, headers=brand["operator"]))["commission_boost_bp"] == 0
    assert (
        _ok(client.patch(path, json={"commission_boost_bp": 500}, headers=brand["operator"]))[
            "commission_boost_bp"
        ]
        == 500
    )
    assert (
        _ok(client.patch(path, json={"commission_boost_bp": 300}, headers=brand["merchant"]))[
            "commission_boost_bp"
        ]
        == 300
    )
    assert (
        _ok(client.patch(path, json={"name": "改名", "commission_boost_bp": 300}, headers=brand["merchant"]))[
            "name"
        ]
        == "改名"
    )
    before = row_counts(module_factory)
    for change in ({"commission_boost_bp": 301}, {"skus": ["brand-1", "brand-2"]}):
        refused = client.patch(path, json=change, headers=brand["merchant"])
        assert (refused.status_code, refused.json()["code"]) == (409, "boost_needs_review"), change
    assert row_counts(module_factory) == before
    stored = _ok(client.get(path, headers=brand["operator"]))
    assert (stored["commission_boost_bp"], stored["skus"]) == (300, ["brand-1"])
    assert _ok(client.patch(path, json={"skus": ["brand-1", "brand-2"]}, headers=brand["operator"]))[
        "skus"
    ] == ["brand-1", "brand-2"]
    assert _ok(
        client.patch(path, json={"skus": ["brand-2"], "commission_boost_bp": 0}, headers=brand["merchant"])
    )["skus"] == ["brand-2"]
    assert _ok(client.patch(path, json={"skus": ["brand-1"]}, headers=brand["merchant"]))["skus"] == [
        "brand-1"
    ]  # no boost left


def test_an_unreviewed_merchant_sets_its_boost_at_once(
    module_client: TestClient, world: dict[str, Any]
) -> None:
    client, free = module_client, world["free"]
    made = _ok(
        client.post(
            "/api/v1/campaigns",
            json=_campaign(world, "free", commission_boost_bp=800),
            headers=free["merchant"],
        ),
        201,
    )
    assert made["commission_boost_bp"] == 800
    path = f"/api/v1/campaigns/{made['id']}"
    assert (
        _ok(client.patch(path, json={"commission_boost_bp": 900}, headers=free["merchant"]))[
            "commission_boost_bp"
        ]
        == 900
    )


def test_who_reaches_the_campaign_routes(module_client: TestClient, world: dict[str, Any]) -> None:
    """Anonymous 401, a member 403, another merchant's or organization's campaign 404, its own 200."""
    client, brand = module_client, world["brand"]
    made = _ok(
        client.post("/api/v1/campaigns", json=_campaign(world, "brand"), headers=brand["merchant"]), 201
    )
    path = f"/api/v1/campaigns/{made['id']}"
    assert client.post("/api/v1/campaigns", json=_campaign(world, "brand")).status_code == 401
    assert client.patch(path, json={"name": "x"}).status_code == 401
    member = brand["member"]
    assert client.post("/api/v1/campaigns", json=_campaign(world, "brand"), headers=member).status_code == 403
    assert client.patch(path, json={"name": "x"}, headers=member).status_code == 403
    for other in (world["free"]["merchant"], world["free"]["operator"]):
        assert client.patch(path, json={"commission_boost_bp": 100}, headers=other).status_code == 404
    assert _ok(client.patch(path, json={"name": "自己的"}, headers=brand["merchant"]))["name"] == "自己的"


def test_the_portals_form_shows_the_refusal_beside_the_boost(
    module_client: TestClient, world: dict[str, Any], module_factory: sessionmaker[Session]
) -> None:
    client, brand = module_client, world["brand"]
    merchant_sign_in(client, module_factory, brand["shop"])
    now = utcnow() + timedelta(hours=9)  # the program's zone (Asia/Shanghai), typed as local times
    form = {
        "program_id": str(brand["program"]),
        "name": "表单活动",
        "skus": "brand-1",
        "boost_percent": "80",
        "starts_at": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (now + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
    }
    before = row_counts(module_factory)
    refused = client.post("/console/merchant/campaigns/new", data=form)
    assert refused.status_code == 409, refused.text[:2000]
    assert 'data-testid="error-boost_percent" data-code="boost_needs_review"' in refused.text
    assert row_counts(module_factory) == before
    client.cookies.clear()

"""A campaign holds its program's organization's products, coupon and brand only, also when a platform
administrator (no scope) publishes or edits it: a campaign's skus become its members' links, which
order taking then prices."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker
from tests.offers import factories as offers
from tests.organizations.builders import Tenant, open_window, tenant


def _campaign(program: Tenant, sku: str, **extra: Any) -> dict[str, Any]:
    now = utcnow()  # a new campaign starts now at the earliest
    window = {"starts_at": now.isoformat(), "ends_at": (now + timedelta(days=1)).isoformat()}
    return {"program_id": program.program_id, "name": "活动", "skus": [sku], **window, **extra}


def test_a_platform_administrators_campaign_takes_only_its_programs_organizations_offers(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    foreign = offers.coupon(client, b.headers, 500, **open_window())
    brand = client.post("/api/v1/brands", json={"code": "b-brand", "name": "B"}, headers=b.headers)
    assert brand.status_code == 201, brand.text
    admin = operator
    refusals = [
        (_campaign(a, b.sku), "unknown_sku"),
        (_campaign(a, a.sku, coupon_id=foreign["id"]), "unknown_coupon"),
        (_campaign(a, a.sku, brand_id=brand.json()["id"]), "unknown_brand"),
    ]
    for body, code in refusals:
        refused = client.post("/api/v1/campaigns", json=body, headers=admin)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    upcoming = {"starts_at": (utcnow() + timedelta(hours=1)).isoformat()}  # its skus may still change
    made = client.post("/api/v1/campaigns", json=_campaign(a, a.sku, **upcoming), headers=admin)
    assert made.status_code == 201, made.text
    edited = client.patch(f"/api/v1/campaigns/{made.json()['id']}", json={"skus": [b.sku]}, headers=admin)
    assert (edited.status_code, edited.json()["code"]) == (422, "unknown_sku")

"""Two organizations side by side, for the tests that one never reaches the other's rows: each with its
operator, a program with the partner ladder, a member, a product, the member's share link and a shop
(integration) that signs its webhooks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from neigou.auth.models import Role
from neigou.integrations import standard
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.offers import factories as offers

PRICE_FEN = 10_000


@dataclass(frozen=True)
class Tenant:
    """An organization's ids, its operator's headers and its shop's webhook secret."""

    code: str
    organization_id: int
    headers: dict[str, str]
    program_id: int
    member_id: int
    sku: str
    link: str
    integration_id: int
    inbound_secret: str


def tenant(client: TestClient, admin: dict[str, str], make_token: TokenMaker, code: str) -> Tenant:
    """An organization with its program, member, product (¥100 at 20 %), share link and shop."""
    made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
    assert made.status_code == 201, made.text
    organization_id = int(made.json()["id"])
    headers = bearer(make_token(Role.OPERATOR, organization_id=organization_id))
    program = create_program(client, headers, code=f"{code}-program")
    member = create_member(client, headers, program["id"], name=f"{code} member")
    sku = f"{code.upper()}-SKU"
    offers.product(client, headers, sku, PRICE_FEN)
    link = client.post("/api/v1/links", json={"member_id": member["id"], "sku": sku}, headers=headers)
    assert link.status_code == 201, link.text
    shop = client.post(
        f"/api/v1/programs/{program['id']}/integrations", json={"name": "shop"}, headers=headers
    )
    assert shop.status_code == 201, shop.text
    return Tenant(
        code,
        organization_id,
        headers,
        int(program["id"]),
        int(member["id"]),
        sku,
        str(link.json()["code"]),
        int(shop.json()["id"]),
        str(shop.json()["inbound_secret"]),
    )


def open_window() -> dict[str, str]:
    """A window from yesterday to tomorrow by the real clock (webhooks are priced at their paid time)."""
    now = utcnow()
    return {
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=1)).isoformat(),
    }


def all_sku_promotion(client: TestClient, owner: Tenant, off_fen: int = 3000) -> dict[str, Any]:
    """A promotion of ``owner`` on every sku: ``off_fen`` off any basket, open now."""
    kind = {"kind": "spend_threshold_off", "params": {"min_spend_fen": 1, "off_fen": off_fen}}
    return offers.promotion(client, owner.headers, kind, name=f"{owner.code} promotion", **open_window())


def paid_data(
    shop: Tenant, external_id: str, sku: str, *, link: str | None = None, paid_at: datetime | None = None
) -> dict[str, Any]:
    """An ``order.paid`` payload for ``shop``'s program (its link unless told): one unit at ¥100."""
    at = paid_at or utcnow() - timedelta(minutes=5)
    return {
        "external_id": external_id,
        "customer_ref": "13800000001",
        "link_code": shop.link if link is None else link,
        "items": [{"sku": sku, "quantity": 1, "paid_fen": PRICE_FEN}],
        "paid_at": at.isoformat(),
    }


def send(client: TestClient, shop: Tenant, event_type: str, data: dict[str, Any], message_id: str) -> Any:
    """POST a webhook signed with ``shop``'s inbound secret (Standard Webhooks)."""
    body = json.dumps({"type": event_type, "data": data}).encode()
    headers = standard.headers(shop.inbound_secret, message_id, utcnow(), body)
    return client.post(
        f"/webhooks/v1/integrations/{shop.integration_id}",
        content=body,
        headers={**headers, "content-type": "application/json"},
    )

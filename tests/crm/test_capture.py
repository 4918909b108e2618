"""Shoppers the member's links bring: a claim or an order through the link that carries marketing
consent adds the shopper to the member's book with the consent; without consent, or after an
opt-out, nothing is added."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.links import claim_stream
from tests.conftest import row_counts
from tests.links.conftest import behind_gate
from tests.orders import builders as orders


def _book(client: TestClient, operator: dict[str, str], member_id: int) -> list[tuple[str, str, bool]]:
    response = client.get(f"/api/v1/members/{member_id}/customers", headers=operator)
    return [(c["customer_ref_masked"], c["source"], c["marketing_consent"]) for c in response.json()]


def test_claims_and_orders_with_consent_fill_the_book(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    now = utcnow()
    opened, link = orders.coupon_link(client, operator, world)
    claims = f"/api/v1/coupons/{opened['id']}/claims"

    def claim(ref: str, **extra: object) -> int:
        response = client.post(
            claims, json={"customer_ref": ref, "link_code": link, **extra}, headers=operator
        )
        return int(response.status_code)

    assert claim("13800000071", consent={"marketing": True, "source": "landing_tick"}) == 201
    assert claim("13800000072") == 201
    assert claim("13800000073", consent={"marketing": False}) == 201
    before = row_counts(factory)
    future = (now + timedelta(days=1)).isoformat()
    assert claim("13800000074", consent={"marketing": True, "at": future}) == 422
    assert row_counts(factory) == before
    body = orders.order_body(world, "crm-o1", customer="13800000075", at=now - timedelta(minutes=1))
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}})
    # A repeat of the order (same external id) adds nothing.
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}}, status=200)
    assert _book(client, operator, world.seller) == [
        ("138****0071", "claim", True),
        ("138****0075", "order", True),
    ]
    first = client.get(f"/api/v1/members/{world.seller}/customers", headers=operator).json()[0]
    consents = client.get(f"/api/v1/customers/{first['id']}/consents", headers=operator).json()
    assert [(c["granted"], c["source"]) for c in consents["history"]] == [(True, "landing_tick")]


def test_an_opted_out_shopper_is_not_added(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    opted = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": "13800000081", "request_id": "gone-1"},
        headers=operator,
    )
    assert opted.status_code == 201, opted.text
    body = orders.order_body(world, "crm-o2", customer="13800000081", at=utcnow() - timedelta(minutes=1))
    orders.post_order(client, operator, {**body, "consent": {"marketing": True}})
    assert _book(client, operator, world.seller) == []


def test_a_claim_queued_behind_the_gate_brings_its_consent_to_the_claim_writer(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], app: FastAPI
) -> None:
    gates = behind_gate()
    gate = next(gates)
    app.state.links.gate = gate  # claims are taken in Redis and stored by the claim writer
    try:
        world = orders.build(client, operator, factory)
        opened, link = orders.coupon_link(client, operator, world)
        body = {"customer_ref": "13800000091", "link_code": link, "consent": {"marketing": True}}
        api = client.post(f"/api/v1/coupons/{opened['id']}/claims", json=body, headers=operator)
        assert api.status_code == 201, api.text
        landing = client.post(
            f"/p/{link}/claim", data={"phone": "13800000092", "marketing": "true"}, follow_redirects=False
        )
        assert "claimed=1" in landing.headers["location"]
        unticked = client.post(f"/p/{link}/claim", data={"phone": "13800000093"}, follow_redirects=False)
        assert "claimed=1" in unticked.headers["location"]
        # The requests announced nothing: the consent waits in the stream with its claim.
        assert _book(client, operator, world.seller) == []
        assert gate.stream is not None
        assert claim_stream.ClaimWriter(gate.client, gate.stream, factory).drain() == 3
        assert sorted(_book(client, operator, world.seller)) == [
            ("138****0091", "claim", True),
            ("138****0092", "claim", True),
        ]
        sources = set()
        for customer in client.get(f"/api/v1/members/{world.seller}/customers", headers=operator).json():
            history = client.get(f"/api/v1/customers/{customer['id']}/consents", headers=operator).json()
            sources |= {(c["granted"], c["source"]) for c in history["history"]}
        assert sources == {(True, "claim"), (True, "landing")}
    finally:
        app.state.links.gate = None
        gates.close()

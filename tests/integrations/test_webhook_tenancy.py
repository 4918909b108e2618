"""A signed webhook acts for the organization of its integration's program, as a token of that
organization would: another organization's skus are unknown to it, another organization's promotions
never price its orders, and what it writes is its organization's (the audit entries of its orders)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.organizations.builders import PRICE_FEN, all_sku_promotion, paid_data, send, tenant


def test_a_webhook_takes_only_its_organizations_skus(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    before = row_counts(factory)
    refused = send(client, a, "order.paid", paid_data(a, "WH-1", b.sku), "msg-1")
    assert (refused.status_code, refused.json()["code"]) == (422, "unknown_sku"), refused.text
    # Nothing of the other organization's product is answered: the sku the shop sent is named back
    # exactly as one that exists nowhere is.
    nowhere = send(client, a, "order.paid", paid_data(a, "WH-1", "NOWHERE-SKU"), "msg-nowhere")
    assert refused.json() == {
        key: value.replace("NOWHERE-SKU", b.sku) if isinstance(value, str) else value
        for key, value in nowhere.json().items()
    }
    assert row_counts(factory) == before  # nor written (the replay receipt included)
    # The same body through the API, with the organization's integration token, is refused alike.
    token = bearer(make_token(Role.INTEGRATION, organization_id=a.organization_id))
    api = client.post(
        "/api/v1/orders", json={**paid_data(a, "API-1", b.sku), "program_id": a.program_id}, headers=token
    )
    assert (api.status_code, api.json()["code"]) == (422, "unknown_sku")
    # Its own sku is taken, at its own product's rate (20 % of ¥100 is the pool).
    taken = send(client, a, "order.paid", paid_data(a, "WH-1", a.sku), "msg-2")
    assert taken.status_code == 201, taken.text
    assert [(line["sku"], line["pool_fen"]) for line in taken.json()["lines"]] == [(a.sku, PRICE_FEN // 5)]


def test_another_organizations_promotion_never_prices_a_webhook_order(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    all_sku_promotion(client, b, off_fen=3000)
    plain = send(client, a, "order.paid", paid_data(a, "WH-1", a.sku), "msg-1")
    assert plain.status_code == 201, plain.text
    assert plain.json()["pricing"]["promotion_discount_fen"] == 0
    assert plain.json()["pricing"]["applied"] == []
    # Its own organization's promotion does price it.
    own = all_sku_promotion(client, a, off_fen=1000)
    priced = send(client, a, "order.paid", paid_data(a, "WH-2", a.sku), "msg-2")
    assert priced.status_code == 201, priced.text
    assert priced.json()["pricing"]["promotion_discount_fen"] == 1000
    assert [offer["id"] for offer in priced.json()["pricing"]["applied"]] == [own["id"]]


def test_a_webhook_order_is_its_organizations(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    taken = send(client, a, "order.paid", paid_data(a, "WH-1", a.sku), "msg-1")
    assert taken.status_code == 201, taken.text
    order_id = str(taken.json()["id"])

    def audited(headers: dict[str, str]) -> list[str]:
        found = client.get(f"/api/v1/audit-log?entity=order&entity_id={order_id}", headers=headers)
        assert found.status_code == 200, found.text
        return [entry["action"] for entry in found.json()]

    # Its audit entry is written for the integration's organization: its operators see it, the
    # other organization's do not.
    assert audited(a.headers) == ["order.create"]
    assert audited(b.headers) == []
    completed = send(client, a, "order.completed", {"external_id": "WH-1"}, "msg-2")
    assert completed.status_code == 200, completed.text
    assert sorted(audited(a.headers)) == ["order.complete", "order.create"]


def test_a_deleted_organizations_webhooks_stop_at_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    assert send(client, a, "order.paid", paid_data(a, "WH-1", a.sku), "msg-1").status_code == 201
    assert client.delete(f"/api/v1/organizations/{a.organization_id}", headers=operator).status_code == 200
    before = row_counts(factory)
    refused = send(client, a, "order.paid", paid_data(a, "WH-2", a.sku), "msg-2")
    assert (refused.status_code, refused.json()["code"]) == (401, "bad_signature"), refused.text
    assert row_counts(factory) == before  # nothing written, not even the replay receipt

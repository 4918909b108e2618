"""The console's analytics pages of an organization's operator: another organization's program is a 404
on the page, its export and its refresh, and refreshing the store from the console copies every
organization's facts (the store is one for the deployment), as the API's refresh does."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.organizations.builders import Tenant, paid_data, tenant
from tests.sign_in import PASSWORD


def _order(client: TestClient, shop: Tenant, external_id: str, paid_at: datetime | None = None) -> None:
    body = {**paid_data(shop, external_id, shop.sku, paid_at=paid_at), "program_id": shop.program_id}
    made = client.post("/api/v1/orders", json=body, headers=shop.headers)
    assert made.status_code == 201, made.text


def _sign_in_for(client: TestClient, factory: sessionmaker[Session], owner: Tenant) -> None:
    with transaction(factory) as session:
        auth.create_user(
            session,
            username=f"ops-{owner.code}",
            password=PASSWORD,
            actor=TEST_ACTOR,
            organization_id=owner.organization_id,
        )
    form = {"username": f"ops-{owner.code}", "password": PASSWORD}
    assert client.post("/console/login", data=form, follow_redirects=False).status_code == 303


def _range() -> str:
    today = utcnow().date()
    return f"from={today - timedelta(days=2)}&to={today + timedelta(days=2)}"


def test_a_console_refresh_copies_every_organizations_facts(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    _order(client, b, "B-1")  # b's order comes first: a refresh of a's rows alone would pass it by
    _order(client, a, "A-1")
    _sign_in_for(client, factory, a)
    refreshed = client.post(f"/console/programs/{a.program_id}/analytics/refresh", follow_redirects=False)
    assert refreshed.status_code == 303
    assert client.post("/api/v1/analytics/refresh", headers=b.headers).status_code == 200
    for shop in (a, b):
        economics = client.get(
            f"/api/v1/programs/{shop.program_id}/analytics/economics?{_range()}", headers=shop.headers
        )
        assert economics.status_code == 200, economics.text
        assert economics.json()["orders"] == 1, shop.code


def test_a_console_refresh_dates_another_organizations_orders_in_their_programs_zone(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    zone = ZoneInfo(client.get(f"/api/v1/programs/{b.program_id}", headers=b.headers).json()["timezone"])
    today = utcnow().astimezone(zone).date()
    # Just past midnight in the program's zone: the day before by UTC (Beijing runs 8 hours ahead).
    _order(client, b, "B-1", paid_at=datetime.combine(today, time(0, 1), zone))
    _sign_in_for(client, factory, a)
    assert client.post(f"/console/programs/{a.program_id}/analytics/refresh").status_code == 200
    economics = client.get(
        f"/api/v1/programs/{b.program_id}/analytics/economics?from={today}&to={today}", headers=b.headers
    )
    assert economics.json()["orders"] == 1, economics.text


def test_a_console_refresh_applies_every_organizations_opt_outs(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    _order(client, b, "B-1")
    assert client.post("/api/v1/analytics/refresh", headers=operator).status_code == 200
    customers = f"/api/v1/programs/{b.program_id}/analytics/customers?{_range()}"
    assert [t["reference"] for t in client.get(customers, headers=b.headers).json()["top"]] != ["erased"]
    for shop, customer in ((b, "13800000001"), (a, "13900000002")):  # b's opt-out first, then a's
        body = {"customer_ref": customer, "program_id": shop.program_id, "request_id": f"{shop.code}-1"}
        assert client.post("/api/v1/privacy/opt-outs", json=body, headers=shop.headers).status_code == 201
    _sign_in_for(client, factory, a)
    assert client.post(f"/console/programs/{a.program_id}/analytics/refresh").status_code == 200
    assert client.post("/api/v1/analytics/refresh", headers=b.headers).status_code == 200
    assert [t["reference"] for t in client.get(customers, headers=b.headers).json()["top"]] == ["erased"]


def test_another_organizations_program_is_not_found_on_the_console(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    _sign_in_for(client, factory, a)
    base = f"/console/programs/{b.program_id}/analytics"
    assert client.get(f"{base}?{_range()}").status_code == 404
    assert client.get(f"{base}/export?{_range()}&report=funnel&by=member").status_code == 404
    assert client.post(f"{base}/refresh", follow_redirects=False).status_code == 404
    own = client.get(f"/console/programs/{a.program_id}/analytics/export?{_range()}&report=funnel&by=member")
    assert own.status_code == 200

"""A member's own text reaches the console's Excel exports as text: the analytics funnel by member
names each member, and a name that starts like a formula is a string cell, never a formula."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker
from tests.factories import create_member
from tests.organizations.builders import paid_data, tenant
from tests.web.test_console_analytics_tenancy import _sign_in_for

NAMES = ['=HYPERLINK("http://evil.example","点我")', "@SUM(1)", "+1+1", "-2+3"]


def test_member_names_in_the_funnel_export_are_text_cells(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    shop = tenant(client, operator, make_token, "brand-a")
    for n, name in enumerate(NAMES):
        member = create_member(client, shop.headers, shop.program_id, name=name)
        link = client.post(
            "/api/v1/links", json={"member_id": member["id"], "sku": shop.sku}, headers=shop.headers
        )
        assert link.status_code == 201, link.text
        body = {
            **paid_data(shop, f"F-{n}", shop.sku, link=link.json()["code"]),
            "program_id": shop.program_id,
        }
        assert client.post("/api/v1/orders", json=body, headers=shop.headers).status_code == 201
    assert client.post("/api/v1/analytics/refresh", headers=shop.headers).status_code == 200
    _sign_in_for(client, factory, shop)
    today = utcnow().date()
    export = client.get(
        f"/console/programs/{shop.program_id}/analytics/export"
        f"?from={today - timedelta(days=2)}&to={today + timedelta(days=2)}&report=funnel&by=member"
    )
    assert export.status_code == 200, export.text
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    names = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert sorted(str(c.value) for c in names) == sorted(NAMES)
    assert {c.data_type for c in names} == {"s"}

"""The analytics refresh copies every organization's facts; its counts (programs, orders, clicks,
opt-outs since the last refresh, deployment-wide) are a platform administrator's answer only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from neigou.auth.models import Role
from tests.app_fixtures import bearer
from tests.conftest import TokenMaker
from tests.factories import create_member, create_program


def test_an_organizations_operator_is_not_told_the_deployments_counts(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    tenant = client.post(
        "/api/v1/organizations", json={"code": "t1", "name": "租户"}, headers=operator
    ).json()
    other = client.post("/api/v1/organizations", json={"code": "t2", "name": "他"}, headers=operator).json()
    theirs = create_program(client, operator, code="theirs", organization_id=other["id"])
    create_member(client, operator, theirs["id"], "stranger")
    scoped = bearer(make_token(Role.OPERATOR, organization_id=tenant["id"]))
    answer = client.post("/api/v1/analytics/refresh", headers=scoped)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"refreshed": True}  # nothing of the other organization's rows
    create_member(client, operator, theirs["id"], "another")
    platform = client.post("/api/v1/analytics/refresh", headers=operator)
    assert platform.json()["tables"]["members"] == 1

"""A merchant's code is unique within its organization only: two organizations may each have "acme", a
second "acme" in one organization is 409 ``merchant_code_taken``, also when it loses the race to the
first (never a 500), on both databases (docs/tenancy.md)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from neigou.auth.models import Role
from neigou.merchants import service
from neigou.programs.scope import organization_for_write
from tests.conftest import TokenMaker, bearer

ACME = {"code": "acme", "name": "Acme"}


def _operator_of_new_organization(
    client: TestClient, admin: dict[str, str], make_token: TokenMaker, code: str
) -> dict[str, str]:
    made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
    assert made.status_code == 201, made.text
    return bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))


def test_two_organizations_each_have_their_acme(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = _operator_of_new_organization(client, operator, make_token, "org-a")
    b = _operator_of_new_organization(client, operator, make_token, "org-b")
    assert client.post("/api/v1/merchants", json=ACME, headers=a).status_code == 201
    assert client.post("/api/v1/merchants", json=ACME, headers=b).status_code == 201
    again = client.post("/api/v1/merchants", json=ACME, headers=a)
    assert (again.status_code, again.json()["code"], again.json()["field"]) == (
        409,
        "merchant_code_taken",
        "code",
    )
    assert "acme" not in again.json()["detail"]
    assert [m["code"] for m in client.get("/api/v1/merchants", headers=b).json()] == ["acme"]


def test_acme_taken_meanwhile_in_the_same_organization_is_409(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _operator_of_new_organization(client, operator, make_token, "org-a")
    # The other request takes "acme" after this one chose its organization and before it inserts (on
    # SQLite too: its savepoint takes the write lock only at the insert).
    inner: list[int] = []

    def then_taken(session: Session, organization_id: int | None) -> int:
        found = organization_for_write(session, organization_id)
        if not inner:
            inner.append(0)  # the inner request's own choice passes
            inner[0] = client.post("/api/v1/merchants", json=ACME, headers=a).status_code
        return found

    monkeypatch.setattr(service, "organization_for_write", then_taken)
    answer = TestClient(client.app, raise_server_exceptions=False).post(
        "/api/v1/merchants", json=ACME, headers=a
    )
    assert inner == [201]
    assert (answer.status_code, answer.json()["code"]) == (409, "merchant_code_taken"), answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")

"""Console accounts opened by an organization's operator belong to that organization: never a platform
administrator's account, never another organization's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role, User
from neigou.kit.db import transaction
from neigou.kit.errors import NotFound
from neigou.kit.scoping import Scope, use_scope
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, page_client
from tests.factories import create_program

PASSWORD = "correct horse battery"


def _organizations(client: TestClient, make_token: TokenMaker) -> list[int]:
    admin = bearer(make_token(Role.OPERATOR))
    ids = []
    for code in ("acme", "rival"):
        made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def _signed_in(client: TestClient, username: str) -> TestClient:
    browser = page_client(client.app)  # type: ignore[arg-type]
    login = {"username": username, "password": PASSWORD}
    assert browser.post("/console/login", data=login, follow_redirects=False).status_code == 303
    return browser


def test_an_organizations_operator_opens_accounts_of_its_organization(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    acme, rival = _organizations(client, make_token)
    rival_program = create_program(
        client, bearer(make_token(Role.OPERATOR, organization_id=rival)), code="rp"
    )
    with transaction(factory) as session:
        auth.create_user(
            session, username="acme-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=acme
        )
    operator = _signed_in(client, "acme-ops")
    made = operator.post(
        "/console/users", data={"username": "sidekick", "password": PASSWORD}, follow_redirects=False
    )
    assert made.headers["location"] == "/console/access?done=user_created"
    with factory() as session:
        assert session.scalar(select(User.organization_id).where(User.username == "sidekick")) == acme
    sidekick = _signed_in(client, "sidekick")
    assert sidekick.get(f"/console/programs/{rival_program['id']}", follow_redirects=False).status_code == 404
    assert sidekick.get("/console/access", follow_redirects=False).status_code == 200


def test_a_scoped_caller_cannot_open_an_account_elsewhere(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    acme, rival = _organizations(client, make_token)
    with transaction(factory) as session:
        use_scope(session, Scope(organization_id=acme))
        with pytest.raises(NotFound) as refused:
            auth.create_user(
                session, username="x1", password=PASSWORD, actor=TEST_ACTOR, organization_id=rival
            )
        assert refused.value.code == "organization_not_found"
        mine = auth.create_user(
            session, username="x2", password=PASSWORD, actor=TEST_ACTOR, organization_id=acme
        )
        assert mine.organization_id == acme
    with transaction(factory) as session:  # unscoped (the CLI): a platform administrator stays possible
        assert (
            auth.create_user(session, username="root2", password=PASSWORD, actor=TEST_ACTOR).organization_id
            is None
        )


def test_a_merchants_caller_opens_accounts_of_its_merchant_only(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    shops = []
    for code in ("shop-a", "shop-b"):
        made = client.post("/api/v1/merchants", json={"code": code, "name": code}, headers=operator)
        assert made.status_code == 201, made.text
        shops.append(made.json())
    with transaction(factory) as session:
        use_scope(session, Scope(organization_id=shops[0]["organization_id"], merchant_id=shops[0]["id"]))
        with pytest.raises(NotFound):
            auth.create_user(
                session, username="y1", password=PASSWORD, actor=TEST_ACTOR, merchant_id=shops[1]["id"]
            )
        own = auth.create_user(session, username="y2", password=PASSWORD, actor=TEST_ACTOR)
        assert own.merchant_id == shops[0]["id"]

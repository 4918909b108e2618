"""Signing out of the console: an operator's and a merchant's session both end at /console/logout (the
merchant portal's navigation posts there); no one else's."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in, merchant_sign_in


def _signs_out(client: TestClient, factory: sessionmaker[Session]) -> None:
    secret = client.cookies["neigou_session"]
    out = client.post("/console/logout", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert 'neigou_session=""' in out.headers["set-cookie"]
    with factory() as session:
        assert auth.resolve(session, secret) is None


def test_anonymous_is_sent_to_sign_in(client: TestClient) -> None:
    out = client.post("/console/logout", follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith("/console/login")


def test_an_operator_signs_out(client: TestClient, factory: sessionmaker[Session]) -> None:
    console_sign_in(client, factory)
    _signs_out(client, factory)
    assert client.get("/console/access", follow_redirects=False).status_code == 303


def test_a_merchant_signs_out_of_the_portal(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    made = client.post("/api/v1/merchants", json={"code": "mine", "name": "mine"}, headers=operator)
    assert made.status_code == 201, made.text
    merchant_sign_in(client, factory, made.json()["id"])
    assert 'action="/console/logout"' in client.get("/console/merchant").text
    _signs_out(client, factory)
    assert client.get("/console/merchant", follow_redirects=False).status_code == 303


def test_a_members_workspace_session_is_not_a_console_one(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="小美")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    secret = client.cookies["neigou_session"]
    assert client.post("/console/logout", follow_redirects=False).status_code == 403
    with factory() as session:
        assert auth.resolve(session, secret) is not None


def test_an_operators_api_token_is_never_revoked_by_it(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """A program's credential is revoked on purpose, not by a page: sent as a bearer or put in the cookie."""
    token = make_token(Role.OPERATOR)
    assert client.post("/console/logout", headers=bearer(token), follow_redirects=False).status_code == 303
    client.cookies.set("neigou_session", token)
    assert client.post("/console/logout", follow_redirects=False).status_code == 303
    with factory() as session:
        assert auth.resolve(session, token) is not None

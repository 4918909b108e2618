"""Signing a test client in to the console and to the member workspace (browser tests: tests/browser/conftest.py)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth import sign_in_codes
from neigou.auth.models import Role
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR

USERNAME = "ops"
PASSWORD = "s3cret-pass"


def create_operator(
    factory: sessionmaker[Session], username: str = USERNAME, password: str = PASSWORD
) -> None:
    """A console account."""
    with transaction(factory) as session:
        auth.create_user(session, username=username, password=password, actor=TEST_ACTOR)


def console_sign_in(
    client: TestClient,
    factory: sessionmaker[Session],
    username: str = USERNAME,
    password: str = PASSWORD,
    next_page: str | None = None,
) -> None:
    """Create a console account and sign the client in with it (the session cookie is kept)."""
    create_operator(factory, username, password)
    form = {"username": username, "password": password} | ({"next": next_page} if next_page else {})
    response = client.post("/console/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert "neigou_session" in response.cookies


def merchant_sign_in(client: TestClient, factory: sessionmaker[Session], merchant_id: int) -> None:
    """Create a console account of a merchant and sign the client in to its portal."""
    with transaction(factory) as session:
        auth.create_user(
            session,
            username=f"shop-{merchant_id}",
            password=PASSWORD,
            actor=TEST_ACTOR,
            merchant_id=merchant_id,
        )
    answer = client.post(
        "/console/login",
        data={"username": f"shop-{merchant_id}", "password": PASSWORD},
        follow_redirects=False,
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/merchant")


def member_sign_in(client: TestClient, token: str) -> None:
    """Open the member workspace as the member behind a member API token, through a one-time sign-in
    link (what ``neigou token sign-in-link`` prints)."""
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    with transaction(factory) as session:
        principal = auth.resolve(session, token)
        assert principal is not None
        assert principal.member_id is not None
        code = sign_in_codes.issue(session, member_id=principal.member_id, minutes=15, actor=TEST_ACTOR)
    asked = client.get(f"/m/login?code={code}", follow_redirects=False)
    assert asked.status_code == 200, asked.text  # the confirmation page: nothing spent yet
    response = client.post("/m/login", data={"code": code}, follow_redirects=False)
    assert response.status_code == 303, response.text


def session_client(
    app: FastAPI, factory: sessionmaker[Session], role: Role, member_id: int | None = None
) -> TestClient:
    """A plain client (no help with tokens, as a browser) holding a console or workspace session."""
    with transaction(factory) as session:
        secret = auth.create_session(session, role=role, member_id=member_id, label="browser", hours=1)
    client = TestClient(app)
    client.cookies.set("neigou_session", secret)
    return client

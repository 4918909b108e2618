"""Stopping a console account revokes the API tokens it issued (in the console and through the API),
with its sessions; tokens issued by others, and by the command line, keep working."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import accounts
from neigou.auth import service as auth
from neigou.auth.models import ApiToken, Role, User
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, bearer
from tests.sign_in import console_sign_in, create_operator


def _works(factory: sessionmaker[Session], secret: str) -> bool:
    with factory() as session:
        return auth.resolve(session, secret) is not None


def test_stopping_an_operator_revokes_the_api_tokens_they_issued(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    cookie = client.cookies["neigou_session"]
    with factory() as session:
        me = auth.resolve(session, cookie)
    assert me is not None
    assert me.user_id is not None
    # a token issued through the API with the operator's console session (the cookie as a bearer)
    issued = client.post(
        "/api/v1/tokens", json={"role": "integration", "label": "shop"}, headers=bearer(cookie)
    )
    assert issued.status_code == 201, issued.text
    theirs = issued.json()["token"]
    # one issued by someone else (the tests' operator, a command-line token)
    others = client.post("/api/v1/tokens", json={"role": "integration", "label": "other"}, headers=operator)
    assert others.status_code == 201, others.text
    with factory() as session:
        stored = session.get(ApiToken, issued.json()["id"])
        assert stored is not None
        assert (stored.issued_by_user_id, stored.user_id) == (me.user_id, None)
    create_operator(factory, "boss")
    with transaction(factory) as session:
        accounts.set_user_active(session, user_id=me.user_id, active=False, actor=TEST_ACTOR, at=utcnow())
    assert not _works(factory, cookie)
    assert not _works(factory, theirs)
    assert _works(factory, others.json()["token"])


def test_a_token_minted_with_an_api_token_is_tied_to_the_account_behind_it(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """T1 issued by a console account, T2 issued with T1, T3 with T2: all three answer to the account,
    and stopping it ends them all."""
    console_sign_in(client, factory)
    cookie = client.cookies["neigou_session"]
    with factory() as session:
        me = auth.resolve(session, cookie)
    assert me is not None
    assert me.user_id is not None
    chain = [cookie]
    for label in ("t1", "t2", "t3"):
        issued = client.post(
            "/api/v1/tokens", json={"role": "operator", "label": label}, headers=bearer(chain[-1])
        )
        assert issued.status_code == 201, issued.text
        with factory() as session:
            stored = session.get(ApiToken, issued.json()["id"])
            assert stored is not None
            assert stored.issued_by_user_id == me.user_id
        chain.append(issued.json()["token"])
    create_operator(factory, "boss")
    with transaction(factory) as session:
        accounts.set_user_active(session, user_id=me.user_id, active=False, actor=TEST_ACTOR, at=utcnow())
    assert [_works(factory, secret) for secret in chain] == [False] * 4
    refused = client.get("/api/v1/me", headers=bearer(chain[-1]))
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")


def test_a_token_of_a_stopped_account_is_refused_even_if_not_revoked(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """A token issued while the account was being stopped (so the revocation missed it) still ends:
    resolution asks whether its issuer, and a session's account, are active."""
    console_sign_in(client, factory)
    cookie = client.cookies["neigou_session"]
    issued = client.post("/api/v1/tokens", json={"role": "integration", "label": "x"}, headers=bearer(cookie))
    assert issued.status_code == 201, issued.text
    with transaction(factory) as session:
        me = auth.resolve(session, cookie)
        assert me is not None
        user = session.get(User, me.user_id)
        assert user is not None
        user.active = False  # stopped without the revocation that normally goes with it
    assert not _works(factory, cookie)
    assert not _works(factory, issued.json()["token"])
    with transaction(factory) as session:
        user = session.get(User, me.user_id)
        assert user is not None
        user.active = True
    assert _works(factory, cookie)
    assert _works(factory, issued.json()["token"])


def test_a_token_of_no_issuer_keeps_working(factory: sessionmaker[Session]) -> None:
    """Tokens issued by the command line (or before the issuer was recorded) answer to no account."""
    with transaction(factory) as session:
        _, secret = auth.create_token(session, role=Role.OPERATOR, actor=TEST_ACTOR, label="cli")
    with factory() as session:
        principal = auth.resolve(session, secret)
    assert principal is not None
    assert (principal.user_id, principal.issued_by_user_id, principal.answerable_user_id) == (
        None,
        None,
        None,
    )

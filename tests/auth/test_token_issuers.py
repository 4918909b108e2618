"""Stopping a console account revokes the API tokens it issued (in the console and through the API),
with its sessions; tokens issued by others, and by the command line, keep working."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import ApiToken
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
        auth.set_user_active(session, user_id=me.user_id, active=False, actor=TEST_ACTOR, at=utcnow())
    assert not _works(factory, cookie)
    assert not _works(factory, theirs)
    assert _works(factory, others.json()["token"])

"""A sign-in ends the session the browser presented before it (console and workspace): a secret left
in a shared browser, or planted in it, stops working when someone signs in. An API token put in the
cookie is not a session and is left alone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.network.recruit_codes import recruit_code
from tests.conftest import SECRET, TokenMaker
from tests.factories import create_member, create_program
from tests.sign_in import PASSWORD, console_sign_in, create_operator, member_sign_in


def _works(factory: sessionmaker[Session], secret: str) -> bool:
    with factory() as session:
        return auth.resolve(session, secret) is not None


def test_a_console_sign_in_revokes_the_session_presented(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    first = client.cookies["neigou_session"]
    create_operator(factory, "ops2")
    again = client.post(
        "/console/login", data={"username": "ops2", "password": PASSWORD}, follow_redirects=False
    )
    assert again.status_code == 303
    second = client.cookies["neigou_session"]
    assert second != first
    assert not _works(factory, first)
    assert _works(factory, second)
    # a failed sign-in ends nothing
    assert client.post("/console/login", data={"username": "ops2", "password": "nope"}).status_code == 401
    assert _works(factory, second)


def test_a_workspace_sign_in_revokes_the_session_presented(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="小美")
    token = make_token(Role.MEMBER, member["id"])
    member_sign_in(client, token)
    first = client.cookies["neigou_session"]
    member_sign_in(client, token)
    second = client.cookies["neigou_session"]
    assert not _works(factory, first)
    assert _works(factory, second)


def test_an_api_token_in_the_cookie_is_not_revoked(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="小美")
    token = make_token(Role.MEMBER, member["id"])
    client.cookies.set("neigou_session", token)
    member_sign_in(client, token)
    assert _works(factory, token)


def test_joining_revokes_the_session_presented(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """The join page signs its new member in at once: the session the browser held before ends."""
    program = create_program(client, operator)
    owner = create_member(client, operator, program["id"], name="群主")
    member_sign_in(client, make_token(Role.MEMBER, owner["id"]))
    first = client.cookies["neigou_session"]
    joined = client.post(
        f"/j/{recruit_code(SECRET, owner['id'])}", data={"name": "新人", "phone": "13812340000"}
    )
    assert joined.status_code == 201
    second = client.cookies["neigou_session"]
    assert second != first
    assert not _works(factory, first)
    assert _works(factory, second)

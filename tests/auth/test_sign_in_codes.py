"""One-time workspace sign-in codes: stored hashed, bound to one member, spent by their first use,
expired after their minutes, never a bearer token; the sign-in link and the CLI carry no API token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.auth import service as auth
from neigou.auth import sign_in_codes
from neigou.auth.models import ApiToken, TokenKind
from neigou.cli.main import app as cli
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import NotFound
from neigou.kit.ids import digest
from neigou.kit.settings import get_settings
from tests.cli_env import cli_environment
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program

runner = CliRunner()


@pytest.fixture
def member_id(client: TestClient, operator: dict[str, str]) -> int:
    program = create_program(client, operator)
    member: dict[str, int] = create_member(client, operator, program["id"], name="群主·小美")
    return member["id"]


def _issue(factory: sessionmaker[Session], member_id: int, minutes: int = 15) -> str:
    with transaction(factory) as session:
        return sign_in_codes.issue(session, member_id=member_id, minutes=minutes, actor=TEST_ACTOR)


def test_a_code_is_stored_hashed_works_once_and_is_no_bearer_token(
    factory: sessionmaker[Session], member_id: int
) -> None:
    code = _issue(factory, member_id)
    assert code.startswith("ngc_")
    with factory() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.SIGN_IN)).one()
        assert (row.token_hash, row.member_id) == (digest(code), member_id)
        assert code not in str([row.token_hash, row.label])
        assert auth.resolve(session, code) is None  # opens no API
    with transaction(factory) as session:
        assert sign_in_codes.redeem(session, code) == member_id
    with transaction(factory) as session:
        assert sign_in_codes.redeem(session, code) is None  # spent


def test_a_code_expires_after_its_minutes(factory: sessionmaker[Session], member_id: int) -> None:
    now = utcnow()
    with transaction(factory) as session:
        code = sign_in_codes.issue(session, member_id=member_id, minutes=15, actor=TEST_ACTOR, at=now)
    with transaction(factory) as session:
        assert sign_in_codes.redeem(session, code, at=now + timedelta(minutes=15)) is None
    with transaction(factory) as session:
        assert sign_in_codes.redeem(session, code, at=now + timedelta(minutes=14, seconds=59)) == member_id


def test_a_code_for_an_unknown_member_is_refused(factory: sessionmaker[Session], member_id: int) -> None:
    with pytest.raises(NotFound) as refused, transaction(factory) as session:
        sign_in_codes.issue(session, member_id=member_id + 999, minutes=15, actor=TEST_ACTOR)
    assert refused.value.code == "member_not_found"


def test_used_and_expired_codes_are_purged_after_a_day(
    factory: sessionmaker[Session], member_id: int
) -> None:
    used, fresh = _issue(factory, member_id), _issue(factory, member_id)
    with transaction(factory) as session:
        sign_in_codes.redeem(session, used)
    with transaction(factory) as session:
        auth.purge_expired_sessions(session, {}, utcnow() + timedelta(hours=2))
        assert len(session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.SIGN_IN)).all()) == 2
        auth.purge_expired_sessions(session, {}, utcnow() + timedelta(days=2))
        assert session.scalars(select(ApiToken).where(ApiToken.kind == TokenKind.SIGN_IN)).all() == []
    assert fresh != used


def test_the_sign_in_link_opens_the_workspace_once(
    client: TestClient, factory: sessionmaker[Session], member_id: int
) -> None:
    code = _issue(factory, member_id)
    # Opening the link (or a preview of it) asks first: it spends nothing and opens no session ...
    for _ in range(2):
        asked = client.get(f"/m/login?code={code}", follow_redirects=False)
        assert asked.status_code == 200
        assert "neigou_session" not in asked.cookies
        assert (asked.headers["cache-control"], asked.headers["referrer-policy"]) == (
            "no-store",
            "strict-origin",
        )
        assert "登录您的工作台" in asked.text
        assert "群主·小美" not in asked.text  # names nobody
        assert 'method="post" action="/m/login"' in asked.text
    assert client.get("/m/", follow_redirects=False).headers["location"] == "/m/expired"
    # ... the page's button signs in, once.
    signed_in = client.post("/m/login", data={"code": code}, follow_redirects=False)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/m/")
    assert signed_in.headers["cache-control"] == "no-store"
    assert signed_in.headers["referrer-policy"] == "no-referrer"
    assert "群主·小美" in client.get("/m/").text
    client.cookies.delete("neigou_session")
    assert client.get(f"/m/login?code={code}", follow_redirects=False).status_code == 401
    again = client.post("/m/login", data={"code": code}, follow_redirects=False)
    assert again.status_code == 401
    assert "neigou_session" not in again.cookies


def test_the_sign_in_post_needs_the_csrf_token(
    factory: sessionmaker[Session], app: FastAPI, member_id: int
) -> None:
    code = _issue(factory, member_id)
    with TestClient(app) as bare:  # a form another site posted: no CSRF token, or another Origin
        bare.cookies.set("neigou_lang", "zh_CN")  # a browser that has been here sends its cookies
        refused = bare.post("/m/login", data={"code": code}, follow_redirects=False)
        assert refused.status_code == 403
        assert "neigou_session" not in refused.cookies
        bare.cookies.clear()
        elsewhere = {"origin": "https://evil.example"}
        crossed = bare.post("/m/login", data={"code": code}, headers=elsewhere, follow_redirects=False)
        assert crossed.status_code == 403
        assert bare.get(f"/m/login?code={code}").status_code == 200  # the code was not spent


@pytest.fixture
def env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cli_environment(monkeypatch, database_url)
    monkeypatch.setenv("NEIGOU_PUBLIC_URL", "https://shop.example")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_cli_prints_a_one_time_link_on_the_public_url(env: None, client: TestClient, member_id: int) -> None:
    result = runner.invoke(cli, ["token", "sign-in-link", "--member-id", str(member_id), "--minutes", "30"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert link.startswith("https://shop.example/m/login?code=ngc_")
    assert "ngt_" not in result.output
    assert "30 minutes" in result.output
    path = link.removeprefix("https://shop.example")
    assert client.get(path, follow_redirects=False).status_code == 200  # asks first
    code = path.removeprefix("/m/login?code=")
    assert client.post("/m/login", data={"code": code}, follow_redirects=False).status_code == 303
    assert client.get(path, follow_redirects=False).status_code == 401
    unknown = runner.invoke(cli, ["token", "sign-in-link", "--member-id", str(member_id + 999)])
    assert (unknown.exit_code, "member_not_found" in unknown.output) == (2, True)

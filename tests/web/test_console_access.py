"""The console's access page: console users made, stopped and let back in; API tokens issued with their
secret shown once, and revoked."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.sealed import derived_key
from neigou.web import once
from tests.conftest import SECRET, TokenMaker, page_client, row_counts
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in


def test_pages_and_forms_need_an_operator(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    assert client.get("/console/access", follow_redirects=False).status_code == 303
    posted = client.post("/console/tokens", data={"role": "operator"}, follow_redirects=False)
    assert posted.status_code == 303  # to the sign-in page, nothing issued
    assert posted.headers["location"].startswith("/console/login")
    program = create_program(client, operator, code="fx", name="芬香")
    member = create_member(client, operator, program["id"], name="王芳")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    assert client.get("/console/access", follow_redirects=False).status_code == 403
    assert client.post("/console/tokens", data={"role": "operator"}).status_code == 403


def test_operator_issues_a_token_shown_once_and_revokes_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香")
    member = create_member(client, operator, program["id"], name="王芳")
    console_sign_in(client, factory)
    posted = client.post(
        "/console/tokens",
        data={"role": "member", "label": "王芳的手机", "member_id": str(member["id"])},
        follow_redirects=False,
    )
    assert posted.status_code == 303  # Post/Redirect/Get: the page showing the secret is a GET
    issued = client.get(posted.headers["location"])
    assert issued.status_code == 200
    assert issued.headers["cache-control"] == "no-store"
    secret = re.search(r'value="(ngt_[^"]+)" data-testid="token-secret"', issued.text)
    assert secret is not None
    assert secret.group(1) not in posted.headers["location"] + posted.headers["set-cookie"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).json()
    assert (me["role"], me["member_id"]) == ("member", member["id"])
    listing = client.get("/console/access").text
    assert secret.group(1) not in listing  # never again
    assert "王芳的手机" in listing
    assert "王芳</td>" in listing
    token_id = re.search(r'action="/console/tokens/(\d+)/revoke"', listing)
    assert token_id is not None
    revoked = client.post(f"/console/tokens/{token_id.group(1)}/revoke", follow_redirects=False)
    assert revoked.headers["location"] == "/console/access?done=token_revoked"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"}).status_code == 401
    assert "令牌已吊销" in client.get(revoked.headers["location"]).text


def test_a_refused_token_or_user_writes_nothing_and_says_why(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    no_member = client.post("/console/tokens", data={"role": "member", "label": "x", "member_id": ""})
    assert no_member.status_code == 422
    assert 'data-code="member_required"' in no_member.text
    unknown = client.post("/console/tokens", data={"role": "member", "member_id": "999999"})
    assert unknown.status_code == 404
    assert 'data-code="member_not_found"' in unknown.text
    weak = client.post("/console/users", data={"username": "li", "password": "short"})
    assert weak.status_code == 422
    assert 'data-code="weak_password"' in weak.text
    assert 'data-testid="error-password" data-code="weak_password"' in weak.text
    assert 'data-testid="error-member_id" data-code="member_required"' in no_member.text
    assert 'value="li"' in weak.text  # the form keeps what was typed, never the password
    taken = client.post("/console/users", data={"username": "ops", "password": "long-enough-1"})
    assert taken.status_code == 409
    assert row_counts(factory) == before
    bad_role = client.post("/console/tokens", data={"role": "root"})
    assert bad_role.status_code == 422


@pytest.mark.parametrize("role", ["member", "operator"])
@pytest.mark.parametrize("typed", ["abc", "1２", "-3", "12 34"])
def test_a_member_id_that_is_no_number_is_refused_not_read_as_none(
    client: TestClient, factory: sessionmaker[Session], role: str, typed: str
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    refused = client.post("/console/tokens", data={"role": role, "label": "x", "member_id": typed})
    assert refused.status_code == 422
    assert 'data-testid="error-member_id" data-code="invalid_integer"' in refused.text
    assert "会员 ID 是数字，例如 12。" in refused.text  # translated, naming the field and not the value typed
    assert row_counts(factory) == before


def test_operator_adds_a_console_user_stops_them_and_lets_them_back(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    made = client.post(
        "/console/users",
        data={"username": "li.qiang", "display_name": "李强", "password": "long-enough-1"},
        follow_redirects=False,
    )
    assert made.headers["location"] == "/console/access?done=user_created"
    colleague = page_client(client.app)  # type: ignore[arg-type]
    login = {"username": "li.qiang", "password": "long-enough-1"}
    assert colleague.post("/console/login", data=login, follow_redirects=False).status_code == 303
    assert colleague.get("/console/access", follow_redirects=False).status_code == 200
    page = client.get("/console/access").text
    user_id = re.search(r'action="/console/users/(\d+)/active"', page)
    assert user_id is not None
    stopped = client.post(
        f"/console/users/{user_id.group(1)}/active", data={"active": "false"}, follow_redirects=False
    )
    assert stopped.headers["location"] == "/console/access?done=user_stopped"
    # their open session ends at once, and they cannot sign in again
    assert colleague.get("/console/access", follow_redirects=False).status_code == 303
    assert colleague.post("/console/login", data=login, follow_redirects=False).status_code == 401
    client.post(f"/console/users/{user_id.group(1)}/active", data={"active": "true"})
    assert colleague.post("/console/login", data=login, follow_redirects=False).status_code == 303
    # an operator cannot lock themself out
    own = re.findall(r'action="/console/users/(\d+)/active"', client.get("/console/access").text)
    assert len(own) == 1  # only the colleague has the button


def test_reloading_the_page_that_showed_a_token_issues_no_other(
    client: TestClient, factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    console_sign_in(client, factory)
    before = row_counts(factory)
    with caplog.at_level(logging.DEBUG):
        posted = client.post("/console/tokens", data={"role": "operator", "label": "对账脚本"})
    assert posted.history[0].status_code == 303
    assert posted.url.path == "/console/access"
    secret = re.search(r'value="(ngt_[^"]+)" data-testid="token-secret"', posted.text)
    assert secret is not None
    assert 'data-testid="secret-gone"' not in posted.text
    reloaded = client.get(posted.url)  # what a browser's reload sends
    assert reloaded.status_code == 200
    assert secret.group(1) not in reloaded.text
    assert 'data-testid="token-issued"' not in reloaded.text
    assert 'data-testid="secret-gone"' in reloaded.text
    after = row_counts(factory)
    assert after["api_tokens"] == before["api_tokens"] + 1  # one token, however often the page loads
    assert secret.group(1) not in caplog.text + str(posted.url)


def test_a_secret_is_shown_only_for_its_own_slot_and_only_soon(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    key = Fernet(derived_key(SECRET, purpose="console-once"))
    kept = {"slot": "s1", "path": "/console/access", "shown": {"id": 1, "label": "x", "secret": "ngt_kept"}}
    fresh = key.encrypt(json.dumps(kept).encode()).decode()
    stale = key.encrypt_at_time(json.dumps(kept).encode(), int(time.time()) - once.ONCE_SECONDS - 5).decode()
    forged = Fernet(Fernet.generate_key()).encrypt(json.dumps(kept).encode()).decode()
    elsewhere = key.encrypt(json.dumps({**kept, "path": "/console/programs/1/settings"}).encode()).decode()
    for cookie, slot, shows in (
        (fresh, "s1", True),
        (fresh, "s2", False),
        (stale, "s1", False),
        (forged, "s1", False),
        (elsewhere, "s1", False),
    ):
        client.cookies.set(once.ONCE_COOKIE, cookie, path="/console/access")
        page = client.get(f"/console/access?shown={slot}")
        assert ('value="ngt_kept"' in page.text) is shows, (slot, shows)
        assert ('data-testid="secret-gone"' in page.text) is not shows
        assert f'{once.ONCE_COOKIE}=""' in page.headers["set-cookie"]  # taken or not, it is deleted
        client.cookies.delete(once.ONCE_COOKIE)

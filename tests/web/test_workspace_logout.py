"""Signing out of the member workspace: the "me" page's button posts to /m/logout, which revokes the
member's session (its cookie is refused from then on, a copy of it too) and drops the cookie, then shows
the signed-out page. Without a session it goes to the expired page; a console session is refused and
stays open; a member's API token is never revoked by it; a post from another site is refused."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.web.forms import CSRF_COOKIE
from tests.conftest import TokenMaker, bearer, page_client
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in, session_client

EVIL = "https://evil.example"


@pytest.fixture
def member_id(client: TestClient, operator: dict[str, str]) -> int:
    program = create_program(client, operator)
    made: int = create_member(client, operator, program["id"], name="群主·小美")["id"]
    return made


def _stands(factory: sessionmaker[Session], secret: str) -> bool:
    with factory() as session:
        return auth.resolve(session, secret) is not None


def _to_expired(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/m/expired"), path


def _sign_out_form(page: str) -> dict[str, str]:
    """The hidden fields of the "me" page's sign-out form, as a browser sends them."""
    form = re.search(r'<form method="post" action="/m/logout"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert form is not None
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)))


def test_the_me_page_signs_the_member_out_for_good(
    client: TestClient, factory: sessionmaker[Session], make_token: TokenMaker, member_id: int
) -> None:
    member_sign_in(client, make_token(Role.MEMBER, member_id))
    secret = client.cookies["neigou_session"]
    me = client.get("/m/me").text
    assert list(_sign_out_form(me)) == ["csrftoken"]  # the CSRF field first, as every form's
    assert 'data-testid="sign-out">退出<' in me
    out = client.post("/m/logout", follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/m/signed-out")
    assert 'neigou_session=""' in out.headers["set-cookie"]
    assert "neigou_session" not in client.cookies  # the browser drops it
    assert not _stands(factory, secret)  # and the server no longer knows it
    _to_expired(client, "/m/")
    page = client.get(out.headers["location"])
    assert page.status_code == 200
    assert 'data-testid="signed-out"' in page.text
    assert "已退出登录" in page.text
    assert "新的登录链接" in page.text
    assert 'data-testid="bottom-nav"' not in page.text  # every item of it would go to the expired page
    english = client.get("/m/signed-out?lang=en").text
    assert "You have signed out of your workspace" in english
    # A copy of the old cookie, presented again, opens nothing and signs nothing out.
    client.cookies.set("neigou_session", secret)
    for path in ("/m/", "/m/me", "/m/earnings"):
        _to_expired(client, path)
    again = client.post("/m/logout", follow_redirects=False)
    assert (again.status_code, again.headers["location"]) == (303, "/m/expired")


def test_a_sign_out_shown_in_english_lands_in_english(
    app: FastAPI, factory: sessionmaker[Session], member_id: int
) -> None:
    browser = session_client(app, factory, Role.MEMBER, member_id)  # a plain client, as a browser
    me = browser.get("/m/me?lang=en").text
    assert 'data-testid="sign-out">Sign out<' in me
    form = _sign_out_form(me)
    assert form["form_lang"] == "en"
    out = browser.post("/m/logout", data=form, follow_redirects=False)
    assert out.headers["location"] == "/m/signed-out?lang=en"
    landed = browser.get(out.headers["location"]).text
    assert "Signed out" in landed
    assert "open a new sign-in link from your operator" in landed


def test_signing_out_ends_this_browsers_session_only(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], make_token: TokenMaker, member_id: int
) -> None:
    token = make_token(Role.MEMBER, member_id)
    with page_client(app) as phone:
        member_sign_in(phone, token)
        member_sign_in(client, token)
        assert client.post("/m/logout", follow_redirects=False).status_code == 303
        assert phone.get("/m/me").status_code == 200  # the member's other phone stays signed in
        assert _stands(factory, token)  # and so does the member's API token


def test_anonymous_sign_out_goes_to_the_expired_page(app: FastAPI) -> None:
    with TestClient(app) as stranger:  # no cookie at all, so no CSRF token is asked for either
        out = stranger.post("/m/logout", follow_redirects=False)
        assert (out.status_code, out.headers["location"]) == (303, "/m/expired")
        assert stranger.get("/m/signed-out").status_code == 200  # the landing page needs no session


def test_a_console_session_is_refused_and_stays_open(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    secret = client.cookies["neigou_session"]
    refused = client.post("/m/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers or "neigou_session" not in refused.headers["set-cookie"]
    assert _stands(factory, secret)
    assert client.get("/console/access", follow_redirects=False).status_code == 200


def test_a_members_api_token_is_never_revoked_by_it(
    client: TestClient, factory: sessionmaker[Session], make_token: TokenMaker, member_id: int
) -> None:
    token = make_token(Role.MEMBER, member_id)
    as_bearer = client.post("/m/logout", headers=bearer(token), follow_redirects=False)
    assert as_bearer.status_code == 303
    client.cookies.set("neigou_session", token)  # put in the cookie by hand
    assert client.post("/m/logout", follow_redirects=False).status_code == 303
    assert _stands(factory, token)
    assert client.get("/api/v1/programs", headers=bearer(token)).status_code != 401


def test_a_sign_out_from_another_site_or_without_its_token_is_refused(
    app: FastAPI, factory: sessionmaker[Session], member_id: int
) -> None:
    browser = session_client(app, factory, Role.MEMBER, member_id)  # a plain client: no help with tokens
    secret = browser.cookies["neigou_session"]
    me = browser.get("/m/me")
    assert me.status_code == 200
    assert browser.cookies.get(CSRF_COOKIE)
    form = _sign_out_form(me.text)
    assert list(form) == ["csrftoken"]
    for headers in ({"Origin": EVIL}, {"Referer": f"{EVIL}/page"}):
        crossed = browser.post("/m/logout", data=form, headers=headers, follow_redirects=False)
        assert crossed.status_code == 403
        assert 'data-code="cross_origin"' in crossed.text
    tokenless = browser.post("/m/logout", follow_redirects=False)
    assert (tokenless.status_code, 'data-code="csrf_failed"' in tokenless.text) == (403, True)
    assert _stands(factory, secret)
    assert browser.get("/m/me").status_code == 200
    own = browser.post(
        "/m/logout", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert (own.status_code, own.headers["location"]) == (303, "/m/signed-out")
    assert not _stands(factory, secret)

"""Forms cannot be turned against their users: every POST form carries a CSRF token, and a form sent
from another site, or without its token, is refused with a readable 403 page and changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from neigou.web.forms import CSRF_COOKIE
from neigou.web.paths import TEMPLATE_DIR
from tests.conftest import row_counts
from tests.orders.builders import World, balance, settled_world
from tests.sign_in import PASSWORD, USERNAME, create_operator, session_client

POST_FORM = re.compile(r"<form\b[^>]*\bmethod=[\"']?post\b[^>]*>", re.IGNORECASE | re.DOTALL)
FIELD = re.compile(r'name="csrftoken" value="([^"]+)"')
EVIL = "http://evil.example"


def test_every_post_form_starts_with_the_csrf_field() -> None:
    missing, forms = [], 0
    for template in sorted(Path(TEMPLATE_DIR).rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for form in POST_FORM.finditer(text):
            forms += 1
            if not text[form.end() :].lstrip().startswith("{{ csrf_field() }}"):
                line = text.count("\n", 0, form.start()) + 1
                missing.append(f"{template.relative_to(TEMPLATE_DIR)}:{line}")
    assert forms >= 28  # the scan sees the forms (a broken pattern would pass vacuously)
    assert missing == [], "POST forms without {{ csrf_field() }} as their first child: " + ", ".join(missing)


def _token(client: TestClient, page: str) -> str:
    """The CSRF token of the first form on ``page``, as a browser reads it."""
    response = client.get(page)
    assert response.status_code == 200, response.text
    found = FIELD.search(response.text)
    assert found is not None, page
    assert client.cookies.get(CSRF_COOKIE)
    return found.group(1)


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> World:
    w, _ = settled_world(client, operator, factory)
    return w


def _refused(response: object, code: str) -> None:
    assert getattr(response, "status_code", None) == 403
    text: str = getattr(response, "text", "")
    assert f'data-code="{code}"' in text
    assert "未被接受" in text or "not accepted" in text


def test_a_withdrawal_from_another_site_or_without_its_token_is_refused(
    app: FastAPI, factory: sessionmaker[Session], world: World, operator: dict[str, str], client: TestClient
) -> None:
    browser = session_client(app, factory, Role.MEMBER, world.seller)
    token = _token(browser, "/m/earnings")
    form = {"csrftoken": token, "amount": "10", "request_id": "rq-1"}
    before = row_counts(factory)
    cross_site = browser.post(
        "/m/earnings/withdrawals", data=form, headers={"Origin": EVIL}, follow_redirects=False
    )
    _refused(cross_site, "cross_origin")
    referred = browser.post(
        "/m/earnings/withdrawals", data=form, headers={"Referer": f"{EVIL}/x"}, follow_redirects=False
    )
    _refused(referred, "cross_origin")
    tokenless = {k: v for k, v in form.items() if k != "csrftoken"}
    _refused(browser.post("/m/earnings/withdrawals", data=tokenless, follow_redirects=False), "csrf_failed")
    forged = {**form, "csrftoken": token[:-2] + "xx"}
    _refused(browser.post("/m/earnings/withdrawals", data=forged, follow_redirects=False), "csrf_failed")
    assert row_counts(factory) == before
    # The same form from the page itself goes through.
    sent = browser.post(
        "/m/earnings/withdrawals", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert sent.headers["location"] == "/m/earnings?done=1"
    assert balance(client, operator, world.seller)["available_fen"] == 1600 - 1000


def test_a_console_settlement_from_another_site_or_without_its_token_is_refused(
    app: FastAPI, factory: sessionmaker[Session], world: World
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", "en")
    token = _token(browser, f"/console/orders?program_id={world.program_id}")
    path = f"/console/programs/{world.program_id}/settle"
    before = row_counts(factory)
    refused = browser.post(path, data={"csrftoken": token}, headers={"Origin": EVIL}, follow_redirects=False)
    _refused(refused, "cross_origin")
    assert "This form was sent from another site" in refused.text  # in the reader's language
    _refused(browser.post(path, follow_redirects=False), "csrf_failed")
    _refused(browser.post(path, data={"csrftoken": ""}, follow_redirects=False), "csrf_failed")
    assert row_counts(factory) == before
    settled = browser.post(path, data={"csrftoken": token}, follow_redirects=False)
    assert settled.status_code == 303
    assert settled.headers["location"].startswith(f"/console/orders?program_id={world.program_id}&settled=")


def test_a_form_sent_from_a_page_in_a_language_answers_in_it(
    app: FastAPI, factory: sessionmaker[Session], world: World
) -> None:
    """No language cookie: the page the form was on asked for English with ?lang=, and so does the
    page its redirect leads to (the browser names the page in the Referer; a form's action may too)."""
    browser = session_client(app, factory, Role.MEMBER, world.seller)
    token = _token(browser, "/m/earnings?lang=en")
    assert browser.cookies.get("neigou_lang") is None
    page = "http://testserver/m/earnings?lang=en"
    form = {"csrftoken": token, "amount": "1", "request_id": "rq-en"}
    sent = browser.post(
        "/m/earnings/withdrawals", data=form, headers={"Referer": page}, follow_redirects=False
    )
    assert sent.headers["location"] == "/m/earnings?done=1&lang=en"
    assert '<html lang="en">' in browser.get(sent.headers["location"]).text
    # a refusal goes back to the form, the fragment after the language
    again = browser.post(
        "/m/earnings/withdrawals",
        data={**form, "amount": "x"},
        headers={"Referer": page},
        follow_redirects=False,
    )
    assert again.headers["location"].endswith("&lang=en#withdraw")
    assert '<html lang="en">' in browser.get(again.headers["location"]).text
    # the form's own ?lang= counts first; a page without one changes nothing
    chinese = browser.post(
        "/m/earnings/payee?lang=zh-CN",
        data={"csrftoken": token, "kind": "alipay", "account": "x", "holder_name": "王芳"},
        headers={"Referer": page},
        follow_redirects=False,
    )
    assert "lang=zh-CN" in chinese.headers["location"]
    assert "lang=en" not in chinese.headers["location"]
    plain = browser.post(
        "/m/earnings/withdrawals",
        data={**form, "request_id": "rq-2"},
        headers={"Referer": "http://testserver/m/earnings"},
        follow_redirects=False,
    )
    assert plain.headers["location"] == "/m/earnings?done=1"
    odd = browser.post(
        "/m/earnings/withdrawals",
        data={**form, "request_id": "rq-3"},
        headers={"Referer": "http://testserver/m/earnings?lang=xx"},
        follow_redirects=False,
    )
    assert odd.headers["location"] == "/m/earnings?done=1"
    assert browser.cookies.get("neigou_lang") is None  # the cookie stays the language switch's


@pytest.mark.parametrize(
    ("shown_in", "cookie", "words", "other", "beside"),
    [
        (
            "en",
            "zh-CN",
            "Please fix the fields marked below; nothing was saved.",
            "请修改下面标出的字段",
            "Malformed value",
        ),
        (
            "zh-CN",
            "en",
            "请修改下面标出的字段；尚未保存任何内容。",
            "Please fix the fields",
            "内容格式不正确",
        ),
    ],
)
def test_a_refused_form_comes_back_in_the_language_it_was_shown_in(
    app: FastAPI,
    factory: sessionmaker[Session],
    world: World,
    *,
    shown_in: str,
    cookie: str,
    words: str,
    other: str,
    beside: str,
) -> None:
    """A form shown with ?lang= and refused is shown again (422) in that language, whatever the cookie
    says, as its redirect would have been; its links keep the language for the pages after it."""
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", cookie)
    path = f"/console/programs/{world.program_id}/edit"
    token = _token(browser, f"{path}?lang={shown_in}")
    form = {"csrftoken": token, "name": "", "timezone": "Asia/Shanghai", "window_days": "7"}
    before = row_counts(factory)
    # The browser names the page in the Referer; a form's action may carry the language instead.
    for action, referer in (
        (path, f"http://testserver{path}?lang={shown_in}"),
        (f"{path}?lang={shown_in}", None),
    ):
        again = browser.post(action, data=form, headers={"Referer": referer} if referer else {})
        assert again.status_code == 422, again.text
        assert f'<html lang="{shown_in}">' in again.text
        assert words in again.text
        assert other not in again.text
        assert f'data-testid="error-name" data-code="validation_error">{beside}<' in again.text
        assert f'href="/console?lang={shown_in}"' in again.text  # the navigation keeps it
    # A form refused for its token is answered in that language too.
    expired = browser.post(
        path, data={**form, "csrftoken": ""}, headers={"Referer": f"http://testserver{path}?lang={shown_in}"}
    )
    _refused(expired, "csrf_failed")
    assert f'<html lang="{shown_in}">' in expired.text
    assert row_counts(factory) == before
    # Without a language on the form's page, the cookie decides, as before.
    plain = browser.post(path, data=form, headers={"Referer": f"http://testserver{path}"})
    assert f'<html lang="{cookie}">' in plain.text
    assert browser.cookies.get("neigou_lang") == cookie  # the cookie stays the language switch's


def test_the_api_and_signed_webhooks_are_not_form_checked(
    client: TestClient, operator: dict[str, str], world: World
) -> None:
    # Bearer tokens are not sent by browsers on their own: an Origin changes nothing for the API.
    listed = client.get(f"/api/v1/programs/{world.program_id}", headers={**operator, "Origin": EVIL})
    assert listed.status_code == 200
    created = client.post(
        f"/api/v1/programs/{world.program_id}/settlements",
        json={},
        headers={**operator, "Origin": EVIL},
    )
    assert created.status_code in {200, 201}, created.text


def test_sign_in_on_https_sets_secure_cookies(settings: Settings, factory: sessionmaker[Session]) -> None:
    create_operator(factory)
    https = settings.model_copy(update={"public_url": "https://shop.example", "trusted_hosts": "*"})
    with TestClient(create_app(https, session_factory=factory)) as browser:
        token = _token(browser, "/console/login")
        signed_in = browser.post(
            "/console/login",
            data={"csrftoken": token, "username": USERNAME, "password": PASSWORD},
            follow_redirects=False,
        )
        assert signed_in.status_code == 303, signed_in.text
        cookies = signed_in.headers.get_list("set-cookie")
        assert any(c.startswith("neigou_session=") and "Secure" in c and "HttpOnly" in c for c in cookies)
        login_page = TestClient(create_app(https, session_factory=factory)).get("/console/login")
        assert "Secure" in login_page.headers["set-cookie"]  # the CSRF cookie too
    # Plain http on the public URL, but the request came over HTTPS (a proxy passing the scheme on).
    with TestClient(create_app(settings, session_factory=factory), base_url="https://testserver") as browser:
        token = _token(browser, "/console/login")
        signed_in = browser.post(
            "/console/login",
            data={"csrftoken": token, "username": USERNAME, "password": PASSWORD},
            follow_redirects=False,
        )
        assert "Secure" in signed_in.headers["set-cookie"]
    with TestClient(create_app(settings, session_factory=factory)) as browser:
        token = _token(browser, "/console/login")
        signed_in = browser.post(
            "/console/login",
            data={"csrftoken": token, "username": USERNAME, "password": PASSWORD},
            follow_redirects=False,
        )
        assert "Secure" not in signed_in.headers["set-cookie"]

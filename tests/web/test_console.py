"""Console and workspace pages through HTTP: sign-in, programs, members, language, sessions."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from limits import parse
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.auth.throttle import SignInThrottle
from neigou.web.pages import safe_next
from tests.conftest import TokenMaker
from tests.factories import create_member, create_program
from tests.pages import refusal_code
from tests.sign_in import PASSWORD, console_sign_in, create_operator, member_sign_in


def test_console_requires_sign_in(client: TestClient) -> None:
    response = client.get("/console/audit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/audit"
    page = client.get("/console/login")
    assert page.status_code == 200
    assert "登录" in page.text
    assert 'lang="zh-CN"' in page.text


def test_wrong_password_is_refused(client: TestClient, factory: sessionmaker[Session]) -> None:
    create_operator(factory)
    response = client.post("/console/login", data={"username": "ops", "password": "nope-nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "neigou_session" not in response.cookies


def test_failed_sign_ins_are_throttled_per_username_and_per_ip(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    defaults = SignInThrottle()
    assert (str(defaults.per_username), str(defaults.per_ip)) == ("10 per 15 minute", "30 per 15 minute")
    # Smaller limits of the same kind keep the test short (each failure checks an Argon2 hash).
    client.app.state.sign_in_throttle = SignInThrottle(  # type: ignore[attr-defined]
        per_username=parse("3 per 15 minutes"), per_ip=parse("6 per 15 minutes")
    )
    create_operator(factory)
    for _ in range(3):
        assert client.post("/console/login", data={"username": "ops", "password": "guess"}).status_code == 401
    # The username has used up its failures: even the right password is not checked now.
    refused = client.post("/console/login", data={"username": " OPS", "password": PASSWORD})
    assert refused.status_code == 429
    assert "登录失败次数过多" in refused.text
    assert "neigou_session" not in refused.cookies
    assert 1 <= int(refused.headers["retry-after"]) <= 15 * 60
    client.cookies.set("neigou_lang", "en")
    english = client.post("/console/login", data={"username": "ops", "password": PASSWORD})
    assert "Too many failed sign-ins" in english.text
    client.cookies.delete("neigou_lang")
    # Another username from the same IP still signs in, which clears only its own count ...
    create_operator(factory, "ops2")
    ok = client.post(
        "/console/login", data={"username": "ops2", "password": PASSWORD}, follow_redirects=False
    )
    assert ok.status_code == 303
    # ... until the IP has used up its own attempts across usernames (failures only: the success gave
    # its attempt back).
    for n in range(3):
        assert (
            client.post("/console/login", data={"username": f"u{n}", "password": "guess"}).status_code == 401
        )
    assert client.post("/console/login", data={"username": "ops2", "password": PASSWORD}).status_code == 429


def test_programs_and_program_detail(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="fx", name="芬香合伙人")
    root = create_member(client, operator, program["id"], name="导师·王丽丽", tier="mentor")
    create_member(client, operator, program["id"], name="群主·李小美", inviter_id=root["id"])
    console_sign_in(client, factory, next_page="/console")
    listing = client.get("/console")
    assert "芬香合伙人" in listing.text
    detail = client.get(f"/console/programs/{program['id']}")
    assert detail.status_code == 200
    assert "导师·王丽丽" in detail.text
    assert 'data-testid="invite-tree"' in detail.text
    assert "20%" in detail.text
    assert "30%" in detail.text
    base = f"/console/programs/{program['id']}"
    rows = re.findall(r'data-testid="member-row"><td>(\d+)</td>', client.get(base + "?sort=-name").text)
    assert rows == [str(root["id"] + 1), str(root["id"])]  # 群主 sorts after 导师 by code point
    found = client.get(base + "?q=李小美").text
    assert re.findall(r'data-testid="member-row"><td>(\d+)</td>', found) == [str(root["id"] + 1)]
    assert "导师·王丽丽</td>" in found  # the inviter's name, though not on the page
    mentors = client.get(base + "?tier=mentor").text
    assert re.findall(r'data-testid="member-row"><td>(\d+)</td>', mentors) == [str(root["id"])]
    missing = client.get("/console/programs/999999")
    assert (missing.status_code, refusal_code(missing)) == (404, "program_not_found")


def test_root_keeps_the_asked_language_and_the_program_reads_in_it(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """``/?lang=en`` lands on the English console; a program's overview writes its attribution window
    and its upgrade rule's conditions as sentences of the page's language."""
    assert client.get("/?lang=en", follow_redirects=False).headers["location"] == "/console?lang=en"
    assert client.get("/", follow_redirects=False).headers["location"] == "/console"
    assert client.get("/?lang=xx", follow_redirects=False).headers["location"] == "/console"
    program = create_program(client, operator, attribution={"model": "last_click", "window_days": 15})
    console_sign_in(client, factory, next_page="/console")
    english = client.get(f"/console/programs/{program['id']}?lang=en").text
    assert "<dd>Last click · 15-day window</dd>" in english
    assert "Window (days)" not in english
    rule = re.search(r"<td>(recruits ≥ [^<]*)</td>", english)
    assert rule, english
    assert rule.group(1) == "recruits ≥ 3 (超级会员+), orders ≥ 10"
    chinese = client.get(f"/console/programs/{program['id']}").text
    assert "15 天归因窗口</dd>" in chinese
    assert "直推 ≥ 3 (超级会员+)，订单 ≥ 10" in chinese


def test_language_switch_and_safe_redirects(client: TestClient, factory: sessionmaker[Session]) -> None:
    console_sign_in(client, factory, next_page="/console")
    switched = client.get("/lang?to=en&next=/console", follow_redirects=False)
    assert switched.headers["location"] == "/console"
    client.cookies.set("neigou_lang", switched.cookies["neigou_lang"])
    assert "Programs" in client.get("/console").text
    assert (
        client.get("/lang?to=en&next=https://evil.example/", follow_redirects=False).headers["location"]
        == "/console"
    )
    assert safe_next("//evil.example/x", "/console") == "/console"
    assert safe_next("/console/audit", "/console") == "/console/audit"


def test_logout_revokes_the_session(client: TestClient, factory: sessionmaker[Session]) -> None:
    console_sign_in(client, factory, next_page="/console")
    secret = client.cookies["neigou_session"]
    client.post("/console/logout", follow_redirects=False)
    with factory() as session:
        assert auth.resolve(session, secret) is None


def test_member_cookie_does_not_open_the_console(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="群主·小美")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    workspace = client.get("/m/")
    assert "群主·小美" in workspace.text
    assert "超级会员" in workspace.text
    console = client.get("/console")
    assert console.status_code == 403


def test_workspace_link_with_a_bad_code_or_a_token(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    assert client.get("/m/login?code=ngc_bogus").status_code == 401
    assert client.get("/m/login").status_code == 401
    program = create_program(client, operator)
    member_token = make_token(Role.MEMBER, create_member(client, operator, program["id"])["id"])
    # An API token opens nothing through a link, neither as the code nor as the old ?token=.
    assert client.get(f"/m/login?code={member_token}").status_code == 401
    assert client.get(f"/m/login?token={member_token}").status_code == 401
    assert client.get("/m/", follow_redirects=False).headers["location"] == "/m/expired"


def test_health_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/openapi.json").status_code == 200
    unknown = client.get("/api/v1/nothing-here")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


def test_api_docs_use_local_assets_only(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    for asset in ("htmx.min.js", "echarts.min.js"):
        assert client.get(f"/static/vendor/{asset}").status_code == 200

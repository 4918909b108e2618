"""A page's refusals beyond Starlette's own 404 and 405 (``web.error_pages``): a parameter its route cannot
read, a domain's 4xx, a 503 (a Redis that does not answer, a store held elsewhere) are pages in the
language the page itself is in (``?lang=``, then the cookie, then zh-CN; never ``Accept-Language``), their
status and ``Retry-After`` kept; the images a page shows refuse with problem+json and a code."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from neigou.auth.models import Role
from neigou.kit.errors import Unavailable
from neigou.kit.i18n import Message
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from neigou.web.error_pages import _again
from neigou.web.paths import is_page
from tests.conftest import TokenMaker, page_client
from tests.factories import create_member, create_program
from tests.links.builders import LinkWorld, build, make_link
from tests.sign_in import console_sign_in, member_sign_in

UNREADABLE = {
    "zh-CN": "此地址中有页面无法读取的值（{fields}）。请检查地址，或返回后点击链接进入。",
    "en": "This address has values the page cannot read ({fields}). Check the address, or go back and follow a link.",
}
BUSY = {
    "zh-CN": "当前使用人数较多，请稍后再试。",
    "en": "Many people are using the service right now. Please try again in a moment.",
}
ENGLISH = {"cookie": "neigou_lang=en"}


def _page(response: Response, status: int, code: str, message: str, lang: str = "zh-CN") -> str:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]
    text = response.text
    assert f'<html lang="{lang}">' in text
    assert f'data-testid="http-error" data-code="{code}"' in text
    assert f'<p class="error" data-testid="http-error-message">{message}</p>' in text
    return text


def _problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_is_page_is_every_path_but_the_apis_the_probes_the_static_files_and_what_pages_fetch() -> None:
    for path in (
        "/",
        "/console/orders",
        "/m/links",
        "/p/abc",
        "/e/launch",
        "/g/abc",
        "/lang",
        "/healthz-page",
    ):
        assert is_page(path), path
    for path in (
        "/api/v1/programs",
        "/webhooks/jd",
        "/static/app.css",
        "/healthz",
        "/metrics",
        "/img/products/1/SKU-1.png",
        "/g/abc/qr/12",
        "/m/live-codes/abc/qr.png",
        "/m/links/abc/poster.png",
        "/console/events/7/board/stream",
    ):
        assert not is_page(path), path


def test_a_console_page_asked_with_values_it_cannot_read_is_a_page(
    client: TestClient, factory: sessionmaker[Session], operator: dict[str, str]
) -> None:
    program = create_program(client, operator)
    console_sign_in(client, factory)
    text = _page(
        client.get("/console/orders?page=abc"),
        422,
        "validation_error",
        UNREADABLE["zh-CN"].format(fields="page"),
    )
    assert "<title>无法显示 · neigou</title>" in text
    english = client.get("/console/orders?page=abc&lang=en")
    _page(english, 422, "validation_error", UNREADABLE["en"].format(fields="page"), "en")
    _page(
        client.get("/console/events/abc"),
        422,
        "validation_error",
        UNREADABLE["zh-CN"].format(fields="event_id"),
    )
    # a domain's refusal (a program that does not exist), in the language the cookie asks for
    client.cookies.set("neigou_lang", "en")
    missing = client.get(f"/console/programs/{program['id'] + 1000}")
    _page(missing, 404, "program_not_found", "This program does not exist.", "en")


def test_a_workspace_page_asked_with_values_it_cannot_read_is_a_page(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], "群主")
    member_sign_in(client, make_token(Role.MEMBER, member["id"]))
    _page(client.get("/m/links?page=abc"), 422, "validation_error", UNREADABLE["zh-CN"].format(fields="page"))
    client.cookies.set("neigou_lang", "en")
    english = client.get("/m/earnings?page=-1")
    _page(english, 422, "validation_error", UNREADABLE["en"].format(fields="page"), "en")
    # the images the workspace shows stay problems: an <img> reads no page
    _problem(client.get("/m/live-codes/no-such-code/qr.png"), 404, "live_code_not_found")


def test_a_shoppers_page_refused_by_its_domain_is_a_page_in_the_pages_language(client: TestClient) -> None:
    gone = {"zh-CN": "该活动不存在。", "en": "This event does not exist."}
    _page(client.get("/e/no-such-event"), 404, "event_not_found", gone["zh-CN"])
    _page(client.get("/e/no-such-event?lang=en"), 404, "event_not_found", gone["en"], "en")
    _page(client.get("/e/no-such-event", headers=ENGLISH), 404, "event_not_found", gone["en"], "en")
    # the page itself is never in Accept-Language's language, nor is its refusal
    asked = client.get("/e/no-such-event", headers={"accept-language": "en"})
    _page(asked, 404, "event_not_found", gone["zh-CN"])


def test_the_images_a_page_shows_refuse_with_problem_json(client: TestClient) -> None:
    _problem(client.get("/img/products/1/NO-SUCH-SKU.png"), 404, "product_not_found")
    _problem(client.get("/g/no-such-code/qr/1"), 404, "live_code_not_found")
    _problem(client.get("/g/no-such-code/qr/abc"), 422, "validation_error")


def test_a_shoppers_page_whose_redis_does_not_answer_is_a_503_page(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    settings: Settings,
    factory: sessionmaker[Session],
) -> None:
    world: LinkWorld = build(client, operator, make_token)
    link = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)
    down = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"})  # nothing listens on port 1
    with page_client(create_app(down, session_factory=factory)) as unreachable:
        claim = f"/p/{link['code']}/claim"
        shed = unreachable.post(claim, data={"phone": "13800000001"}, follow_redirects=False)
        _page(shed, 503, "overloaded", BUSY["zh-CN"])
        assert int(shed.headers["retry-after"]) >= 1
        assert int(shed.headers["retry-after-ms"]) > 0
        english = unreachable.post(f"{claim}?lang=en", data={"phone": "13800000001"}, follow_redirects=False)
        _page(english, 503, "overloaded", BUSY["en"], "en")
        # the API beside it keeps its problem
        api = unreachable.get("/api/v1/programs", headers=operator)
        assert api.status_code == 200


@pytest.fixture
def held(settings: Settings, factory: sessionmaker[Session]) -> FastAPI:
    """The app with one more shopper's page, whose store is held elsewhere."""
    app = create_app(settings, session_factory=factory)

    @app.get("/x/held")
    def held_page() -> None:
        raise Unavailable(Message("The store is held by another process."), code="store_busy")

    return app


def test_a_shoppers_page_that_cannot_be_shown_now_is_a_503_page_with_retry_after(held: FastAPI) -> None:
    with TestClient(held) as client:
        answer = client.get("/x/held?lang=en")
        text = _page(
            answer,
            503,
            "store_busy",
            "This page is temporarily unavailable. Please try again in a few minutes.",
            "en",
        )
        assert answer.headers["retry-after"] == str(Unavailable.retry_after)
        assert 'href="/x/held?lang=en" data-testid="try-again">Try again</a>' in text


@pytest.mark.parametrize(
    ("path", "query", "again"),
    [
        ("//evil.example/phish", "", "/evil.example/phish"),
        ("/\\evil.example", "a=1", "/%5Cevil.example?a=1"),  # percent-encoded: a path, not a host
        ("/e/launch", "lang=en", "/e/launch?lang=en"),
    ],
)
def test_the_try_again_link_stays_on_this_site(path: str, query: str, again: str) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver")],
    }
    assert _again(Request(scope)) == again

"""What a refusal is on each kind of path (``web.paths``): a page's 404 and 405 are a page in the
reader's language (its other refusals: ``tests/web/test_page_refusals.py``); the API's, the webhooks', the
probes', the static files' and the images' refusals, a 413 included, are problem+json. A form's 413 refused by its declared length is in the language of the action, then
the sending page (``Referer``), then the cookie: its ``form_lang`` is never read."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.web.test_body_limit import EN, LIMIT, ZH, _client, _page, _problem

NOT_FOUND = {
    "zh-CN": "此地址没有页面。请检查地址，或返回后点击链接进入。",
    "en": "There is no page at this address. Check the address, or go back and follow a link.",
}
NOT_HERE = {
    "zh-CN": "此页面不能这样使用。请返回，从页面本身再试一次。",
    "en": "This page cannot be used this way. Go back and try again from the page itself.",
}


def _error_page(response: object, status: int, code: str, message: str) -> str:
    assert getattr(response, "status_code", None) == status
    assert response.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    text: str = response.text  # type: ignore[attr-defined]
    assert f'data-testid="http-error" data-code="{code}"' in text
    assert f'<p class="error" data-testid="http-error-message">{message}</p>' in text
    return text


def test_a_pages_404_is_a_page_in_the_readers_language(client: TestClient) -> None:
    _error_page(client.get("/console/no-such-page"), 404, "not_found", NOT_FOUND["zh-CN"])
    _error_page(client.get("/console/no-such-page?lang=en"), 404, "not_found", NOT_FOUND["en"])
    english = client.get("/m/no-such-page", headers={"cookie": "neigou_lang=en"})
    text = _error_page(english, 404, "not_found", NOT_FOUND["en"])
    assert "<title>Page not found" in text
    _error_page(client.get("/no-such-page"), 404, "not_found", NOT_FOUND["zh-CN"])


def test_a_pages_405_is_a_page_keeping_its_allow_header(client: TestClient) -> None:
    refused = client.delete("/console/login?lang=en")
    _error_page(refused, 405, "method_not_allowed", NOT_HERE["en"])
    assert "GET" in refused.headers["allow"]
    _error_page(client.put("/console/login"), 405, "method_not_allowed", NOT_HERE["zh-CN"])


def test_other_paths_keep_their_problems(client: TestClient) -> None:
    for path in ("/api/v1/nothing-here", "/webhooks/nothing-here", "/static/no-such-file.css"):
        answer = client.get(path)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), path
        assert answer.headers["content-type"] == "application/problem+json"
    refused = client.delete("/api/v1/programs")
    assert (refused.status_code, refused.json()["code"]) == (405, "method_not_allowed")
    probe = client.post("/healthz")
    assert (probe.status_code, probe.json()["code"]) == (405, "method_not_allowed")
    # the images a page shows are fetched, not read: an unknown one is a problem with a code
    for path in ("/img/products/1/NO-SUCH-SKU.png", "/g/no-such-code/qr/1"):
        image = client.get(path)
        assert image.headers["content-type"] == "application/problem+json", path
        assert (image.status_code, image.json()["code"]) in {
            (404, "product_not_found"),
            (404, "live_code_not_found"),
        }


def test_a_413_on_the_probes_and_the_static_files_is_problem_json(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    big = b"x" * (LIMIT + 1)
    with _client(settings, factory) as client:
        for path in ("/healthz", "/readyz", "/metrics", "/static/app.css"):
            _problem(client.post(path, content=big, headers={"content-type": "text/plain"}))
        _page(client.post("/healthz-page", content=big), ZH)  # not a probe: a page's path


def test_a_form_refused_by_its_declared_length_follows_action_referer_cookie(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = b"csrftoken=x&form_lang=en&a=" + b"y" * 70_000  # past the sessionless form limit (64 KiB)
    english_page = {"referer": "http://testserver/console/login?lang=en"}
    english_cookie = {"cookie": "neigou_lang=en"}
    with TestClient(create_app(settings, session_factory=factory)) as client:
        # the field is not read: a declared length past the limit is refused before the body
        _page(client.post("/console/login", content=body, headers=form), ZH)
        _page(client.post("/console/login", content=body, headers={**form, **english_cookie}), EN)
        _page(client.post("/console/login", content=body, headers={**form, **english_page}), EN)
        # the Referer before the cookie, the action before both
        chinese_cookie = {"cookie": "neigou_lang=zh-CN"}
        _page(
            client.post("/console/login", content=body, headers={**form, **english_page, **chinese_cookie}),
            EN,
        )
        both = {**form, **english_page, **english_cookie}
        _page(client.post("/console/login?lang=zh-CN", content=body, headers=both), ZH)


def test_a_413_refused_unread_is_in_the_cookies_language_on_a_page_and_the_cookies_or_asked_on_the_api(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """Which language a body refused by its declared length answers in, its body unread: a page's is the
    page's own (the cookie here; never ``Accept-Language``, which no page reads), the API's problem the
    cookie's, else ``Accept-Language``'s."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    body = b"csrftoken=x&form_lang=zh-CN&a=" + b"y" * (LIMIT + 1)
    english_cookie, asked_chinese = {"cookie": "neigou_lang=en"}, {"accept-language": "zh-CN"}
    with _client(settings, factory) as client:
        for path in ("/console/login", "/m/customers"):
            refused = client.post(path, content=body, headers={**form, "accept-language": "en"})
            _page(refused, ZH)
            assert '<html lang="zh-CN">' in refused.text
            english = client.post(path, content=body, headers={**form, **english_cookie, **asked_chinese})
            _page(english, EN)
            assert '<html lang="en">' in english.text
        api = {"content-type": "application/json"}
        for headers, detail in (
            ({**api, "accept-language": "en"}, "The request body is larger than 64 KB."),
            ({**api, **english_cookie, **asked_chinese}, "The request body is larger than 64 KB."),
            ({**api, "accept-language": "en", "cookie": "neigou_lang=zh-CN"}, "请求内容超过 64 KB 上限。"),
        ):
            refused = client.post("/api/v1/programs", content=body, headers=headers)
            _problem(refused)
            assert refused.json()["detail"] == detail

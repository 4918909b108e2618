"""Bodies past NEIGOU_MAX_BODY_BYTES are refused with 413 before authentication reads anything: with
problem+json on the API and the webhooks, with a page in the reader's language on the pages."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import page_client, row_counts
from tests.sign_in import console_sign_in

LIMIT = 64 * 1024


def _client(settings: Settings, factory: sessionmaker[Session]) -> TestClient:
    return TestClient(_app(settings, factory))


def _app(settings: Settings, factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings.model_copy(update={"max_body_bytes": LIMIT}), session_factory=factory)


def _problem(response: object) -> None:
    assert getattr(response, "status_code", None) == 413
    body = response.json()  # type: ignore[attr-defined]
    assert (body["code"], body["max_bytes"]) == ("body_too_large", LIMIT)
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]


def test_a_declared_oversize_body_is_refused_before_the_401(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    with _client(settings, factory) as client:
        big = b"{" + b" " * (LIMIT + 10) + b"}"
        _problem(client.post("/api/v1/programs", content=big, headers={"content-type": "application/json"}))
        english = client.post(
            "/api/v1/programs",
            content=big,
            headers={"content-type": "application/json", "accept-language": "en"},
        )
        _problem(english)
        assert english.json()["detail"] == "The request body is larger than 64 KB."
        assert client.post("/api/v1/programs", content=big).json()["detail"] == "请求内容超过 64 KB 上限。"
        small = client.post("/api/v1/programs", json={"code": "x", "name": "x"})
        assert small.status_code == 401  # under the limit: the usual answer
    assert row_counts(factory) == before


def test_a_chunked_oversize_body_is_refused_as_it_arrives(
    settings: Settings, factory: sessionmaker[Session], operator: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"code": "chunked", "name": "'
        for _ in range(40):
            yield b"x" * 4096
        yield b'"}'

    before = row_counts(factory)
    with _client(settings, factory) as client:
        response = client.post(
            "/api/v1/programs", content=chunks(), headers={**operator, "content-type": "application/json"}
        )
        _problem(response)
        upload = client.post(
            "/api/v1/products/import",
            files={"file": ("big.csv", b"sku,title\n" + b"a,b\n" * 40_000, "text/csv")},
            headers=operator,
        )
        _problem(upload)
    assert row_counts(factory) == before


ZH = "提交的内容超过 64 KB 上限，未被接受。请返回，换用更小的文件或减少文字后再提交。"
EN = "What you sent is larger than 64 KB, so it was not accepted. Go back and send a smaller file or less text."


def _page(response: object, message: str) -> None:
    assert getattr(response, "status_code", None) == 413
    assert response.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    text: str = response.text  # type: ignore[attr-defined]
    assert 'data-testid="too-large" data-code="body_too_large"' in text
    assert f'<p class="error" data-testid="too-large-message">{message}</p>' in text


def test_a_page_upload_past_the_limit_is_a_page_in_the_readers_language(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """A person sending a file too large sees a page in their language (zh-CN by default; English by
    ``?lang=``, by the page the form was on, or by the language cookie), not problem+json; the API and
    the webhooks keep their problem."""
    before = row_counts(factory)
    big = b"sku,title\n" + b"a,b\n" * 20_000
    upload = {"file": ("big.csv", big, "text/csv")}
    with _client(settings, factory) as client:
        _page(client.post("/console/products/import", files=upload), ZH)
        _page(client.post("/console/products/import?lang=en", files=upload), EN)
        sent_from = {"referer": "http://testserver/console/products?lang=en"}
        _page(client.post("/console/products/import", files=upload, headers=sent_from), EN)
        cookie = {"cookie": "neigou_lang=en"}
        _page(client.post("/m/customers", files=upload, headers=cookie), EN)
        _page(client.post("/console/products/import", files=upload, headers={"accept-language": "en"}), ZH)
        hook = client.post(
            "/webhooks/v1/integrations/1", content=big, headers={"content-type": "application/json"}
        )
        _problem(hook)
        english = client.post("/api/v1/products/import", files=upload, headers={"accept-language": "en"})
        _problem(english)
        assert english.json()["detail"] == "The request body is larger than 64 KB."
    assert row_counts(factory) == before


def test_a_signed_in_upload_refused_as_it_arrives_is_a_page(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """Counted as it arrives (no declared length): the form the upload was sent from gives its language."""

    def chunks() -> Iterator[bytes]:
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\nsku,title\n'
        for _ in range(40):
            yield b"a,b\n" * 1024

    with page_client(_app(settings, factory)) as client:
        console_sign_in(client, factory)
        before = row_counts(factory)
        multipart = {"content-type": "multipart/form-data; boundary=b"}
        _page(client.post("/console/products/import", content=chunks(), headers=multipart), ZH)
        sent_from = {**multipart, "referer": "http://testserver/console/products?lang=en"}
        _page(client.post("/console/products/import", content=chunks(), headers=sent_from), EN)
        assert row_counts(factory) == before


def test_a_form_past_its_limit_in_one_message_is_refused_in_the_forms_language(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """A urlencoded form sent without a declared length whose first message already passes the form
    limit (64 KiB without a session) is refused in the language its ``form_lang`` names: the field is
    read before the limit counts. (A declared length past the limit is refused before any byte is read,
    in the language of the action's or the sending page's ``?lang=``, else the cookie's.)"""

    def one_message(lang: bytes) -> Iterator[bytes]:
        yield b"csrftoken=x&form_lang=" + lang + b"&a=" + b"y" * 70_000

    form = {"content-type": "application/x-www-form-urlencoded"}
    assert settings.max_body_bytes > LIMIT  # the form's own limit refuses it, not the app's
    with TestClient(create_app(settings, session_factory=factory)) as client:
        _page(client.post("/console/login", content=one_message(b"en"), headers=form), EN)
        _page(client.post("/console/login", content=one_message(b"zz"), headers=form), ZH)

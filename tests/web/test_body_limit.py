"""Bodies past NEIGOU_MAX_BODY_BYTES are refused with 413 before authentication reads anything."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import row_counts

LIMIT = 64 * 1024


def _client(settings: Settings, factory: sessionmaker[Session]) -> TestClient:
    return TestClient(
        create_app(settings.model_copy(update={"max_body_bytes": LIMIT}), session_factory=factory)
    )


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

"""An API 401 names the scheme it takes (RFC 6750): ``WWW-Authenticate: Bearer``, with
``error="invalid_token"`` for a token that is unknown, revoked, expired or malformed; a page's refusal
(a sign-in redirect) carries none."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import bearer


def test_an_api_request_without_a_token_is_challenged(client: TestClient) -> None:
    refused = client.get("/api/v1/me")
    assert (refused.status_code, refused.json()["code"]) == (401, "unauthenticated")
    assert refused.headers["www-authenticate"] == "Bearer"


def test_an_api_request_with_a_bad_token_is_told_it_is_invalid(client: TestClient) -> None:
    for headers in (bearer("ngt_not-a-token"), {"Authorization": "Basic b3BzOnB3"}):
        refused = client.get("/api/v1/me", headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (401, "invalid_token")
        assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_page_is_not_challenged(client: TestClient) -> None:
    answer = client.get("/console/access", follow_redirects=False)
    assert answer.status_code == 303
    assert "www-authenticate" not in answer.headers
    expired = client.get("/m/login?code=nothing", follow_redirects=False)
    assert "www-authenticate" not in expired.headers

"""A caller without a credential is refused before a route that needs one reads its body
(``web.credentials``); callers with one, and routes open to anyone, are answered as before."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.web import credentials
from neigou.web.app import _shared_routes
from tests.conftest import bearer, row_counts
from tests.factories import create_program
from tests.web.bodies import CHUNK, Body

JSON = {"content-type": "application/json"}


def _unauthenticated(response: object, code: str = "unauthenticated") -> None:
    assert getattr(response, "status_code", None) == 401
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.json()["code"] == code  # type: ignore[attr-defined]


def test_an_anonymous_big_body_is_answered_401_unread(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    big = Body(200)  # 12.5 MB: under the app-wide limit, read in full before the 401 until now
    _unauthenticated(client.post("/api/v1/programs", content=iter(big), headers=JSON))
    assert big.sent == 0
    # Whatever the body holds: a NUL, or no JSON at all, was read (a 422) before the 401.
    for body in (b'{"code": "a\\u0000", "name": "x"}', b"{not json"):
        sent = Body(0, head=body, tail=b"")
        _unauthenticated(client.post("/api/v1/programs", content=iter(sent), headers=JSON))
        assert sent.sent == 0
    # A declared length under the app's limit, a PATCH with path parameters, an upload: all unread.
    declared = Body(100)
    patched = client.patch(
        "/api/v1/programs/12345",
        content=iter(declared),
        headers={**JSON, "content-length": str(100 * CHUNK + 33)},
    )
    _unauthenticated(patched)
    assert declared.sent == 0
    upload = client.post(
        "/api/v1/products/import", files={"file": ("a.csv", b"sku,title\n" * 1000, "text/csv")}
    )
    _unauthenticated(upload)
    assert row_counts(factory) == before


def test_a_malformed_credential_is_refused_unread_and_a_wrong_one_as_before(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    malformed = Body(20)
    answer = client.post(
        "/api/v1/programs", content=iter(malformed), headers={**JSON, "authorization": "Basic abc"}
    )
    _unauthenticated(answer, "invalid_token")
    assert malformed.sent == 0
    # A credential is presented: the body is read and the token looked up, as before.
    unknown = Body(1)
    answer = client.post(
        "/api/v1/programs", content=iter(unknown), headers={**JSON, **bearer("ngt_not-a-real-token")}
    )
    _unauthenticated(answer, "invalid_token")
    assert unknown.sent > 0


def test_an_authenticated_caller_is_answered_as_before(client: TestClient, operator: dict[str, str]) -> None:
    body = Body(0, head=b'{"code": "streamed", "name": "Streamed"}', tail=b"")
    created = client.post("/api/v1/programs", content=iter(body), headers={**operator, **JSON})
    assert (created.status_code, created.json()["code"]) == (201, "streamed"), created.text
    big = Body(3)  # read in full, then refused by the schema (a name of at most 120 characters)
    refused = client.post("/api/v1/programs", content=iter(big), headers={**operator, **JSON})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert big.sent == len(big.head) + 3 * CHUNK + len(big.tail)
    program = create_program(client, operator)
    renamed = client.patch(f"/api/v1/programs/{program['id']}", json={"name": "renamed"}, headers=operator)
    assert (renamed.status_code, renamed.json()["name"]) == (200, "renamed")


def test_a_method_the_route_does_not_serve_is_still_405(client: TestClient) -> None:
    answer = client.delete("/api/v1/programs")  # GET and POST only
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


def test_an_anonymous_console_form_is_sent_to_sign_in_unread(app: FastAPI) -> None:
    with TestClient(app, follow_redirects=False) as bare:
        form = Body(10, head=b"username=a&password=", tail=b"")
        answer = bare.post(
            "/console/users",
            content=iter(form),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert (answer.status_code, answer.headers["location"]) == (303, "/console/login?next=/console/users")
    assert form.sent == 0


def _too_large(answer: object, limit: str) -> bool:
    """Whether ``answer`` is a page's 413 (a page, not problem+json) naming ``limit`` in Chinese."""
    text: str = getattr(answer, "text", "")
    return (
        getattr(answer, "status_code", None) == 413
        and 'data-code="body_too_large"' in text
        and f"提交的内容超过 {limit} 上限" in text
    )


def test_a_sessionless_form_with_a_cookie_is_not_read_past_a_small_limit(app: FastAPI) -> None:
    """Any cookie makes the CSRF check read an urlencoded body before a route is chosen: without a
    session it reads at most SESSIONLESS_FORM_BYTES (64 KiB) of it, and refuses the rest with a page
    in the reader's language."""
    form = {"content-type": "application/x-www-form-urlencoded"}
    with TestClient(app, follow_redirects=False) as bare:
        for path, cookie in (("/console/programs", "x=1"), ("/m/links", "neigou_csrf=abc")):
            chunked = Body(100, head=b"code=a&name=", tail=b"")  # 6.25 MB, no declared length
            answer = bare.post(path, content=iter(chunked), headers={**form, "cookie": cookie})
            assert _too_large(answer, "64 KB"), path
            declared = Body(100, head=b"code=a&name=", tail=b"")
            length = str(len(declared.head) + 100 * CHUNK)
            answer = bare.post(
                path, content=iter(declared), headers={**form, "cookie": cookie, "content-length": length}
            )
            assert (answer.status_code, declared.sent) == (413, 0), path  # refused on its length, unread
        refused = bare.post("/console/programs?lang=en", content=b"name=" + b"x" * 70_000, headers=form)
        assert refused.status_code == 413
        assert "What you sent is larger than 64 KB, so it was not accepted." in refused.text
        # A session cookie, real or made up, is no proof before a route is chosen: at most 1 MiB is read.
        made_up = Body(100, head=b"code=a&name=", tail=b"")
        length = str(len(made_up.head) + 100 * CHUNK)
        answer = bare.post(
            "/console/programs",
            content=iter(made_up),
            headers={**form, "cookie": "neigou_session=made-up", "content-length": length},
        )
        assert (_too_large(answer, "1 MB"), made_up.sent) == (True, 0)
        signed_in_sized = Body(0, head=b"username=nobody&password=wrong", tail=b"")
        answer = bare.post("/console/login", content=iter(signed_in_sized), headers={**form, "cookie": "x=1"})
        assert answer.status_code != 413  # a sign-in is small: read as before


def test_routes_open_to_anyone_still_read_their_body(client: TestClient) -> None:
    """The shop's signed webhook and the console's sign-in read what they are sent, as before."""
    hook = Body(1, head=b'{"type": "order.paid", "data": "', tail=b'"}')
    answer = client.post("/webhooks/v1/integrations/999999", content=iter(hook), headers=JSON)
    assert hook.sent > 0
    assert answer.status_code != 401 or answer.json()["code"] != "unauthenticated"
    sign_in = Body(0, head=b"username=nobody&password=wrong", tail=b"")
    answer = client.post(
        "/console/login",
        content=iter(sign_in),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert sign_in.sent > 0
    assert answer.status_code in {200, 400, 401, 422}, answer.text


def test_every_route_that_needs_a_credential_is_behind_the_gate() -> None:
    """Read from each route's dependencies: the gate stands before exactly the routes with an
    authenticator, and the routes open to anyone are the sign-in pages, public pages and webhooks."""
    gated: dict[str, bool] = {}
    for top in _shared_routes():
        for context in top.effective_route_contexts():  # type: ignore[attr-defined]
            route = context.original_route
            needs = bool(credentials.authenticators(context.dependant))
            assert isinstance(vars(route).get("handle"), credentials.CredentialGate) is needs, context.path
            gated[f"{sorted(route.methods)[0]} {context.path}"] = needs
    assert gated["POST /api/v1/programs"]
    assert gated["POST /console/users"]
    assert all(needs for key, needs in gated.items() if key.split()[1].startswith("/api/v1/"))
    open_to_anyone = {key for key, needs in gated.items() if not needs}
    assert {
        "POST /p/{code}/claim",
        "POST /webhooks/v1/integrations/{integration_id}",
        "POST /console/login",
        "POST /j/{code}",
    } <= open_to_anyone

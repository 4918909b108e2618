"""A JSON body past NEIGOU_MAX_JSON_BODY_BYTES is refused with 413 before more of it is read; uploads,
marked endpoints and a platform feed read up to NEIGOU_MAX_BODY_BYTES (or a limit of their own)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.web import body_limit, credentials
from neigou.web.app import _shared_routes
from tests.conftest import row_counts
from tests.factories import create_program
from tests.sign_in import console_sign_in
from tests.web.bodies import CHUNK, Body

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


def _too_large(response: object) -> None:
    assert getattr(response, "status_code", None) == 413, getattr(response, "text", None)
    body = response.json()  # type: ignore[attr-defined]
    assert (body["code"], body["max_bytes"]) == ("body_too_large", MIB)
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]


def test_a_json_body_past_the_json_limit_is_refused(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    before = row_counts(factory)
    chunked = Body(24)  # 1.5 MiB, no declared length: refused once past 1 MiB
    _too_large(client.post("/api/v1/programs", content=iter(chunked), headers={**operator, **JSON}))
    declared = Body(32)
    answer = client.post(
        "/api/v1/programs",
        content=iter(declared),
        headers={**operator, **JSON, "content-length": str(32 * CHUNK + 32), "accept-language": "en"},
    )
    _too_large(answer)
    assert answer.json()["detail"] == "The request body is larger than 1 MB."
    assert declared.sent == 0  # refused on the declared length, unread
    # A shop's webhook takes one order's JSON: the same limit, before its signature is checked.
    hook = Body(24, head=b'{"type": "order.paid", "data": "')
    _too_large(client.post("/webhooks/v1/integrations/1", content=iter(hook), headers=JSON))
    # Just under the limit: read, and answered by the schema as before.
    under = Body(15)
    refused = client.post("/api/v1/programs", content=iter(under), headers={**operator, **JSON})
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert under.sent == len(under.head) + 15 * CHUNK + len(under.tail)
    assert row_counts(factory) == before


def test_uploads_marked_endpoints_and_feeds_read_past_the_json_limit(
    client: TestClient, operator: dict[str, str]
) -> None:
    program = create_program(client, operator)
    two_mib = 2 * MIB
    upload = client.post(
        "/api/v1/products/import",
        files={"file": ("big.csv", b"sku,title\n" + b"x" * two_mib, "text/csv")},
        headers=operator,
    )
    assert upload.status_code != 413, upload.text
    counts = json.dumps({"csv": "a" * two_mib})
    imported = client.post(
        f"/api/v1/programs/{program['id']}/group-counts/import", content=counts, headers={**operator, **JSON}
    )
    assert imported.status_code not in {413, 500}, imported.text
    employees = json.dumps([{"employee_no": f"E{n:07d}", "name": "x" * 40} for n in range(30_000)])
    assert len(employees) > two_mib
    added = client.post("/api/v1/events/999999/employees", content=employees, headers={**operator, **JSON})
    assert (added.status_code, added.json()["code"]) == (404, "event_not_found"), added.text
    feed = Body(40, head=b'{"rows": ["', tail=b'"]}')  # 2.5 MiB: under the feed's own 4 MB
    fed = client.post("/api/v1/integrations/1/feeds/jd", content=iter(feed), headers={**operator, **JSON})
    assert fed.status_code != 413, fed.text
    assert feed.sent == len(feed.head) + 40 * CHUNK + len(feed.tail)


def test_the_routes_that_read_past_the_json_limit() -> None:
    """Every API route is held to the JSON limit but uploads and the endpoints marked for more."""
    larger: set[str] = set()
    for top in _shared_routes():
        for context in top.effective_route_contexts():  # type: ignore[attr-defined]
            route = context.original_route
            handle = vars(route).get("handle")
            if isinstance(handle, credentials.CredentialGate):  # outside the limit
                handle = handle.handle
            limited = isinstance(handle, body_limit.JsonBodyLimit)
            json_path = context.path.startswith(("/api/v1/", "/webhooks/v1/"))
            # Pages post forms and files: only the API's and the webhooks' JSON routes are held to it.
            assert limited is (json_path and body_limit.json_limited(route)), context.path
            if context.path.startswith("/api/v1/") and not limited:
                larger.add(f"{sorted(context.methods)[0]} {context.path}")
    assert larger == {
        "POST /api/v1/products/import",
        "POST /api/v1/members/{member_id}/customers/import",
        "PUT /api/v1/groups/live-codes/{code}/groups/{group_id}/qr",
        "POST /api/v1/programs/{program_id}/group-counts/import",
        "POST /api/v1/events/{event_id}/employees",
        "POST /api/v1/integrations/{integration_id}/feeds/{platform}",
    }


def test_a_console_upload_reads_past_the_json_limit(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    console_sign_in(client, factory)
    rows = "".join(f"S-{i:07d},商品{i},1,100\n" for i in range(60_000))
    content = ("sku,title,price_yuan,commission_rate_bp\n" + rows).encode()
    assert len(content) > MIB + MIB // 2
    answer = client.post("/console/products/import", files={"file": ("big.csv", content, "text/csv")})
    assert answer.status_code != 413, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")

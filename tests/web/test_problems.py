"""The database refusing a value it cannot hold is the caller's mistake (a 422), not a 500; nothing else is."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.json_text import holds_nul
from neigou.web.problems import unstorable
from tests.conftest import row_counts
from tests.factories import create_member, create_program


class _DriverError(Exception):
    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def test_only_unstorable_values_are_recognised() -> None:
    def data_error(message: str, sqlstate: str | None) -> DataError:
        return DataError("INSERT …", {}, _DriverError(message, sqlstate))

    assert unstorable(data_error("integer out of range", "22003")) == "value_out_of_range"
    assert (
        unstorable(data_error("value too long for type character varying(40)", "22001"))
        == "value_out_of_range"
    )
    assert (
        unstorable(data_error("PostgreSQL text fields cannot contain NUL (0x00) bytes", None))
        == "nul_character"
    )
    assert (
        unstorable(
            data_error(
                "unsupported Unicode escape sequence\nDETAIL:  \\u0000 cannot be converted to text.", "22P05"
            )
        )
        == "nul_character"
    )
    assert unstorable(data_error("unsupported Unicode escape sequence", "22P05")) is None
    assert unstorable(data_error("invalid input syntax for type integer", "22P02")) is None
    assert (
        unstorable(OverflowError("Python int too large to convert to SQLite INTEGER")) == "value_out_of_range"
    )
    assert unstorable(OverflowError("int too large to convert to float")) is None
    assert unstorable(ValueError("too large to convert to SQLite INTEGER")) is None


def test_ids_past_bigint_and_nul_characters_get_a_problem(
    client: TestClient, operator: dict[str, str]
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    huge = client.put(f"/api/v1/members/{member['id']}/inviter", json={"inviter_id": 2**63}, headers=operator)
    nul = client.get("/api/v1/links/a%00b", headers=operator)
    assert (huge.status_code, huge.json()["code"]) == (422, "value_out_of_range")
    assert (nul.status_code, nul.json()["code"]) == (422, "nul_character")
    assert huge.headers["content-type"] == nul.headers["content-type"] == "application/problem+json"


def test_a_nul_in_the_url_is_refused_alike_on_both_databases(
    client: TestClient, operator: dict[str, str]
) -> None:
    """SQLite takes a NUL like any character and PostgreSQL cannot compare one with a JSONB list: a
    customer list narrowed by ``category=a%00b`` was a 200 on SQLite and a 500 on PostgreSQL."""
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    customers = f"/api/v1/members/{member['id']}/customers"
    for url in (
        customers + "?category=a%00b",
        customers + "?category=a%00",
        customers + "?tag=x&category=%00",
        "/api/v1/links/a%00b",
        "/api/v1/audit-log?entity=program%00",
    ):
        answer = client.get(url, headers=operator)
        assert (answer.status_code, answer.json()["code"]) == (422, "nul_character"), (url, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["title"] == "数值无法保存"
    assert client.get(customers + "?category=a", headers=operator).status_code == 200


def test_a_nul_in_a_json_body_is_refused_alike_on_both_databases(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """PostgreSQL refuses text holding a NUL (422) where SQLite stored it (201): a product, a program and a
    customer were written on one database and refused on the other. Now neither writes anything."""
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    before = row_counts(factory)
    for method, url, body in (
        (
            "POST",
            "/api/v1/products",
            {"sku": "NUL-1", "title": "a\x00b", "price_fen": 1, "commission_rate_bp": 1},
        ),
        ("POST", f"/api/v1/programs/{program['id']}/members", {"name": "\x00"}),
        (
            "POST",
            f"/api/v1/members/{member['id']}/customers",
            {"customer_ref": "13912345678", "job": "x\x00"},
        ),
        ("PATCH", f"/api/v1/programs/{program['id']}", {"name": "a\x00"}),
    ):
        answer = client.request(method, url, json=body, headers=operator)
        assert (answer.status_code, answer.json()["code"]) == (422, "nul_character"), (url, answer.text)
    assert row_counts(factory) == before
    # A backslash written out before "u0000" is text like any other, not a NUL.
    written = {"sku": "NUL-2", "title": "C:\\u0000", "price_fen": 100, "commission_rate_bp": 100}
    created = client.post("/api/v1/products", json=written, headers=operator)
    assert (created.status_code, created.json()["title"]) == (201, "C:\\u0000")


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("Application/JSON", "utf-8"),  # media types are case-insensitive
        ("application/json", "utf-16"),  # json.loads reads UTF-16 and UTF-32 too
        ("application/json", "utf-32"),
        ("text/plain", "utf-8"),  # parsed as JSON whatever the header says
    ],
)
def test_a_nul_is_refused_under_any_json_content_type_and_encoding(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    *,
    content_type: str,
    encoding: str,
) -> None:
    program = create_program(client, operator)
    before = row_counts(factory)
    body = json.dumps({"name": "a\x00b"}).encode(encoding)
    answer = client.patch(
        f"/api/v1/programs/{program['id']}", content=body, headers={**operator, "Content-Type": content_type}
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "nul_character"), answer.text
    assert row_counts(factory) == before


@pytest.mark.parametrize("path", ["/api/v1/products/import", "/api/v1/members/{member}/customers/import"])
def test_an_upload_sent_as_a_plain_form_is_refused_not_a_server_error(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], *, path: str
) -> None:
    """FastAPI parses an upload route's body as a form before the NUL guard runs, whatever its content
    type: the guard leaves it to the route, which wants a file (it once read the spent stream again)."""
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    url = path.format(member=member["id"])
    before = row_counts(factory)
    for body in (b"file=rows", b"file=%00", b"file=%ff"):
        form = {**operator, "content-type": "application/x-www-form-urlencoded"}
        answer = client.post(url, content=body, headers=form)
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), answer.text
    assert row_counts(factory) == before


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
def test_holds_nul_reads_json_as_json_loads_does(encoding: str) -> None:
    for text, nul in (
        ('{"a": "x\\u0000"}', True),
        ('{"a": "C:\\\\u0000"}', False),
        ('{"a": "plain"}', False),
    ):
        body = text.encode(encoding)
        assert holds_nul(body) is nul, (text, encoding)
        assert ("\x00" in json.loads(body)["a"]) is nul  # what the endpoint would have read


def test_a_405_names_the_methods_the_route_serves(client: TestClient, operator: dict[str, str]) -> None:
    answer = client.delete("/api/v1/programs", headers=operator)  # GET and POST only
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "method_not_allowed"
    # Starlette names the methods of the route it matched by path first (GET and POST are two routes).
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert allowed
    assert allowed <= {"GET", "POST"}

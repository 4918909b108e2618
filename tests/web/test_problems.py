"""The database refusing a value it cannot hold is the caller's mistake (a 422), not a 500; nothing else is."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.exc import DataError

from neigou.web.problems import unstorable
from tests.conftest import BACKEND
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
    if BACKEND == "sqlite":  # SQLite stores NUL like any character
        assert (nul.status_code, nul.json()["code"]) == (404, "link_not_found")
    else:  # psycopg refuses NUL in a text parameter
        assert (nul.status_code, nul.json()["code"]) == (422, "nul_character")
    assert huge.headers["content-type"] == nul.headers["content-type"] == "application/problem+json"

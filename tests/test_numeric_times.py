"""A time a request gives is ISO 8601 text with its zone: a number is refused, never read as Unix time.

Pydantic reads ``1733400000`` (or the same digits as text) as seconds since 1970; a shop sending
milliseconds would have had its orders dated in the year 56900. Every ``date-time`` the API takes, in a
body or a query, is read from the OpenAPI schema and sent a number through the authorization matrix's
valid call: 422 ``numeric_datetime`` naming the field, nothing written. A new field is covered without
touching this test.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.web.app import create_app
from tests.authz.matrix import World, _filled
from tests.authz.world import world  # noqa: F401 - the matrix's world fixture
from tests.conftest import bearer, row_counts
from tests.openapi_times import Field, matrix_case, request_times, with_field

pytestmark = pytest.mark.world_per_module

# The schema is the same for every app a process makes (its routes are built once).
PARAMETERS, BODIES = request_times(create_app())
NUMBERS: list[Any] = [1733400000, 1733400000123, 1733400000.5, "1733400000", "-1"]


def test_the_schema_lists_times_in_bodies_and_queries() -> None:
    assert ("POST", "/api/v1/orders", "paid_at") in BODIES
    assert ("POST", "/api/v1/campaigns", "starts_at") in BODIES
    assert ("GET", "/api/v1/programs/{program_id}/crm/dormant-customers", "at") in PARAMETERS


def _send(client: TestClient, world: World, field: Field, value: Any) -> Any:  # noqa: F811
    method, path, name = field
    case = matrix_case(method, path)
    seed = _filled(case.body(world.ids) if callable(case.body) else case.body, world.ids)
    role = Role.OPERATOR if Role.OPERATOR in case.allowed else sorted(case.allowed)[0]
    url = case.path.format(**world.ids)
    if field in PARAMETERS:
        return client.request(
            method, url, params={name: value}, json=seed, headers=bearer(world.tokens[role.value])
        )
    return client.request(
        method, url, json=with_field(seed, name, value), headers=bearer(world.tokens[role.value])
    )


@pytest.mark.parametrize("field", sorted(PARAMETERS | BODIES), ids=lambda f: f"{f[0]} {f[1]} {f[2]}")
def test_a_number_for_a_time_is_refused_and_writes_nothing(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture imported above
    factory: sessionmaker[Session],
    field: Field,
) -> None:
    before = row_counts(factory)
    for value in NUMBERS:
        answer = _send(client, world, field, value)
        assert answer.status_code == 422, (value, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        problem = answer.json()
        assert problem["code"] == "numeric_datetime", (value, answer.text)
        named = field[2] if field in BODIES else f"query.{field[2]}"
        assert [(e["field"], e["type"]) for e in problem["errors"]] == [(named, "numeric_datetime")]
        assert problem["detail"].startswith(named + " 须为带时区的 ISO 8601 时间文本"), problem["detail"]
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    "field",
    [
        ("POST", "/api/v1/orders", "paid_at"),
        ("POST", "/api/v1/campaigns", "starts_at"),
        ("POST", "/api/v1/customers/{customer_id}/consents", "at"),
        ("GET", "/api/v1/programs/{program_id}/crm/dormant-customers", "at"),
    ],
    ids=lambda f: f"{f[0]} {f[1]} {f[2]}",
)
def test_iso_text_with_its_offset_still_goes_in(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture imported above
    field: Field,
) -> None:
    # A new campaign cannot start in the past: its start is a future one.
    year = "2098" if field[1] == "/api/v1/campaigns" else "2026"
    answer = _send(client, world, field, f"{year}-03-01T12:00:00+08:00")
    assert answer.status_code in matrix_case(field[0], field[1]).ok, answer.text


def test_the_refusal_speaks_the_reader_s_language(
    client: TestClient,
    world: World,  # noqa: F811 - the fixture imported above
) -> None:
    case = matrix_case("POST", "/api/v1/campaigns")
    seed = _filled(case.body(world.ids) if callable(case.body) else case.body, world.ids)
    body = {**seed, "starts_at": 1733400000, "ends_at": 1733500000}
    headers = {**bearer(world.tokens[Role.OPERATOR.value]), "Accept-Language": "en"}
    english = client.post(case.path.format(**world.ids), json=body, headers=headers).json()
    assert (english["code"], english["detail"]) == (
        "numeric_datetime",
        "starts_at, ends_at must be an ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, "
        "not a number.",
    )
    assert english["errors"][0]["message"] == (
        "starts_at must be an ISO 8601 time with its zone, such as 2026-03-24T21:00:00+08:00, not a number."
    )
    mixed = client.post(
        case.path.format(**world.ids), json={**body, "commission_boost_bp": -1}, headers=headers
    ).json()
    assert mixed["code"] == "validation_error"  # other errors too: the request's usual code
    assert sorted(e["type"] for e in mixed["errors"]) == [
        "greater_than_equal",
        "numeric_datetime",
        "numeric_datetime",
    ]

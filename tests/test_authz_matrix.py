"""Every endpoint against every kind of caller: anonymous, wrong role, other member, right role.

A denied call must change nothing: every table keeps its row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer, row_counts
from tests.factories import PARTNER_TIERS, create_member, create_program


@dataclass(frozen=True)
class Case:
    """One endpoint: who may call it, and whether a member may only reach their own records."""

    method: str
    path: str
    allowed: frozenset[Role]
    body: Any = None
    member_scoped: bool = False
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200, 201, 204}))


ALL = frozenset(Role)
OPERATOR = frozenset({Role.OPERATOR})
CASES = [
    Case("POST", "/api/v1/programs", OPERATOR, {"code": "new-program", "name": "New"}),
    Case("GET", "/api/v1/programs", OPERATOR),
    Case("GET", "/api/v1/programs/{program}", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True),
    Case("PUT", "/api/v1/programs/{program}/tiers", OPERATOR, PARTNER_TIERS),
    Case(
        "GET", "/api/v1/programs/{program}/tiers", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True
    ),
    Case(
        "POST",
        "/api/v1/programs/{program}/members",
        frozenset({Role.OPERATOR, Role.INTEGRATION}),
        {"name": "recruit"},
    ),
    Case("GET", "/api/v1/programs/{program}/members", OPERATOR),
    Case("GET", "/api/v1/members/{member}", frozenset({Role.OPERATOR, Role.MEMBER}), member_scoped=True),
    Case("PUT", "/api/v1/members/{member}/inviter", OPERATOR, {"inviter_id": None}),
    Case("GET", "/api/v1/me", ALL),
    Case("POST", "/api/v1/tokens", OPERATOR, {"role": "integration", "label": "shop"}),
    Case("DELETE", "/api/v1/tokens/{token}", OPERATOR),
    Case("GET", "/api/v1/audit-log", OPERATOR),
]


@dataclass
class World:
    """Two programs, a member in each, and a token per role."""

    ids: dict[str, int]
    tokens: dict[str, str]


@pytest.fixture
def world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> World:
    own_program = create_program(client, operator, code="own")
    other_program = create_program(client, operator, code="other")
    own = create_member(client, operator, own_program["id"], name="own")
    other = create_member(client, operator, other_program["id"], name="other")
    spare = client.post("/api/v1/tokens", json={"role": "integration"}, headers=operator).json()
    return World(
        ids={"program": own_program["id"], "member": own["id"], "token": spare["id"]},
        tokens={
            "operator": make_token(Role.OPERATOR),
            "integration": make_token(Role.INTEGRATION),
            "member": make_token(Role.MEMBER, own["id"]),
            "other_member": make_token(Role.MEMBER, other["id"]),
        },
    )


def _call(client: TestClient, case: Case, world: World, headers: dict[str, str]) -> Any:
    return client.request(case.method, case.path.format(**world.ids), json=case.body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_authorization_matrix(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    before = row_counts(factory)
    anonymous = _call(client, case, world, {})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    garbage = _call(client, case, world, bearer("ngt_not-a-real-token"))
    assert (garbage.status_code, garbage.json()["code"]) == (401, "invalid_token")
    for role in sorted(set(Role) - case.allowed):
        denied = _call(client, case, world, bearer(world.tokens[role.value]))
        assert denied.status_code == 403, (role, denied.text)
        assert denied.json()["code"] == "forbidden"
    if case.member_scoped:
        other = _call(client, case, world, bearer(world.tokens["other_member"]))
        assert other.status_code == 403
        assert other.json()["code"] in {"other_member", "other_program"}
    assert row_counts(factory) == before, "a denied call changed the database"
    for role in sorted(case.allowed):
        allowed = _call(client, case, world, bearer(world.tokens[role.value]))
        assert allowed.status_code in case.ok, (role, allowed.text)
        if case.method != "GET":
            break  # one successful write is enough; a second may legitimately conflict


def test_every_api_route_is_in_the_matrix(app: FastAPI) -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method in operations
    }
    assert routes, "no API routes found"
    covered = {
        (
            c.method,
            c.path.replace("{program}", "{program_id}")
            .replace("{member}", "{member_id}")
            .replace("{token}", "{token_id}"),
        )
        for c in CASES
    }
    assert routes == covered

"""The authorization matrix's machinery: a case (one route and who may call it), the world the cases run
against, and the checks every case goes through (anonymous, wrong role, other member, right role, and each
role of another organization, or tenant).

The world lives in one organization and is reached by that organization's scoped operator,
integration and members; a second organization has its own program, member and tokens. Another
organization's caller finds nothing: ids answer 404 (nothing leaks that they exist), lists are
empty. A denied or hidden call changes nothing: every table keeps its row count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import bearer, row_counts


@dataclass(frozen=True)
class Case:
    """One endpoint: who may call it, and whether a member may only reach their own records."""

    method: str
    path: str
    allowed: frozenset[Role]
    body: Any = None
    member_scoped: bool = False
    # Another member's record answers 404 (its id is not theirs to learn about), not 403.
    member_hidden: bool = False
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200, 201, 204}))
    files: Any = None
    # What another organization's caller (of an allowed role) gets: "hidden" (404: the ids are
    # this organization's), "empty" (a list without this organization's rows) or "own" (the call
    # acts in the caller's own organization, or on the caller alone).
    other: str = ""

    @property
    def other_organization(self) -> str:
        """The expectation for another organization's caller."""
        if self.other:
            return self.other
        return "hidden" if "{" in self.path or self.method != "GET" else "empty"


ALL = frozenset(Role)
OPERATOR = frozenset({Role.OPERATOR})
OPERATOR_OR_MEMBER = frozenset({Role.OPERATOR, Role.MEMBER})
OPERATOR_OR_INTEGRATION = frozenset({Role.OPERATOR, Role.INTEGRATION})
OPERATOR_OR_MERCHANT = frozenset({Role.OPERATOR, Role.MERCHANT})
NOT_MERCHANT = frozenset({Role.OPERATOR, Role.MEMBER, Role.INTEGRATION})
# Organizations are managed by platform administrators (operators of no organization) alone: an
# organization's own operator is refused (403), like a wrong role.
PLATFORM: frozenset[Role] = frozenset()


@dataclass
class World:
    """Two programs and a member in each, in one organization, with a token per role; a second
    organization with a program, a member and its own tokens; platform administrator headers."""

    ids: dict[str, Any]
    tokens: dict[str, str]
    other_tokens: dict[str, str]
    admin: dict[str, str]


def _filled(body: Any, ids: dict[str, int]) -> Any:
    """A body whose values written "{name}" take the world's id of that name."""
    if isinstance(body, dict):
        return {
            k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") and v[1:-1] in ids else v
            for k, v in body.items()
        }
    return body


def call(client: TestClient, case: Case, world: World, headers: dict[str, str]) -> Any:
    body = case.body(world.ids) if callable(case.body) else case.body
    return client.request(
        case.method,
        case.path.format(**world.ids),
        json=_filled(body, world.ids),
        files=case.files,
        headers=headers,
    )


def check_case(client: TestClient, world: World, factory: sessionmaker[Session], case: Case) -> None:
    """Anonymous and garbage callers 401, wrong roles 403, another member 403 or 404, another organization
    finds nothing, nothing written by any of them; then every allowed role succeeds."""
    before = row_counts(factory)
    anonymous = call(client, case, world, {})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    garbage = call(client, case, world, bearer("ngt_not-a-real-token"))
    assert (garbage.status_code, garbage.json()["code"]) == (401, "invalid_token")
    for role in sorted(set(Role) - case.allowed):
        denied = call(client, case, world, bearer(world.tokens[role.value]))
        assert denied.status_code == 403, (role, denied.text)
        assert denied.json()["code"] == "forbidden"
    if case.member_scoped:
        other = call(client, case, world, bearer(world.tokens["other_member"]))
        assert other.status_code == 403
        assert other.json()["code"] in {"other_member", "other_program"}
    if case.member_hidden:
        other = call(client, case, world, bearer(world.tokens["other_member"]))
        assert other.status_code == 404, other.text
        assert other.json()["code"] in {"customer_not_found", "segment_not_found", "push_not_found"}
    _other_organization(client, case, world)
    assert row_counts(factory) == before, "a denied call changed the database"
    if not case.allowed:
        allowed = call(client, case, world, world.admin)
        assert allowed.status_code in case.ok, allowed.text
        return
    for role in sorted(case.allowed, key=lambda r: (r is Role.MERCHANT, r.value)):
        allowed = call(client, case, world, bearer(world.tokens[role.value]))
        assert allowed.status_code in case.ok, (role, allowed.text)
        if case.method != "GET":
            break  # one successful write is enough; a second may legitimately conflict
    if case.method == "GET" and Role.OPERATOR in case.allowed:
        admin = call(client, case, world, world.admin)  # a platform administrator sees every organization
        assert admin.status_code in case.ok, admin.text


def _other_organization(client: TestClient, case: Case, world: World) -> None:
    """Another organization's callers of an allowed role find none of this organization's rows."""
    for role in sorted(case.allowed):
        if case.other_organization == "own":
            break  # acts in the caller's own organization: checked in tests/organizations
        answer = call(client, case, world, bearer(world.other_tokens[role.value]))
        if case.other_organization == "empty":
            assert answer.status_code == 200, (role, answer.text)
            assert answer.json() in ([], {}) or answer.headers.get("x-total-count") == "0", (
                role,
                answer.text,
            )
        elif role is Role.MEMBER and case.member_scoped:
            assert answer.status_code in {403, 404}, (role, answer.text)
        else:
            # 404; a sku named in the body is as unknown (422) as one that does not exist
            assert answer.status_code in {404, 422}, (role, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"


# Path ids of the home merchant's rows; another merchant of the same organization finds none of them.
MERCHANT_OWNED = ("{merchant}", "{merchant_product_id}", "{merchant_coupon_id}", "{merchant_promotion_id}")
MERCHANT_OWNED_TOO = ("{merchant_review}", "{merchant_campaign_id}")


def merchant_cases(cases: list[Case]) -> list[Case]:
    """The cases a merchant may call."""
    return [c for c in cases if Role.MERCHANT in c.allowed]


def check_another_merchant(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    """Another merchant of the organization finds none of the home merchant's rows and writes nothing."""
    before = row_counts(factory)
    neighbour = bearer(world.tokens["neighbour"])
    if any(p in case.path for p in MERCHANT_OWNED + MERCHANT_OWNED_TOO):
        answer = call(client, case, world, neighbour)
        assert answer.status_code == 404, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
    elif case.method == "GET":
        answer = call(client, case, world, neighbour)
        assert answer.status_code == 200, answer.text
        rows = answer.json() if isinstance(answer.json(), list) else [answer.json()]
        assert all(r.get("merchant_id", world.ids["neighbour"]) == world.ids["neighbour"] for r in rows)
    elif case.path in {"/api/v1/coupons", "/api/v1/promotions"}:
        body = {**case.body, "skus": ["SHOP-SKU"]}  # the home merchant's sku
        answer = client.post(case.path, json=body, headers=neighbour)
        assert (answer.status_code, answer.json()["code"]) == (404, "product_not_found")
    else:
        return  # acts for the caller's own merchant (POST /products)
    assert row_counts(factory) == before


def case_id(case: Case) -> str:
    """A case's test id: its method and path."""
    return f"{case.method} {case.path}"

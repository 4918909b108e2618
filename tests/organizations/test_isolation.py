"""Tenant isolation: a scoped operator creates in its organization and sees nothing of another one;
platform administrators see all; a deleted organization's tokens stop at once."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.auth.models import ApiToken, Role
from neigou.cli.main import app as cli
from neigou.kit.scoping import Scope, use_scope
from neigou.kit.settings import get_settings
from neigou.orders.models import Order
from neigou.programs.models import Member, Program
from tests.cli_env import cli_environment
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program


def _organization(client: TestClient, admin: dict[str, str], code: str) -> int:
    response = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _tenant(client: TestClient, admin: dict[str, str], make_token: TokenMaker, code: str) -> dict[str, Any]:
    organization_id = _organization(client, admin, code)
    headers = bearer(make_token(Role.OPERATOR, organization_id=organization_id))
    program = create_program(client, headers, code=f"{code}-program")
    member = create_member(client, headers, program["id"], name=f"{code} member")
    sku = f"{code.upper()}-SKU"
    product = client.post(
        "/api/v1/products",
        json={"sku": sku, "title": sku, "price_fen": 1000, "commission_rate_bp": 1000},
        headers=headers,
    )
    assert product.status_code == 201, product.text
    return {"id": organization_id, "headers": headers, "program": program, "member": member, "sku": sku}


def test_scoped_operators_see_only_their_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = _tenant(client, operator, make_token, "brand-a")
    b = _tenant(client, operator, make_token, "brand-b")
    with factory() as session:
        owners = dict(session.execute(select(Program.code, Program.organization_id)).all())
    assert owners == {"brand-a-program": a["id"], "brand-b-program": b["id"]}

    listed = client.get("/api/v1/programs", headers=a["headers"])
    assert [p["code"] for p in listed.json()] == ["brand-a-program"]
    assert listed.headers["x-total-count"] == "1"
    hidden = client.get(f"/api/v1/programs/{b['program']['id']}", headers=a["headers"])
    assert (hidden.status_code, hidden.json()["code"]) == (404, "program_not_found")
    assert client.get(f"/api/v1/members/{b['member']['id']}", headers=a["headers"]).status_code == 404
    products = client.get("/api/v1/products", headers=a["headers"]).json()
    assert [p["sku"] for p in products] == [a["sku"]]
    # An order for another organization's program is refused and writes nothing.
    order = {
        "external_id": "X-1",
        "program_id": b["program"]["id"],
        "customer_ref": "shopper",
        "items": [{"sku": a["sku"], "quantity": 1, "paid_fen": 1000}],
        "paid_at": "2026-12-01T10:00:00+08:00",
    }
    refused = client.post("/api/v1/orders", json=order, headers=a["headers"])
    assert refused.status_code == 404, refused.text
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0

    everything = client.get("/api/v1/programs", headers=operator)  # a platform administrator
    assert sorted(p["code"] for p in everything.json()) == ["brand-a-program", "brand-b-program"]


def test_the_session_scope_filters_orm_statements_of_every_program_table(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = _tenant(client, operator, make_token, "brand-a")
    b = _tenant(client, operator, make_token, "brand-b")
    with factory() as session:
        use_scope(session, Scope(a["id"]))
        assert session.get(Program, b["program"]["id"]) is None
        assert session.get(Member, a["member"]["id"]) is not None
        assert session.scalars(select(Member.name)).all() == ["brand-a member"]
        # joins and subqueries carry the criteria too
        joined = select(Member.name).join(Program, Program.id == Member.program_id)
        assert session.scalars(joined).all() == ["brand-a member"]
        inner = select(Member.id).scalar_subquery()
        assert session.scalars(select(func.count()).where(Member.id.in_(inner))).one() == 1
        use_scope(session, None)
        assert session.scalar(select(func.count()).select_from(Member)) == 2


def test_a_scoped_operator_cannot_write_into_another_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    a = _tenant(client, operator, make_token, "brand-a")
    b = _tenant(client, operator, make_token, "brand-b")
    elsewhere = client.post(
        "/api/v1/programs",
        json={"code": "sneaky", "name": "x", "organization_id": b["id"]},
        headers=a["headers"],
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "organization_not_found")
    member = client.post(
        f"/api/v1/programs/{b['program']['id']}/members", json={"name": "x"}, headers=a["headers"]
    )
    assert member.status_code == 404
    token = client.post(
        "/api/v1/tokens", json={"role": "member", "member_id": b["member"]["id"]}, headers=a["headers"]
    )
    assert (token.status_code, token.json()["code"]) == (404, "member_not_found")
    # a code is unique within an organization: another organization's is free (docs/tenancy.md)
    same = client.post(
        "/api/v1/programs", json={"code": "brand-b-program", "name": "x"}, headers=a["headers"]
    )
    assert same.status_code == 201, same.text
    taken = client.post(
        "/api/v1/programs", json={"code": "brand-b-program", "name": "y"}, headers=a["headers"]
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "program_code_taken")


def test_tokens_of_a_deleted_organization_stop_at_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = _tenant(client, operator, make_token, "brand-a")
    member_token = make_token(Role.MEMBER, a["member"]["id"])
    with factory() as session:
        bound = session.scalar(
            select(ApiToken.organization_id).where(ApiToken.member_id == a["member"]["id"])
        )
    assert bound == a["id"]  # a member token is bound to its program's organization
    assert client.get("/api/v1/me", headers=bearer(member_token)).status_code == 200
    deleted = client.delete(f"/api/v1/organizations/{a['id']}", headers=operator)
    assert deleted.status_code == 200
    assert deleted.json()["deleted_at"] is not None
    for headers in (a["headers"], bearer(member_token)):
        gone = client.get("/api/v1/me", headers=headers)
        assert (gone.status_code, gone.json()["code"]) == (401, "invalid_token")
    again = client.post("/api/v1/organizations", json={"code": "brand-a", "name": "x"}, headers=operator)
    assert (again.status_code, again.json()["code"]) == (409, "organization_code_taken")


def test_the_default_organization_stays(client: TestClient, operator: dict[str, str]) -> None:
    listed = client.get("/api/v1/organizations", headers=operator).json()
    default = next(o for o in listed if o["code"] == "default")
    refused = client.delete(f"/api/v1/organizations/{default['id']}", headers=operator)
    assert (refused.status_code, refused.json()["code"]) == (409, "default_organization")


def test_cli_scoped_token_and_user(
    client: TestClient, operator: dict[str, str], database_url: str, monkeypatch: Any
) -> None:
    organization_id = _organization(client, operator, "brand-c")
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        made = runner.invoke(cli, ["token", "create", "--role", "operator", "--organization", "brand-c"])
        assert made.exit_code == 0, made.output
        me = client.get("/api/v1/programs", headers=bearer(made.output.strip().splitlines()[-1]))
        assert me.status_code == 200
        assert me.json() == []
        unknown = runner.invoke(cli, ["token", "create", "--role", "operator", "--organization", "nope"])
        assert unknown.exit_code != 0
        user = runner.invoke(
            cli,
            [
                "user",
                "create",
                "--username",
                "c-op",
                "--password",
                "long-enough-1",
                "--organization",
                "brand-c",
            ],
        )
        assert user.exit_code == 0, user.output
    finally:
        get_settings.cache_clear()
    assert organization_id > 0

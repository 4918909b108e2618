"""The scope's criteria on aliases: an aliased entity joined into a statement is filtered on the alias
itself, so a self-join never reaches another organization's rows, an alias joined without its base
entity compiles, and a cached aliased statement binds each caller's organization."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from neigou.auth.models import Role
from neigou.kit.scoping import Scope, use_scope
from neigou.offers.models import Product
from neigou.programs.models import Member, Program
from tests.conftest import TokenMaker, bearer
from tests.organizations.builders import Tenant, tenant


@pytest.fixture
def pair(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> tuple[Tenant, Tenant]:
    return tenant(client, operator, make_token, "brand-a"), tenant(client, operator, make_token, "brand-b")


def test_a_self_join_of_an_aliased_member_stays_in_the_organization(
    pair: tuple[Tenant, Tenant], factory: sessionmaker[Session]
) -> None:
    a, _b = pair
    other = aliased(Member)
    query = select(Member.name, other.name).join(other, other.id != Member.id)
    with factory() as session:
        use_scope(session, Scope(a.organization_id))
        assert session.execute(query).all() == []
        unscoped = select(Member.name, other.name).join(other, other.id != Member.id)
        use_scope(session, None)
        assert ("brand-a member", "brand-b member") in session.execute(unscoped).all()


def test_a_self_join_of_an_aliased_program_stays_in_the_organization(
    pair: tuple[Tenant, Tenant], factory: sessionmaker[Session]
) -> None:
    _a, b = pair
    other = aliased(Program)
    query = select(Program.code, other.code).join(other, other.id != Program.id)
    with factory() as session:
        use_scope(session, Scope(b.organization_id))
        assert session.execute(query).all() == []
        outer = select(Program.code, other.id.is_(None)).outerjoin(other, other.id != Program.id)
        assert session.execute(outer).all() == [("brand-b-program", True)]


def test_an_alias_joined_without_its_base_entity_is_filtered(
    pair: tuple[Tenant, Tenant], factory: sessionmaker[Session]
) -> None:
    a, _b = pair
    member = aliased(Member)
    # Every program of the caller with every member (the join's condition names no organization).
    query = select(Program.code, member.name).join(member, member.id > 0).order_by(member.id)
    with factory() as session:
        use_scope(session, Scope(a.organization_id))
        assert session.execute(query).all() == [("brand-a-program", "brand-a member")]


def test_a_cached_aliased_statement_binds_each_callers_organization(
    pair: tuple[Tenant, Tenant], factory: sessionmaker[Session]
) -> None:
    a, b = pair
    member = aliased(Member)
    program = aliased(Program)
    joined = select(Program.code, member.name).join(member, member.id > 0)
    selfjoin = select(Member.name, program.code).join(program, program.id > 0)
    from_alias = select(member.name)
    with factory() as session:
        for owner in (a, b, a):
            use_scope(session, Scope(owner.organization_id))
            assert session.execute(joined).all() == [(f"{owner.code}-program", f"{owner.code} member")]
            assert session.execute(selfjoin).all() == [(f"{owner.code} member", f"{owner.code}-program")]
            assert session.scalars(from_alias).all() == [f"{owner.code} member"]


def test_a_cached_aliased_statement_binds_each_callers_merchant(
    client: TestClient,
    pair: tuple[Tenant, Tenant],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
) -> None:
    a, _b = pair
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=a.headers).json()
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    body = {"sku": "SHOP-SKU", "title": "店品", "price_fen": 500, "commission_rate_bp": 1000}
    assert client.post("/api/v1/products", json=body, headers=merchant).status_code == 201
    other = aliased(Product)
    pairs = select(Product.sku, other.sku).join(other, other.sku != Product.sku).order_by(Product.sku)
    with factory() as session:
        for merchant_id in (shop["id"], shop["id"] + 1, shop["id"]):
            use_scope(session, Scope(a.organization_id))
            assert session.execute(pairs).all() == [("BRAND-A-SKU", "SHOP-SKU"), ("SHOP-SKU", "BRAND-A-SKU")]
            use_scope(session, Scope(a.organization_id, merchant_id=merchant_id))
            assert session.execute(pairs).all() == []
            assert session.scalars(select(other.sku)).all() == (
                ["SHOP-SKU"] if merchant_id == shop["id"] else []
            )

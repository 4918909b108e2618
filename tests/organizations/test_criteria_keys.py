"""The scope's criteria and SQLAlchemy's statement cache: a scope's criteria are walked for a cache key
once, not on every statement, and a compiled statement reused for another caller binds that caller's
organization (and merchant)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import LoaderCriteriaOption

from neigou.auth.models import Role
from neigou.kit.scoping import Scope, use_scope
from neigou.offers.models import Product
from neigou.programs.models import Member
from tests.conftest import TokenMaker, bearer
from tests.organizations.builders import tenant


def test_a_scopes_criteria_are_walked_once_for_the_cache_key(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    walks: list[Any] = []
    walk = LoaderCriteriaOption._gen_cache_key

    def counted(self: LoaderCriteriaOption, *args: Any) -> Any:
        walks.append(self)
        return walk(self, *args)

    monkeypatch.setattr(LoaderCriteriaOption, "_gen_cache_key", counted)
    with factory() as session:
        use_scope(session, Scope(a.organization_id))
        assert session.scalars(select(Member.name)).all() == ["brand-a member"]
        first = len(walks)  # the scope's first statement walks each criterion (unless one did already)
        for n in range(3):
            assert session.scalars(select(Member.name).where(Member.id < a.member_id + n + 1)).all() == [
                "brand-a member"
            ]
            assert session.get(Member, a.member_id) is not None
    assert len(walks) == first


def test_a_cached_statement_binds_each_callers_organization_and_merchant(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    shop = client.post("/api/v1/merchants", json={"code": "shop", "name": "店"}, headers=a.headers).json()
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=shop["id"]))
    body = {"sku": "SHOP-SKU", "title": "店品", "price_fen": 500, "commission_rate_bp": 1000}
    assert client.post("/api/v1/products", json=body, headers=merchant).status_code == 201
    members = select(Member.name).order_by(Member.id)
    products = select(Product.sku).order_by(Product.sku)
    with factory() as session:
        # Each statement compiled once, then reused from the cache with the next caller's values.
        for owner, other in ((a, b), (b, a), (a, b)):
            use_scope(session, Scope(owner.organization_id))
            assert session.scalars(members).all() == [f"{owner.code} member"]
            assert session.get(Member, other.member_id) is None
            expected = sorted([owner.sku, "SHOP-SKU"] if owner is a else [owner.sku])
            assert session.scalars(products).all() == expected
            use_scope(session, Scope(a.organization_id, merchant_id=shop["id"]))
            assert session.scalars(products).all() == ["SHOP-SKU"]
            use_scope(session, Scope(a.organization_id, merchant_id=shop["id"] + 1))
            assert session.scalars(products).all() == []

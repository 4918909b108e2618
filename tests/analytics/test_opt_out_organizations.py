"""An opt-out reaches the analytics store as far as it reaches the database (docs/privacy.md,
Organizations): an organization's opt-out of every program tombstones its own programs' facts only,
never another organization's, on DuckDB and on chDB."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics.extract import refresh
from neigou.analytics.store import Store
from neigou.auth.models import Role
from neigou.kit.ids import customer_ref_hash
from neigou.orders.models import Order
from neigou.programs.models import Program
from tests.analytics.builders import build
from tests.conftest import SECRET, TokenMaker, bearer

COUNTED = "SELECT count(*) FROM orders WHERE customer = :c"


def test_an_organizations_opt_out_of_every_program_leaves_other_organizations_facts_alone(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    store: Store,
) -> None:
    world = build(client, operator, make_token, factory)
    hashed = customer_ref_hash(SECRET, "c1")
    with factory() as session:
        refresh(session, store)
        program = session.get(Program, world.program_id)
        assert program is not None
        own_organization = program.organization_id
    assert store.query(COUNTED, c=hashed) == [(3,)]
    total = store.query("SELECT count(*) FROM orders")

    made = client.post("/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=operator)
    assert made.status_code == 201, made.text
    brand_b = bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))
    body = {"customer_ref": "c1", "request_id": "b-all"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=brand_b).status_code == 201
    with factory() as session:
        kept = session.scalar(
            select(func.count()).select_from(Order).where(Order.customer_ref_hash == hashed)
        )
        assert kept == 3  # the database keeps this organization's orders under the shopper's hash ...
        refresh(session, store)
    assert store.query(COUNTED, c=hashed) == [(3,)]  # ... and so does the store

    # The shopper's own organization's opt-out of every program reaches all of its programs' facts.
    brand_a = bearer(make_token(Role.OPERATOR, organization_id=own_organization))
    body = {"customer_ref": "c1", "request_id": "a-all"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=brand_a).status_code == 201
    with factory() as session:
        refresh(session, store)
    assert store.query(COUNTED, c=hashed) == [(0,)]
    assert store.query("SELECT count(*) FROM orders") == total  # kept, under a tombstone

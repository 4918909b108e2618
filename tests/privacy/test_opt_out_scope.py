"""Which opt-outs cover a claim taken before them and stored only after them (still in the claim stream,
or a dead letter replayed; ``privacy.repository.opted_out_since``): one of its program, one of every
program recorded for its coupon's organization, or one recorded platform-wide; never another
organization's opt-out of every program, which erased nothing of this organization's (docs/privacy.md,
Organizations). With the stock gate and its stream on the real Redis of ``tests.local_redis``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.ids import ERASED, keyed_hash
from neigou.links.claim_stream import ClaimWriter
from neigou.links.models import ClaimCounter, CouponClaim
from neigou.links.stock_gate import StockGate
from tests.conftest import SECRET, TokenMaker, bearer
from tests.factories import create_program
from tests.links.conftest import app_behind_gate
from tests.orders import builders as orders
from tests.privacy.builders import default_organization

PATH = "/api/v1/privacy/opt-outs"
PHONE = "13712345678"
PHONE_HASH = keyed_hash(SECRET, PHONE)
MASKED = "137****5678"


@pytest.fixture
def gate(app: FastAPI, factory: sessionmaker[Session]) -> Iterator[StockGate]:
    """Claims behind the gate; nothing stores the stream until the test drains it (so an opt-out does
    not store it first, as another process's opt-out would not)."""
    yield from app_behind_gate(app)


def other_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> dict[str, Any]:
    """Organization B, its operator's headers and a program of its own."""
    made = client.post("/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=operator)
    assert made.status_code == 201, made.text
    headers = bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))
    return {"id": made.json()["id"], "headers": headers, "program": create_program(client, headers, code="b")}


def opt_out(client: TestClient, headers: dict[str, str], key: str, **body: Any) -> dict[str, Any]:
    made = client.post(PATH, json={"customer_ref": PHONE, "request_id": key, **body}, headers=headers)
    assert made.status_code == 201, made.text
    answer: dict[str, Any] = made.json()
    return answer


def _claim(client: TestClient, operator: dict[str, str], coupon_id: int) -> None:
    """A claim of the coupon without a link (no program), left in the claim stream."""
    claimed = client.post(
        f"/api/v1/coupons/{coupon_id}/claims", json={"customer_ref": PHONE}, headers=operator
    )
    assert claimed.status_code == 201, claimed.text


def _drain(gate: StockGate, factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    assert gate.stream is not None
    ClaimWriter(gate.client, gate.stream, factory, name="later").drain()
    with factory() as session:
        return [
            (h, m)
            for h, m in session.execute(
                select(CouponClaim.customer_ref_hash, CouponClaim.customer_ref_masked).order_by(
                    CouponClaim.id
                )
            )
        ]


def _counter(factory: sessionmaker[Session], coupon_id: int) -> int | None:
    with factory() as session:
        return session.scalar(
            select(ClaimCounter.claimed).where(
                ClaimCounter.coupon_id == coupon_id, ClaimCounter.customer_ref_hash == PHONE_HASH
            )
        )


def test_another_organizations_opt_out_of_every_program_does_not_erase_a_claim_stored_after_it(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    other = other_organization(client, operator, make_token)
    _claim(client, operator, opened["id"])
    opt_out(client, other["headers"], "b-all")
    # Stored as taken: the shopper's hash, their masked phone, their per-customer counter.
    assert _drain(gate, factory) == [(PHONE_HASH, MASKED)]
    assert _counter(factory, opened["id"]) == 1


def test_an_opt_out_of_another_organizations_program_does_not_erase_a_claim_stored_after_it(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    other = other_organization(client, operator, make_token)
    _claim(client, operator, opened["id"])
    opt_out(client, other["headers"], "b-one", program_id=other["program"]["id"])
    assert _drain(gate, factory) == [(PHONE_HASH, MASKED)]


@pytest.mark.parametrize("recorder", ["own_organization", "platform"])
def test_the_coupons_organizations_or_a_platform_wide_opt_out_erases_a_claim_without_a_program(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    gate: StockGate,
    recorder: str,
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    _claim(client, operator, opened["id"])
    own = bearer(make_token(Role.OPERATOR, organization_id=default_organization(factory)))
    opt_out(client, own if recorder == "own_organization" else operator, "a-all")
    [(stored_hash, masked)] = _drain(gate, factory)
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)
    assert _counter(factory, opened["id"]) is None

"""An opt-out dated in the past (its ``at``) covers from the later of that date and the moment it is
recorded: a claim the shopper made between the two, still in another process's claim stream, is stored
erased, never under the shopper's hash. What it erases is stamped with the server's time (the customer
book's ``erased_at``), and its audit entry is dated by the server, the caller's ``at`` kept in it
(docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.crm.models import Customer
from neigou.kit.clock import utcnow
from neigou.kit.ids import ERASED, keyed_hash
from neigou.links.claim_stream import ClaimWriter
from neigou.links.models import CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.privacy.models import OptOut
from tests.conftest import SECRET, TokenMaker
from tests.crm.builders import add_customer
from tests.crm.builders import build as build_book
from tests.links.conftest import app_behind_gate
from tests.orders import builders as orders

PATH = "/api/v1/privacy/opt-outs"
PHONE = "13712345678"
PHONE_HASH = keyed_hash(SECRET, PHONE)


@pytest.fixture
def gate(app: FastAPI, factory: sessionmaker[Session]) -> Iterator[StockGate]:
    """The app's claims behind the gate; no claim writer drains the stream unless a test makes one."""
    for gate in app_behind_gate(app):
        app.state.links.claims = None
        yield gate


def _opt_out(client: TestClient, operator: dict[str, str], at: datetime) -> dict[str, object]:
    body = {"customer_ref": PHONE, "request_id": "backdated", "at": at.isoformat()}
    made = client.post(PATH, json=body, headers=operator)
    assert made.status_code == 201, made.text
    answer: dict[str, object] = made.json()
    return answer


def test_a_claim_made_after_a_past_at_and_stored_after_the_opt_out_is_stored_erased(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    asked = utcnow() - timedelta(hours=1)  # the shopper asked an hour ago; the claim is made now
    claimed = client.post(
        f"/api/v1/coupons/{opened['id']}/claims", json={"customer_ref": PHONE}, headers=operator
    )
    assert claimed.status_code == 201, claimed.text
    assert gate.stream is not None
    started = utcnow()
    answer = _opt_out(client, operator, asked)  # recorded by a process that does not drain the stream
    assert gate.client.xlen(gate.stream) == 1
    assert datetime.fromisoformat(str(answer["requested_at"])) >= started  # covered from now
    ClaimWriter(gate.client, gate.stream, factory, name="later").drain()
    with factory() as session:
        [(stored_hash, masked)] = session.execute(
            select(CouponClaim.customer_ref_hash, CouponClaim.customer_ref_masked)
        ).all()
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)


def test_the_customer_book_is_erased_at_the_servers_time_and_the_audit_keeps_the_callers_at(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build_book(client, operator, make_token)
    add_customer(client, book.member_headers, book.member, PHONE, name="王女士")
    asked = datetime.fromisoformat("2026-03-01T12:00:00+08:00")
    started = utcnow()
    _opt_out(client, operator, asked)
    with factory() as session:
        [erased_at] = session.scalars(select(Customer.erased_at)).all()
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.opt_out")).all()
        [requested_at] = session.scalars(select(OptOut.requested_at)).all()
    assert erased_at is not None
    assert started <= erased_at <= utcnow()  # the server's time of the erasure, not the caller's ``at``
    assert started <= entry.at <= utcnow()
    assert started <= requested_at <= utcnow()
    assert entry.after is not None
    assert datetime.fromisoformat(entry.after["at"]) == asked

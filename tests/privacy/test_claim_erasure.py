"""What an opt-out erases of coupon claims beyond their rows: the ``coupon.claim`` audit entries' masked
reference, a claim still in the Redis claim stream when it runs, the stock gate's per-customer
counter, and the claim stream's dead letters (with the gate and its stream on the real Redis of
``tests.local_redis``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit import dead_letters
from neigou.kit.dead_letters import DELIVERIES, GROUP, ID, REASON, dead_key
from neigou.kit.ids import ERASED, keyed_hash
from neigou.links import claim_stream
from neigou.links.claim_stream import ClaimWriter
from neigou.links.models import CouponClaim, Touch, Visitor
from neigou.links.stock_gate import StockGate
from neigou.privacy.models import OptOut
from tests.conftest import SECRET
from tests.links.conftest import app_behind_gate
from tests.orders import builders as orders
from tests.sign_in import console_sign_in

PHONE = "13712345678"
PHONE_HASH = keyed_hash(SECRET, PHONE)
MASKED = "137****5678"


@pytest.fixture
def gate(app: FastAPI, factory: sessionmaker[Session]) -> Iterator[StockGate]:
    """The app's claims behind the gate, its claim writer draining the stream only when asked."""
    for gate in app_behind_gate(app):
        assert gate.stream is not None
        app.state.links.claims = ClaimWriter(gate.client, gate.stream, factory, name="test")
        try:
            yield gate
        finally:
            app.state.links.claims = None


def _claim(client: TestClient, operator: dict[str, str], coupon_id: int) -> Any:
    return client.post(
        f"/api/v1/coupons/{coupon_id}/claims", json={"customer_ref": "137 1234 5678"}, headers=operator
    )


def _opt_out(client: TestClient, operator: dict[str, str], request_id: str = "r-1") -> dict[str, int]:
    done = client.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": PHONE, "request_id": request_id},
        headers=operator,
    )
    assert done.status_code == 201, done.text
    erased: dict[str, int] = done.json()["erased"]
    return erased


def _claim_audit(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    with factory() as session:
        return [
            dict(after or {})
            for after in session.scalars(select(AuditEntry.after).where(AuditEntry.action == "coupon.claim"))
        ]


def _claims(factory: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with factory() as session:
        return [
            (h, m, v)
            for h, m, v in session.execute(
                select(CouponClaim.customer_ref_hash, CouponClaim.customer_ref_masked, CouponClaim.visitor_id)
            )
        ]


def test_the_claims_audit_entries_lose_the_masked_phone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    claimed = _claim(client, operator, opened["id"])
    assert claimed.status_code == 201, claimed.text
    [entry] = _claim_audit(factory)
    assert entry["customer"] == MASKED
    erased = _opt_out(client, operator)
    [entry] = _claim_audit(factory)
    assert entry == {**entry, "claim_id": claimed.json()["id"], "customer": ERASED}
    assert erased["claims"] == 1
    assert erased["audit_entries"] == 1  # the claim's entry (the shopper has no customer-book entry)
    # A second opt-out finds nothing more to redact.
    assert _opt_out(client, operator, "r-2")["audit_entries"] == 0


def test_a_claim_still_in_the_stream_is_stored_first_and_erased(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    claimed = _claim(client, operator, opened["id"])
    assert claimed.status_code == 201, claimed.text
    assert gate.stream is not None
    assert gate.client.xlen(gate.stream) == 1
    erased = _opt_out(client, operator)
    assert erased["claims"] == 1
    assert erased["audit_entries"] == 1  # the claim writer's entry of the claim
    assert gate.client.xlen(gate.stream) == 0
    [(stored_hash, masked, _visitor)] = _claims(factory)
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)
    [entry] = _claim_audit(factory)
    assert entry["customer"] == ERASED


def test_an_opt_out_of_every_program_starts_the_gates_limit_afresh_and_drops_its_key(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)  # one claim per customer
    assert _claim(client, operator, opened["id"]).status_code == 201
    again = _claim(client, operator, opened["id"])
    assert again.status_code == 409
    assert again.json()["code"] == "limit_reached"
    _opt_out(client, operator)
    assert not [k for k in gate.client.scan_iter(f"{gate.namespace}:*") if PHONE_HASH.encode() in k]
    # As docs/privacy.md says: the shopper's limit starts afresh.
    assert _claim(client, operator, opened["id"]).status_code == 201
    app_claims = client.app.state.links.claims  # type: ignore[attr-defined]
    app_claims.drain()
    assert sorted(m for _, m, _ in _claims(factory)) == sorted([ERASED, MASKED])


def test_a_claim_with_a_cookie_stored_after_the_opt_out_links_no_visitor(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    """A landing-page claim still in the stream while the opt-out ran without draining it (another
    process's opt-out): stored later, it is stored erased, with no cookie linkage and no touch."""
    world = orders.build(client, operator, factory)
    _opened, code = orders.coupon_link(client, operator, world)
    assert client.get(f"/l/{code}", follow_redirects=False).status_code == 302
    app.state.links.clicks.flush()
    claimed = client.post(f"/p/{code}/claim", data={"phone": PHONE}, follow_redirects=False)
    assert claimed.status_code == 303
    assert gate.stream is not None
    queued: Any = gate.client.xrange(gate.stream)
    [(_id, fields)] = queued
    assert json.loads(fields[b"c"])["visitor_id"] is not None  # the claim identifies the cookie
    app.state.links.claims = None  # this opt-out does not drain the stream
    _opt_out(client, operator)
    assert gate.client.xlen(gate.stream) == 1
    ClaimWriter(gate.client, gate.stream, factory, name="later").drain()
    [(stored_hash, masked, visitor)] = _claims(factory)
    assert (stored_hash != PHONE_HASH, masked, visitor) == (True, ERASED, None)
    with factory() as session:
        assert session.scalars(select(Visitor)).all() == []
        assert session.scalars(select(Touch)).all() == []
    assert all(entry["customer"] == ERASED for entry in _claim_audit(factory))


def _taken_out(gate: StockGate) -> tuple[bytes, dict[bytes, bytes]]:
    """The one claim in the stream, taken out of it (as the claim writer does before a dead letter)."""
    assert gate.stream is not None
    entries: Any = gate.client.xrange(gate.stream)
    [(entry_id, fields)] = entries
    gate.client.xdel(gate.stream, entry_id)
    return entry_id, fields


def _bury(gate: StockGate, entry: tuple[bytes, dict[bytes, bytes]]) -> None:
    """The entry moved to the claim stream's dead letters, refused at every delivery."""
    assert gate.stream is not None
    meta = {
        ID: entry[0],
        GROUP: b"neigou-claim-writers",
        REASON: b"ck_coupon_templates_stock",
        DELIVERIES: b"5",
    }
    letter: dict[Any, Any] = {**entry[1], **meta}
    gate.client.xadd(dead_key(gate.stream), letter)


def _replayed(gate: StockGate, factory: sessionmaker[Session]) -> tuple[int, int]:
    assert gate.stream is not None
    return dead_letters.replay(gate.client, gate.stream, factory, claim_stream.store_entries)


def test_the_opt_out_rewrites_the_shoppers_claim_dead_letters_and_a_replay_stores_them_erased(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    _opened, code = orders.coupon_link(client, operator, world)
    assert client.post(f"/p/{code}/claim", data={"phone": PHONE}, follow_redirects=False).status_code == 303
    _bury(gate, _taken_out(gate))
    _opt_out(client, operator)
    assert gate.stream is not None
    [letter] = dead_letters.letters(gate.client, gate.stream)
    held = b"".join(letter.fields.values())
    assert PHONE_HASH.encode() not in held
    assert MASKED.encode() not in held
    assert _replayed(gate, factory) == (1, 0)
    [(stored_hash, masked, visitor)] = _claims(factory)
    assert (stored_hash != PHONE_HASH, masked, visitor) == (True, ERASED, None)
    with factory() as session:
        assert session.scalars(select(Touch)).all() == []


def test_a_claim_dead_lettered_after_the_opt_out_is_replayed_erased(
    client: TestClient,
    app: FastAPI,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
) -> None:
    """A claim taken before the opt-out and set aside only after it (pending with a writer meanwhile):
    its replay stores it as the opt-out would have left it."""
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    assert _claim(client, operator, opened["id"]).status_code == 201
    entry = _taken_out(gate)
    app.state.links.claims = None
    _opt_out(client, operator)
    _bury(gate, entry)
    assert _replayed(gate, factory) == (1, 0)
    [(stored_hash, masked, _visitor)] = _claims(factory)
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)
    assert [entry["customer"] for entry in _claim_audit(factory)] == [ERASED]


def test_the_consoles_opt_out_stores_the_claim_stream_first_too(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    world = orders.build(client, operator, factory)
    opened, _code = orders.coupon_link(client, operator, world)
    assert _claim(client, operator, opened["id"]).status_code == 201
    console_sign_in(client, factory, next_page="/console")
    form = {"customer_ref": PHONE, "program_id": "", "request_id": "console-claims-1", "confirm": "yes"}
    assert client.post("/console/privacy", data=form, follow_redirects=False).status_code == 303
    assert gate.stream is not None
    assert gate.client.xlen(gate.stream) == 0
    with factory() as session:
        assert session.scalars(select(OptOut.erased)).one()["claims"] == 1
    [(stored_hash, masked, _visitor)] = _claims(factory)
    assert (stored_hash != PHONE_HASH, masked) == (True, ERASED)

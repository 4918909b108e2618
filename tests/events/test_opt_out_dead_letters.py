"""A reservation set aside in the reservation stream's dead letters keeps its shopper's hash and masked
phone (fields ``c`` and ``m``) until replayed: the opt-out rewrites them under its tombstone, and a
replay of one set aside only after the opt-out stores it as the opt-out would have left it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.events import writer as reservations
from neigou.events.models import EventEmployee, Reservation
from neigou.kit import dead_letters
from neigou.kit.dead_letters import DELIVERIES, GROUP, ID, REASON, dead_key
from neigou.kit.ids import ERASED, customer_ref_hash, mask
from tests.conftest import SECRET, TokenMaker, bearer
from tests.events.conftest import Gated

SHOPPER = "13800000001"


def _taken_out(gated: Gated) -> tuple[bytes, dict[bytes, bytes]]:
    entries: Any = gated.gate.client.xrange(gated.gate.stream)
    [(entry_id, fields)] = entries
    gated.gate.client.xdel(gated.gate.stream, entry_id)
    return entry_id, fields


def _bury(gated: Gated, entry: tuple[bytes, dict[bytes, bytes]]) -> None:
    meta = {ID: entry[0], GROUP: reservations.GROUP.encode(), REASON: b"bad_value", DELIVERIES: b"5"}
    letter: dict[Any, Any] = {**entry[1], **meta}
    gated.gate.client.xadd(dead_key(gated.gate.stream), letter)


def _opt_out(gated: Gated) -> None:
    done = gated.api.post(
        "/api/v1/privacy/opt-outs",
        json={"customer_ref": SHOPPER, "request_id": "r-1"},
        headers=gated.operator,
    )
    assert done.status_code == 201, done.text


def _stored(gated: Gated, factory: sessionmaker[Session]) -> tuple[str, str, str | None]:
    assert dead_letters.replay(gated.gate.client, gated.gate.stream, factory, reservations.store_entries) == (
        1,
        0,
    )
    with factory() as session:
        stored_hash, masked = session.execute(
            select(Reservation.customer_ref_hash, Reservation.customer_ref_masked)
        ).one()
        employee = session.scalar(
            select(EventEmployee.customer_ref_hash).where(EventEmployee.employee_no == "E1")
        )
    return stored_hash, masked, employee


def test_the_opt_out_rewrites_the_shoppers_reservation_dead_letters(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    assert gated.reserve(SHOPPER).status_code == 201
    _bury(gated, _taken_out(gated))
    _opt_out(gated)
    [letter] = dead_letters.letters(gated.gate.client, gated.gate.stream)
    record = json.loads(letter.fields[b"r"])
    assert (record["c"] != customer_ref_hash(SECRET, SHOPPER), record["m"]) == (True, ERASED)
    held = b"".join(letter.fields.values())
    assert mask(SHOPPER).encode() not in held
    stored_hash, masked, employee = _stored(gated, factory)
    assert (stored_hash, masked, employee) == (record["c"], ERASED, None)


def test_a_reservation_dead_lettered_after_the_opt_out_is_replayed_erased(
    gated: Gated, factory: sessionmaker[Session]
) -> None:
    assert gated.reserve(SHOPPER).status_code == 201
    entry = _taken_out(gated)
    _opt_out(gated)
    _bury(gated, entry)
    stored_hash, masked, employee = _stored(gated, factory)
    assert (stored_hash != customer_ref_hash(SECRET, SHOPPER), masked, employee) == (True, ERASED, None)


def _other_organizations_opt_out(gated: Gated, make_token: TokenMaker) -> None:
    """Organization B's opt-out of every program (its own): it erases nothing of the event's."""
    made = gated.api.post(
        "/api/v1/organizations", json={"code": "brand-b", "name": "B"}, headers=gated.operator
    )
    assert made.status_code == 201, made.text
    headers = bearer(make_token(Role.OPERATOR, organization_id=made.json()["id"]))
    done = gated.api.post(
        "/api/v1/privacy/opt-outs", json={"customer_ref": SHOPPER, "request_id": "b-all"}, headers=headers
    )
    assert done.status_code == 201, done.text


def test_a_reservation_replayed_after_another_organizations_opt_out_keeps_its_shopper(
    gated: Gated, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """Another organization's opt-out of every program covers its own programs only: a reservation of
    this organization's event taken before it and stored after it is stored as taken."""
    assert gated.reserve(SHOPPER).status_code == 201
    entry = _taken_out(gated)
    _other_organizations_opt_out(gated, make_token)
    _bury(gated, entry)
    stored_hash, masked, employee = _stored(gated, factory)
    shopper = customer_ref_hash(SECRET, SHOPPER)
    assert (stored_hash, masked, employee) == (shopper, mask(SHOPPER), shopper)


def test_another_organizations_opt_out_leaves_the_events_dead_letters(
    gated: Gated, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    """An organization's opt-out of every program rewrites its own events' letters only, as it erases
    its own rows only."""
    assert gated.reserve(SHOPPER).status_code == 201
    _bury(gated, _taken_out(gated))
    _other_organizations_opt_out(gated, make_token)
    [letter] = dead_letters.letters(gated.gate.client, gated.gate.stream)
    record = json.loads(letter.fields[b"r"])
    assert (record["c"], record["m"]) == (customer_ref_hash(SECRET, SHOPPER), mask(SHOPPER))

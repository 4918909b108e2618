"""A seeding reads the event's counters and the reservations a refund released in one snapshot
(``seeds.seed_state``, ``kit.db.read_snapshot``), so a refund committed between the two reads is seen
by both or by neither: its give-back, however late it reaches Redis, returns the units the counters
still count. And the released set holds the reservations a full refund released (``released_at``)
only: not another shopper's hold that ran out unpaid, nor one of the same shopper's. On both
databases."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import refunds, seeds
from neigou.events.gate_keys import seeded_key
from neigou.events.holds import settle_holds
from neigou.events.models import Reservation
from neigou.kit.clock import utcnow
from tests.events.builders import gate_of, reserve
from tests.events.refund_worlds import (
    EXPIRED,
    PAID,
    SHOPPER,
    counters,
    notes,
    paid_holds,
    refund,
    refunded_in_full,
    state,
)


def _ids(factory: sessionmaker[Session], *request_ids: str) -> tuple[int, ...]:
    with factory() as session:
        found = session.scalars(select(Reservation.id).where(Reservation.request_id.in_(request_ids)))
        return tuple(sorted(found))


def test_a_refund_committed_between_the_seedings_reads_is_given_back(
    gate_api: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refund of EV-2 commits on another connection right before the seeding reads the released
    reservations, after it read the counters; its give-back reaches Redis a minute after the seeding.
    Read under READ COMMITTED (and on SQLite outside a transaction), the counters kept hold-2's unit
    while the set held hold-2, so the give-back skipped it: the unit was never offered again."""
    event_id, _ = paid_holds(gate_api, operator, factory)
    app: Any = gate_api.app
    _, gate, base = gate_of(app, event_id)
    gate.client.delete(seeded_key(base))  # marked stale: the next reservation seeds it again
    late: list[Callable[[], None]] = []
    monkeypatch.setattr(refunds, "after_commit", lambda _session, give_back: late.append(give_back))
    armed = [True]

    def refund_before_the_released_read(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        released_read = statement.lstrip().upper().startswith("SELECT") and "released_at" in statement
        if not (armed and "event_reservations" in statement and released_read):
            return
        armed.clear()
        with factory() as other:  # another connection, committed before the read runs
            order = refunded_in_full(other, "EV-2")
            assert (
                refunds.release_refunded(
                    other, event_id=event_id, customer=order.customer_ref_hash, at=utcnow()
                )
                == 1
            )
            other.commit()

    event.listen(engine, "before_cursor_execute", refund_before_the_released_read)
    try:
        with factory() as session:
            read = lambda: seeds.seed_state(session, event_id)  # noqa: E731
            ends_at = app.state.events.book.get(event_id).ends_at
            assert gate.seed(base, read, event_id=event_id, expire_at=gate.expiry(ends_at))
    finally:
        event.remove(engine, "before_cursor_execute", refund_before_the_released_read)
    assert (armed, len(late)) == ([], 1)  # the refund ran between the reads, its give-back held back
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED)], 1, 1)
    assert counters(gate, base) == (2, 2)  # the snapshot's: before the refund
    assert not gate.client.exists(f"{base}:refunded")  # nor its released reservation
    gate.client.set(f"{base}:seeded-at", int(time.time()) - 60, keepttl=True)  # the give-back comes late
    late[0]()
    assert counters(gate, base) == (1, 1)
    assert notes(gate, base) == []
    again = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-3")
    assert again.status_code == 201, again.text  # within the limit of two again
    over = reserve(gate_api, operator, event_id, SHOPPER, request_id="hold-4")
    assert (over.status_code, over.json()["code"]) == (409, "limit_reached")


def test_the_released_set_leaves_out_shoppers_refunded_in_part_only(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """hold-2 is released by the full refund of EV-2; another shopper's hold ran out unpaid and their
    order of the event is refunded in part: no refund released it, and the set leaves it out."""
    event_id, program_id = paid_holds(client, operator, factory)
    other = "13800000002"
    assert reserve(client, operator, event_id, other, request_id="b-1").status_code == 201
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=2)) == (0, 1)
    order = {
        "external_id": "EV-B",
        "program_id": program_id,
        "customer_ref": other,
        "event_id": event_id,
        "items": [{"sku": "EV-TEA", "quantity": 1, "paid_fen": 9900}],
        "paid_at": (utcnow() - timedelta(minutes=1)).isoformat(),
    }
    assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
    refund(client, operator, "EV-B", "RB", 100)
    refund(client, operator, "EV-2", "R2", 9900)
    with factory() as session:
        seed = seeds.seed_state(session, event_id)
    assert seed.released == _ids(factory, "hold-2")
    assert seed.stock == {"EV-TEA": 1, "EV-CUP": 0}


def test_a_seeding_rolls_back_reads_only_and_refuses_writes(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """A reservation's session has read (its event, its link, a prior reservation) when it seeds the
    gate: the snapshot ends that read transaction and reads what a fresh session reads. A session that
    wrote is refused, its write kept: the snapshot used to roll it back without a word."""
    event_id, _ = paid_holds(client, operator, factory)
    with factory() as session:
        fresh = seeds.seed_state(session, event_id)
    with factory() as session:
        assert session.scalars(select(Reservation.id)).all()  # a read transaction open
        assert seeds.seed_state(session, event_id) == fresh
    with factory() as session:
        held = session.scalars(select(Reservation).where(Reservation.request_id == "hold-1")).one()
        held.customer_ref_masked = "138****0009"
        session.flush()
        with pytest.raises(RuntimeError, match="a transaction that wrote"):
            seeds.seed_state(session, event_id)
        session.commit()
    with factory() as session:
        masked = select(Reservation.customer_ref_masked).where(Reservation.request_id == "hold-1")
        assert session.scalar(masked) == "138****0009"


def test_the_released_set_leaves_out_the_same_shoppers_unpaid_expiry(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """hold-2 is released by the full refund of EV-2; the shopper then reserves hold-3, which runs out
    unpaid. Both are ``expired`` and the shopper has an order refunded in full, yet only hold-2 was
    released by a refund: the set holds it alone (it held hold-3 too, nothing on the row telling them
    apart)."""
    event_id, _ = paid_holds(client, operator, factory)
    refund(client, operator, "EV-2", "R2", 9900)
    assert reserve(client, operator, event_id, SHOPPER, request_id="hold-3").status_code == 201
    with factory() as session, session.begin():
        assert settle_holds(session, at=utcnow() + timedelta(hours=2)) == (0, 1)
    assert state(factory) == ([("hold-1", PAID), ("hold-2", EXPIRED), ("hold-3", EXPIRED)], 1, 1)
    with factory() as session:
        seed = seeds.seed_state(session, event_id)
        released_at = session.scalars(select(Reservation.released_at).order_by(Reservation.id)).all()
    assert seed.released == _ids(factory, "hold-2")
    assert [at is not None for at in released_at] == [False, True, False]

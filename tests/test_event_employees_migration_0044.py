"""Migration 0044 ties each employee number to its first shopper: an entry somebody reserved with is
bound to the shopper of its earliest reservation (an opted-out shopper's tombstone included), an
entry nobody reserved with stays unbound; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from neigou.migrations.runner import upgrade
from tests.migrating import PROGRAMS_REVISION, events_with_employees, insert, insert_id, programs_at
from tests.migration_templates import ScratchAt


def _reservation(
    event: int, item: int, employee: int | None, customer: str, *, at: str, n: int
) -> dict[str, Any]:
    return {
        "id": n,
        "event_id": event,
        "item_id": item,
        "sku": "EV",
        "quantity": 1,
        "price_fen": 100,
        "customer_ref_hash": customer,
        "customer_ref_masked": "138****0001",
        "employee_id": employee,
        "status": "held",
        "reserved_at": at,
        "expires_at": "2026-01-01 01:00:00",
    }


def test_migration_0044_binds_each_number_to_its_first_shopper(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0043", "p")
    with engine.begin() as conn:
        (event,), employees = events_with_employees(conn, program, 1, {n: (0, n) for n in ("E1", "E2", "E3")})
        shared, erased = employees["E1"], employees["E2"]
        item = insert_id(
            conn,
            "event_items",
            event_id=event,
            sku="EV",
            price_fen=100,
            stock=10,
            per_person_limit=2,
            reserved=4,
        )
        # E1 lent to two shoppers: the earlier reservation (a higher id) names its first shopper.
        for row in (
            _reservation(event, item, shared, "later", at="2026-01-01 00:20:00", n=1),
            _reservation(event, item, shared, "first", at="2026-01-01 00:10:00", n=2),
            _reservation(event, item, erased, "erased:abc", at="2026-01-01 00:05:00", n=3),
            _reservation(event, item, None, "guest", at="2026-01-01 00:01:00", n=4),
        ):
            insert(conn, "event_reservations", **row)
    upgrade(scratch_url)
    with engine.connect() as conn:
        bound: dict[str, str | None] = dict(
            conn.execute(text("SELECT employee_no, customer_ref_hash FROM event_employees")).all()
        )
    engine.dispose()
    assert bound == {"E1": "first", "E2": "erased:abc", "E3": None}

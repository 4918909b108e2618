"""Migration 0047 holds one invitation per shopper per event under a unique index: where rows from
before bind several codes of one event to one shopper, the oldest binding (the one the event report
credits) is kept and the others are detached (bound to ``detached:<id>``, naming nobody), never deleted,
so the reservations that name them and the report's credit stay as they were; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, PROGRAMS_REVISION, insert, insert_id, programs_at
from tests.migration_templates import ScratchAt


def _event(conn: Connection, program: int, code: str) -> int:
    return insert_id(
        conn,
        "events",
        program_id=program,
        code=code,
        name="内购会",
        starts_at=CREATED,
        ends_at="2026-01-02 00:00:00",
        guests_per_employee=9,
        hold_minutes=15,
        created_at=CREATED,
    )


def _invitation(
    conn: Connection, event: int, employee: int, code: str, *, shopper: str | None, at: str | None
) -> int:
    return insert_id(
        conn,
        "event_invitations",
        event_id=event,
        employee_id=employee,
        code=code,
        customer_ref_hash=shopper,
        bound_at=at,
        created_at=CREATED,
    )


def test_migration_0047_keeps_each_shoppers_oldest_invitation_and_detaches_the_others(
    scratch_at: ScratchAt,
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0046", "p")
    with engine.begin() as conn:
        event, other_event = _event(conn, program, "EV0"), _event(conn, program, "EV1")
        employee = insert_id(
            conn, "event_employees", event_id=event, employee_no="E1", name="E1", invitations=6
        )
        elsewhere = insert_id(
            conn, "event_employees", event_id=other_event, employee_no="E1", name="E1", invitations=1
        )
        ids = {
            # The shopper's codes: the one bound first (a higher id) is kept, whatever the ids say.
            "later": _invitation(
                conn, event, employee, "C-LATER", shopper="shopper", at="2026-01-01 00:20:00"
            ),
            "first": _invitation(
                conn, event, employee, "C-FIRST", shopper="shopper", at="2026-01-01 00:10:00"
            ),
            "last": _invitation(conn, event, employee, "C-LAST", shopper="shopper", at="2026-01-01 00:30:00"),
            "other": _invitation(conn, event, employee, "C-OTHER", shopper="other", at="2026-01-01 00:40:00"),
            "free": _invitation(conn, event, employee, "C-FREE", shopper=None, at=None),
            "free2": _invitation(conn, event, employee, "C-FREE2", shopper=None, at=None),
            "elsewhere": _invitation(
                conn, other_event, elsewhere, "C-ELSE", shopper="shopper", at="2026-01-01 00:50:00"
            ),
        }
        insert(
            conn,
            "event_reservations",
            id=1,
            event_id=event,
            item_id=1,
            sku="EV",
            quantity=1,
            price_fen=100,
            customer_ref_hash="shopper",
            customer_ref_masked="138****0001",
            invitation_id=ids["later"],
            status="paid",
            reserved_at="2026-01-01 00:20:00",
            expires_at="2026-01-01 01:00:00",
        )
    upgrade(scratch_url, "0047")
    try:
        with engine.connect() as conn:
            bound: dict[str, str | None] = dict(
                conn.execute(text("SELECT code, customer_ref_hash FROM event_invitations")).all()
            )
            named = conn.execute(text("SELECT invitation_id FROM event_reservations")).scalar_one()
        assert bound == {
            "C-FIRST": "shopper",
            "C-LATER": f"detached:{ids['later']}",
            "C-LAST": f"detached:{ids['last']}",
            "C-OTHER": "other",
            "C-FREE": None,
            "C-FREE2": None,
            "C-ELSE": "shopper",  # another event's: one each
        }
        assert named == ids["later"]  # the reservation still names a code that exists
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text("UPDATE event_invitations SET customer_ref_hash = 'other' WHERE code = 'C-FREE'")
            )
        command.downgrade(alembic_config(scratch_url), "0046")
        with engine.begin() as conn:  # no index any more; detached codes stay detached
            conn.execute(
                text("UPDATE event_invitations SET customer_ref_hash = 'other' WHERE code = 'C-FREE'")
            )
            detached = conn.execute(
                text("SELECT customer_ref_hash FROM event_invitations WHERE code = 'C-LAST'")
            ).scalar_one()
        assert detached == f"detached:{ids['last']}"
    finally:
        engine.dispose()

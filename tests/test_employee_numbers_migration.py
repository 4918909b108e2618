"""Migration 0036 rewrites every stored employee number in its one form (``kit.employee_numbers``): a
full-width, lower-case or space- and mark-wrapped number becomes ``E001``. Rows of one event that would
collide are all kept, with their invitations and reservations: the row already in the one form keeps it,
else the first row takes it, and the others stay as they were (logged by id, never by number); numbers of
other events and numbers of nothing visible are left alone; on SQLite and PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from neigou.migrations.runner import upgrade
from tests.migrating import (
    CREATED,
    PROGRAMS_REVISION,
    employee_numbers,
    events_with_employees,
    insert_id,
    programs_at,
)
from tests.migration_templates import ScratchAt


def test_migration_0036_normalises_numbers_and_keeps_colliding_rows(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program,) = programs_at(scratch_url, "0035", "p")
    with engine.begin() as conn:
        numbers = {
            # event 0: three forms of E001, the first typed full-width; one of E002; one already normal
            "wide": (0, "Ｅ００１"),
            "spaced": (0, " e001 "),
            "marked": (0, "\u200be001\u200e"),
            "lower": (0, "e002"),
            "normal": (0, "E003"),
            # event 1: a row already in the one form keeps it; the earlier row that would take it stays
            "late_wide": (1, "ｅ００１"),
            "holder": (1, "E001"),
            # event 2: a number of nothing visible is no number to rewrite
            "blank": (2, "\u200b"),
        }
        events, ids = events_with_employees(conn, program, 3, numbers)
        item = insert_id(
            conn,
            "event_items",
            event_id=events[0],
            sku="S",
            price_fen=100,
            stock=5,
            per_person_limit=1,
            reserved=1,
        )
        invitations = {
            key: insert_id(
                conn,
                "event_invitations",
                event_id=events[numbers[key][0]],
                employee_id=ids[key],
                code=f"C{key[:8]}",
                created_at=CREATED,
            )
            for key in ("spaced", "marked", "late_wide")
        }
        insert_id(
            conn,
            "event_reservations",
            event_id=events[0],
            item_id=item,
            sku="S",
            quantity=1,
            price_fen=100,
            customer_ref_hash="h",
            customer_ref_masked="m",
            employee_id=ids["marked"],
            status="held",
            reserved_at=CREATED,
            expires_at=CREATED,
        )
    with caplog.at_level(logging.WARNING):
        upgrade(scratch_url)
    with engine.connect() as conn:
        stored = employee_numbers(conn)
        kept_invitations = {
            int(i): int(e) for i, e in conn.execute(text("SELECT id, employee_id FROM event_invitations"))
        }
        reservation = conn.execute(text("SELECT employee_id FROM event_reservations")).scalar_one()
    engine.dispose()
    assert stored == {
        ids["wide"]: "E001",  # the first of its event takes the one form
        ids["spaced"]: " e001 ",  # the later ones are kept as they were
        ids["marked"]: "\u200be001\u200e",
        ids["lower"]: "E002",
        ids["normal"]: "E003",
        ids["late_wide"]: "ｅ００１",  # E001 is already another row's
        ids["holder"]: "E001",
        ids["blank"]: "\u200b",
    }
    assert kept_invitations == {invitations[key]: ids[key] for key in invitations}
    assert reservation == ids["marked"]
    said = caplog.text
    for key in ("spaced", "marked", "late_wide", "blank"):
        assert str(ids[key]) in said
    assert "e001" not in said.lower().replace("event_employees", "")

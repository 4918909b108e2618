"""The set-up the data migrations' tests share: a scratch database migrated up to the revision under test,
with programs (inserted as they were before organizations, 0010, which later revisions carry on) and the
rows hanging off them written as raw SQL in that revision's columns."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import upgrade

CREATED = "2026-01-01 00:00:00"
# The revision ``programs_at`` writes its programs at: its scratch database starts there
# (``scratch_at(PROGRAMS_REVISION)``, a copy of the run's template).
PROGRAMS_REVISION = "0010"


def programs_at(url: str, revision: str, *codes: str) -> tuple[Engine, list[int]]:
    """``url`` migrated to ``revision`` with one program per code; the engine and the programs' ids in
    the order of ``codes``. The caller disposes of the engine."""
    upgrade(url, PROGRAMS_REVISION)  # nothing to do on a scratch database made at it
    engine = make_engine(url)
    with engine.begin() as conn:
        for code in codes:
            conn.execute(
                text(
                    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days,"
                    " freeze_days, max_levels, self_purchase_commission, created_at)"
                    " VALUES (:code, :code, 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at)"
                ),
                {"code": code, "at": CREATED},
            )
    upgrade(url, revision)
    with engine.connect() as conn:
        ids = {str(code): int(pid) for code, pid in conn.execute(text("SELECT code, id FROM programs"))}
    return engine, [ids[code] for code in codes]


def insert(conn: Connection, table: str, **values: Any) -> None:
    """One row of ``table`` with ``values``, named as the revision's columns."""
    conn.execute(sa.table(table, *map(sa.column, values)).insert().values(values))


def insert_id(conn: Connection, table: str, **values: Any) -> int:
    """One row of ``table`` with ``values``; its id."""
    rows = sa.table(table, sa.column("id"), *map(sa.column, values))
    made: int = conn.execute(rows.insert().values(values).returning(rows.c.id)).scalar_one()
    return made


def owner_and_group(conn: Connection, program_id: int) -> tuple[int, int]:
    """A member of ``program_id`` and an active WeCom group of theirs; their ids."""
    member = insert_id(conn, "members", program_id=program_id, name="群主", joined_at=CREATED)
    group = insert_id(
        conn,
        "chat_groups",
        program_id=program_id,
        owner_member_id=member,
        name="内购群",
        platform="wecom",
        status="active",
        created_at=CREATED,
        updated_at=CREATED,
    )
    return member, group


def page_reads(sent: list[str], table: str) -> list[str]:
    """The reads of ``table`` among the statements ``sent`` (``tests.statements``): a data migration
    rewriting a page at a time reads once per page, and once more to find none left."""
    return [s for s in sent if s.lstrip().upper().startswith("SELECT") and table in s]


def events_with_employees(
    conn: Connection, program_id: int, events: int, numbers: dict[str, tuple[int, str]]
) -> tuple[list[int], dict[str, int]]:
    """``events`` events of ``program_id`` and one employee per ``numbers`` entry, ``key: (the event's
    index, the employee number as stored)``, named ``key``; the events' ids and the employees' by key."""
    made = [
        insert_id(
            conn,
            "events",
            program_id=program_id,
            code=f"EV{n}",
            name="内购会",
            starts_at=CREATED,
            ends_at="2026-01-02 00:00:00",
            guests_per_employee=2,
            hold_minutes=15,
            created_at=CREATED,
        )
        for n in range(events)
    ]
    employees = {
        key: insert_id(conn, "event_employees", event_id=made[e], employee_no=n, name=key, invitations=1)
        for key, (e, n) in numbers.items()
    }
    return made, employees


def employee_numbers(conn: Connection) -> dict[int, str]:
    """Every stored employee number by its row's id."""
    return {int(i): str(n) for i, n in conn.execute(text("SELECT id, employee_no FROM event_employees"))}


def group_settings(conn: Connection, program_id: int, **values: Any) -> None:
    """A program's group settings with the required columns' defaults and ``values``."""
    insert(
        conn,
        "group_settings",
        program_id=program_id,
        size_limits="{}",
        jump_members_per_day=50,
        jump_bp_per_day=500,
        updated_at=CREATED,
        **values,
    )


def hanging_off(conn: Connection, integration_id: int) -> None:
    """A delivery with one attempt and a receipt of ``integration_id``: rows a rebuild of
    ``integrations`` on SQLite would delete through their cascades."""
    delivery = insert_id(
        conn,
        "webhook_deliveries",
        integration_id=integration_id,
        event_id=f"evt_kept_{integration_id}",
        event_type="commission.earned",
        payload="{}",
        status="pending",
        attempts=1,
        created_at=CREATED,
    )
    insert(conn, "webhook_attempts", delivery_id=delivery, number=1, at=CREATED, ok=False, detail="503")
    insert(conn, "webhook_receipts", integration_id=integration_id, signature="sig", received_at=CREATED)


def hanging(engine: Engine) -> dict[str, int]:
    """How many deliveries, attempts and receipts there are."""
    tables = ("webhook_deliveries", "webhook_attempts", "webhook_receipts")
    with engine.connect() as conn:
        return {
            t: conn.execute(sa.select(sa.func.count()).select_from(sa.table(t))).scalar_one() for t in tables
        }

"""Migration 0056 gives a push the time it was asked to be due: a push stored before kept no such time
and keeps null, none filled in from its messages' ``send_at`` (which quiet hours and delivery moved), and
downgrading drops the column and keeps the pushes (SQLite and PostgreSQL, on a database or schema of its
own)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from neigou.kit.db import UTCDateTime, make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES ('p', 'p', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)
NOON = "2026-03-24 04:00:00"  # noon in Shanghai: the pushes are made then
PUSHES = sa.table("pushes", sa.column("id"), sa.column("due_at", UTCDateTime()))


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("pushes")}


def _push(conn: Connection, ids: dict[str, int], *send_at: str) -> int:
    push = insert_id(
        conn, "pushes", program_id=ids["program"], member_id=ids["member"], skus="[]", channel="task",
        created_at=NOON,
    )  # fmt: skip
    for at in send_at:
        insert_id(
            conn, "push_messages", push_id=push, program_id=ids["program"], member_id=ids["member"],
            customer_id=ids["customer"], sku="SKU1", text="亲", send_at=at, status="pending", attempts=0,
        )  # fmt: skip
    return push


def test_migration_0056_leaves_pushes_stored_before_undated(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0055")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-p", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
            member = insert_id(conn, "members", program_id=program, name="导购", joined_at=CREATED)
            customer = insert_id(
                conn, "customers", program_id=program, member_id=member, customer_ref_hash="h" * 64,
                customer_ref_masked="138****5678", tags="[]", source="manual", preferred_categories="[]",
                created_at=CREATED, updated_at=CREATED,
            )  # fmt: skip
            ids = {"program": program, "member": member, "customer": customer}
            now = _push(conn, ids, NOON, NOON)  # made for now
            later = _push(conn, ids, "2026-03-26 01:00:00", "2026-03-25 01:00:00")  # scheduled (or held)
            quiet = _push(conn, ids, "2026-03-25 00:00:00")  # made inside quiet hours: held to 08:00
            past = _push(conn, ids, "2026-03-20 04:00:00")  # a past ``at`` stored before it meant now
            skipped = _push(conn, ids)  # every customer skipped: no time
        columns = _columns(engine)
        assert "due_at" not in columns

        upgrade(scratch_url, "0056")
        engine.dispose()
        assert _columns(engine) == columns | {"due_at"}
        with engine.connect() as conn:
            due = {int(i): at for i, at in conn.execute(sa.select(PUSHES.c.id, PUSHES.c.due_at))}
        # None filled in: the messages' ``send_at`` is not the time asked for (``crm.pushes._same_time``
        # compares these as before).
        assert due == {now: None, later: None, quiet: None, past: None, skipped: None}

        command.downgrade(alembic_config(scratch_url), "0055")
        engine.dispose()
        assert _columns(engine) == columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pushes")).scalar_one() == 5
            assert conn.execute(text("SELECT count(*) FROM push_messages")).scalar_one() == 6
    finally:
        engine.dispose()

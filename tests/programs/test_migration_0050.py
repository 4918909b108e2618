"""Migration 0050 dates members' inviters: every member stored before gets one period from their join
with the inviter they have now (nobody: NULL), and downgrading drops the table while each member keeps
their inviter (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, PROGRAMS_REVISION, insert_id, programs_at
from tests.migration_templates import ScratchAt

LATER = "2026-02-01 00:00:00"


def _members(engine: Engine) -> list[tuple[int, int | None]]:
    with engine.connect() as conn:
        return [(int(m), i) for m, i in conn.execute(text("SELECT id, inviter_id FROM members ORDER BY id"))]


def test_migration_0050_backfills_one_period_per_member_and_downgrades(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(PROGRAMS_REVISION)
    engine, (program, other) = programs_at(scratch_url, "0049", "p", "q")
    try:
        with engine.begin() as conn:
            top = insert_id(conn, "members", program_id=program, name="top", joined_at=CREATED)
            mid = insert_id(conn, "members", program_id=program, name="mid", inviter_id=top, joined_at=LATER)
            low = insert_id(conn, "members", program_id=program, name="low", inviter_id=mid, joined_at=LATER)
            alone = insert_id(conn, "members", program_id=other, name="alone", joined_at=CREATED)
        members = _members(engine)
        upgrade(scratch_url, "0050")
        engine.dispose()
        with engine.connect() as conn:
            periods = conn.execute(
                text(
                    "SELECT member_id, inviter_id, effective_from, reason FROM member_inviter_periods"
                    " ORDER BY member_id"
                )
            ).all()
        assert [(m, i, r) for m, i, _, r in periods] == [
            (top, None, "backfill"),
            (mid, top, "backfill"),
            (low, mid, "backfill"),
            (alone, None, "backfill"),
        ]
        assert [str(at)[:19] for _, _, at, _ in periods] == [CREATED, LATER, LATER, CREATED]
        command.downgrade(alembic_config(scratch_url), "0049")
        engine.dispose()
        assert "member_inviter_periods" not in inspect(engine).get_table_names()
        assert _members(engine) == members
    finally:
        engine.dispose()

"""Migration 0058 keeps the members an evaluation left out: runs recorded before keep their figures and no
list (null: not kept), a run may store its list, and downgrading drops the column and keeps the runs
(SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import Engine, inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES ('p', 'p', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)


def _run(engine: Engine, program: int, period: str, **values: object) -> int:
    with engine.begin() as conn:
        return insert_id(
            conn, "tier_evaluations", program_id=program, period=period, period_start=CREATED,
            period_end=CREATED, ran_at=CREATED, actor_kind="cli", actor_ref="ops", members_evaluated=3,
            changes=1, **values,
        )  # fmt: skip


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("tier_evaluations")}


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM tier_evaluations ORDER BY id"))]


def test_migration_0058_keeps_the_members_a_run_left_out(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0057")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-t", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
        before = _run(engine, program, "2026-02")
        columns, rows = _columns(engine), _stored(engine)
        assert "left_out" not in columns

        upgrade(scratch_url, "0058")
        engine.dispose()
        assert _columns(engine) == columns | {"left_out"}
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT id, members_evaluated, left_out FROM tier_evaluations")).all()
        assert [tuple(r) for r in kept] == [(before, 3, None)]
        listed = _run(engine, program, "2026-03", left_out=json.dumps([7, 9]))
        with engine.connect() as conn:
            found = conn.execute(text("SELECT left_out FROM tier_evaluations WHERE id = :id"), {"id": listed})
            value = found.scalar_one()
        assert (json.loads(value) if isinstance(value, str) else value) == [7, 9]

        command.downgrade(alembic_config(scratch_url), "0057")
        engine.dispose()
        assert _columns(engine) == columns
        assert _stored(engine)[:1] == rows
        assert len(_stored(engine)) == 2
    finally:
        engine.dispose()

"""Migration 0055 gives a refund the order line it was for: refunds stored before keep their amounts and
no line (null: the whole order), a refund may name a line, and downgrading drops the column and keeps
the refunds (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

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


def _refund(engine: Engine, program: int, order: int, refund_id: str, **values: object) -> int:
    with engine.begin() as conn:
        return insert_id(
            conn, "refunds", program_id=program, order_id=order, refund_id=refund_id, amount_fen=100,
            reversed_fen=10, at=CREATED, **values,
        )  # fmt: skip


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("refunds")}


def _stored(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM refunds ORDER BY id"))]


def test_migration_0055_names_a_refunds_line(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0054")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-r", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
            order = insert_id(
                conn, "orders", program_id=program, external_id="o-1", customer_ref_hash="ab" * 32,
                attribution_basis="none", self_purchase=False, paid_fen=300, refunded_fen=100,
                commission_fen=0, paid_at=CREATED, commission_state="pending", pricing="{}",
                source="api", created_at=CREATED,
            )  # fmt: skip
        before = _refund(engine, program, order, "r-1")
        columns, rows = _columns(engine), _stored(engine)
        assert "line_no" not in columns

        upgrade(scratch_url, "0055")
        engine.dispose()
        assert _columns(engine) == columns | {"line_no"}
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT id, amount_fen, reversed_fen, line_no FROM refunds")).all()
        assert [tuple(r) for r in kept] == [(before, 100, 10, None)]
        named = _refund(engine, program, order, "r-2", line_no=2)
        with engine.connect() as conn:
            line = conn.execute(text("SELECT line_no FROM refunds WHERE id = :id"), {"id": named})
            assert line.scalar_one() == 2

        command.downgrade(alembic_config(scratch_url), "0054")
        engine.dispose()
        assert _columns(engine) == columns
        assert _stored(engine)[:1] == rows
        assert len(_stored(engine)) == 2
    finally:
        engine.dispose()

"""Migration 0051 replaces the customer's B-tree of migration 0046 with a hash index on PostgreSQL (a
B-tree on the reference alone on SQLite), keeps every stored order, and downgrading puts the B-tree
back (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt


def _indexes(engine: Engine) -> dict[str, list[str]]:
    return {
        str(i["name"]): [str(c) for c in i["column_names"]] for i in inspect(engine).get_indexes("orders")
    }


def _method(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return "btree"
        found = conn.execute(
            text(
                "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :n AND n.nspname = current_schema()"
            ),
            {"n": name},
        )
        return str(found.scalar_one())


def _refs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(r) for r in conn.execute(text("SELECT customer_ref_hash FROM orders")).scalars()]


def test_migration_0051_indexes_a_customers_orders_by_hash(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0050")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            insert_id(
                conn, "orders", program_id=1, external_id="o-1", customer_ref_hash="ab" * 32,
                attribution_basis="none", self_purchase=False, paid_fen=100, refunded_fen=0,
                commission_fen=0, paid_at=CREATED, commission_state="pending", pricing="{}",
                source="api", created_at=CREATED,
            )  # fmt: skip
        before = _indexes(engine)
        assert before["ix_orders_customer_program"] == ["customer_ref_hash", "program_id"]
        upgrade(scratch_url, "0051")
        engine.dispose()
        after = _indexes(engine)
        assert "ix_orders_customer_program" not in after
        assert after["ix_orders_customer"] == ["customer_ref_hash"]
        postgresql = engine.dialect.name == "postgresql"
        assert _method(engine, "ix_orders_customer") == ("hash" if postgresql else "btree")
        assert {k: v for k, v in after.items() if k != "ix_orders_customer"} == {
            k: v for k, v in before.items() if k != "ix_orders_customer_program"
        }
        assert _refs(engine) == ["ab" * 32]
        command.downgrade(alembic_config(scratch_url), "0050")
        engine.dispose()
        assert _indexes(engine) == before
        assert _refs(engine) == ["ab" * 32]
    finally:
        engine.dispose()

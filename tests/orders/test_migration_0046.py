"""Migration 0046 indexes a customer's orders and a sku's order lines over the rows already stored, and
downgrading drops both indexes and nothing else (SQLite and PostgreSQL, on a database or schema of its
own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert, insert_id
from tests.migration_templates import ScratchAt

NEW = {
    "orders": {"ix_orders_customer_program": ["customer_ref_hash", "program_id"]},
    "order_lines": {"ix_order_lines_sku_order": ["sku", "order_id"]},
}


def _indexes(engine: Engine, table: str) -> dict[str, list[str]]:
    return {str(i["name"]): [str(c) for c in i["column_names"]] for i in inspect(engine).get_indexes(table)}


def _rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT o.customer_ref_hash, l.sku FROM orders o JOIN order_lines l ON l.order_id = o.id")
        )
        return [(str(ref), str(sku)) for ref, sku in found]


def test_migration_0046_indexes_customers_orders_and_skus_lines(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0045")
    engine = make_engine(scratch_url)
    try:
        before = {table: _indexes(engine, table) for table in NEW}
        with engine.begin() as conn:
            order = insert_id(
                conn, "orders", program_id=1, external_id="o-1", customer_ref_hash="ab" * 32,
                attribution_basis="none", self_purchase=False, paid_fen=100, refunded_fen=0,
                commission_fen=0, paid_at=CREATED, commission_state="pending", pricing="{}",
                source="api", created_at=CREATED,
            )  # fmt: skip
            insert(
                conn, "order_lines", order_id=order, line_no=1, sku="COAT", quantity=1, list_fen=100,
                paid_fen=100, commission_rate_bp=0, pool_fen=0,
            )  # fmt: skip
        assert all(name not in before[table] for table, made in NEW.items() for name in made)
        upgrade(scratch_url, "0046")
        engine.dispose()
        for table, made in NEW.items():
            assert _indexes(engine, table) == {**before[table], **made}
        assert _rows(engine) == [("ab" * 32, "COAT")]
        command.downgrade(alembic_config(scratch_url), "0045")
        engine.dispose()
        assert {table: _indexes(engine, table) for table in NEW} == before
        assert _rows(engine) == [("ab" * 32, "COAT")]
    finally:
        engine.dispose()

"""The orders' partial indexes (migration 0035) hold only the orders their reads ask for, and those
reads still use them: the settlement's choice of completed orders and a link's orders; a customer's
orders (a hash index on PostgreSQL, migration 0051) and the lines of a few skus (migration 0046) read
theirs."""

from __future__ import annotations

from sqlalchemy import Engine, text

# Without the settlement's ORDER BY id: on a nearly empty table the planner may walk the primary key
# for its order and filter, whatever other index there is (a plan that says nothing of this index).
_SETTLEMENT = (
    "SELECT id FROM orders WHERE program_id = :program AND commission_state = :state "
    "AND completed_at <= :cutoff"
)
_LINK = "SELECT count(*) FROM orders WHERE program_id = :program AND link_code = :code"
# A customer's orders (the card's purchases, the bought-together signal's anchor buyers), by the indexed
# column alone: on a nearly empty table the planner may serve a program or member filter from another
# index at the same cost, which says nothing of this one; no other index holds this column.
_CUSTOMER = "SELECT id FROM orders WHERE customer_ref_hash = :ref"
_ANCHOR_LINES = "SELECT order_id FROM order_lines WHERE sku IN ('COAT', 'TEE')"
_PARAMS = {
    "program": 1,
    "state": "frozen",
    "cutoff": "2026-12-01T00:00:00+00:00",
    "code": "abc",
    "ref": "ab" * 32,
    "member": 1,
}


def _plan(engine: Engine, query: str) -> str:
    """The plan of ``query`` with sequential scans ruled out where the database allows it."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET enable_seqscan = off"))
            rows = conn.execute(text(f"EXPLAIN {query}"), _PARAMS).scalars().all()
        else:
            rows = [r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}"), _PARAMS)]
        conn.rollback()
    return "\n".join(str(r) for r in rows)


def _definition(engine: Engine, name: str) -> str:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            found = conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = :n AND schemaname = current_schema()"
                ),
                {"n": name},
            )
        else:
            found = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name})
        return str(found.scalar_one())


def test_a_customers_orders_are_indexed_by_hash_on_postgresql(engine: Engine) -> None:
    definition = _definition(engine, "ix_orders_customer")
    if engine.dialect.name == "postgresql":
        assert "USING hash (customer_ref_hash)" in definition
    else:
        assert "(customer_ref_hash)" in definition


def test_an_order_not_completed_or_without_a_link_has_no_entry_in_their_indexes(engine: Engine) -> None:
    assert "completed_at IS NOT NULL" in _definition(engine, "ix_orders_state_completed")
    assert "link_code IS NOT NULL" in _definition(engine, "ix_orders_program_link")


def test_the_settlement_and_a_links_orders_still_read_their_indexes(engine: Engine) -> None:
    assert "ix_orders_state_completed" in _plan(engine, _SETTLEMENT)
    assert "ix_orders_program_link" in _plan(engine, _LINK)


def test_a_customers_orders_and_a_skus_lines_read_their_indexes(engine: Engine) -> None:
    assert "ix_orders_customer" in _plan(engine, _CUSTOMER)
    assert "ix_order_lines_sku_order" in _plan(engine, _ANCHOR_LINES)

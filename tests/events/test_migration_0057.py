"""Migration 0057 marks when a full refund released a reservation: reservations stored before keep the
earlier rule (every expired reservation of a shopper with an order of its event refunded in full, dated
by the latest refund of those orders, or its ``expires_at`` without one), every other reservation keeps
null, and downgrading drops the column and keeps the reservations (SQLite and PostgreSQL, on a database
or schema of its own)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from neigou.kit.db import UTCDateTime, make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES ('p', 'p', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)
EXPIRES = "2026-01-01 00:15:00"
RESERVATIONS = sa.table("event_reservations", sa.column("id"), sa.column("released_at", UTCDateTime()))


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("event_reservations")}


def _event(conn: Connection, program: int, code: str) -> int:
    return insert_id(
        conn, "events", program_id=program, code=code, name="内购会", starts_at=CREATED,
        ends_at="2026-01-02 00:00:00", guests_per_employee=2, hold_minutes=15, created_at=CREATED,
    )  # fmt: skip


def _order(conn: Connection, program: int, event: int, shopper: str, refunded: int, *refunds: str) -> None:
    order = insert_id(
        conn, "orders", program_id=program, external_id=f"o-{shopper}-{event}-{refunded}",
        customer_ref_hash=shopper, attribution_basis="none", self_purchase=False, paid_fen=300,
        refunded_fen=refunded, commission_fen=0, paid_at=CREATED, commission_state="pending",
        pricing="{}", source="api", created_at=CREATED, event_id=event,
    )  # fmt: skip
    for n, at in enumerate(refunds):
        insert(
            conn, "refunds", program_id=program, order_id=order, refund_id=f"r-{order}-{n}",
            amount_fen=100, reversed_fen=0, at=at,
        )  # fmt: skip


def _reservation(conn: Connection, rid: int, event: int, shopper: str, status: str) -> int:
    insert(
        conn, "event_reservations", id=rid, event_id=event, item_id=1, sku="EV", quantity=1, price_fen=100,
        customer_ref_hash=shopper, customer_ref_masked="138****0001", status=status, reserved_at=CREATED,
        expires_at=EXPIRES,
    )  # fmt: skip
    return rid


def test_migration_0057_marks_released_reservations_by_the_earlier_rule(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0056")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-e", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
            event, other_event = _event(conn, program, "EV0"), _event(conn, program, "EV1")
            # a: one order refunded in full (twice), one still paying; b: refunded in part only;
            # c: refunded in full without a refund row.
            _order(conn, program, event, "a", 300, "2026-01-01 02:00:00", "2026-01-01 03:00:00")
            _order(conn, program, event, "a", 0)
            _order(conn, program, event, "b", 100, "2026-01-01 02:00:00")
            _order(conn, program, event, "c", 300)
            rows = {
                "a_expired": _reservation(conn, 1, event, "a", "expired"),
                "a_paid": _reservation(conn, 2, event, "a", "paid"),
                "a_held": _reservation(conn, 3, event, "a", "held"),
                "a_elsewhere": _reservation(conn, 4, other_event, "a", "expired"),  # no refund there
                "b_expired": _reservation(conn, 5, event, "b", "expired"),
                "c_expired": _reservation(conn, 6, event, "c", "expired"),
            }
        columns = _columns(engine)
        assert "released_at" not in columns

        upgrade(scratch_url, "0057")
        engine.dispose()
        assert _columns(engine) == columns | {"released_at"}
        with engine.connect() as conn:
            stored = dict(conn.execute(sa.select(RESERVATIONS.c.id, RESERVATIONS.c.released_at)).all())
        assert {key: stored[rid] for key, rid in rows.items()} == {
            "a_expired": datetime(2026, 1, 1, 3, tzinfo=UTC),  # the latest refund of the order
            "a_paid": None,
            "a_held": None,
            "a_elsewhere": None,
            "b_expired": None,
            "c_expired": datetime(2026, 1, 1, 0, 15, tzinfo=UTC),  # its expires_at
        }

        command.downgrade(alembic_config(scratch_url), "0056")
        engine.dispose()
        assert _columns(engine) == columns
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM event_reservations")).scalar_one() == 6
    finally:
        engine.dispose()

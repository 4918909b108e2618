"""Migration 0060 trims the white space a JSON-lines file left around an order's external id, where no
other order of the program holds the trimmed id; a colliding pair is left as it is and counted by
program in the log (never the ids); downgrading leaves the trimmed ids trimmed (SQLite and PostgreSQL,
on a database or schema of its own)."""

from __future__ import annotations

import logging

import pytest
from alembic import command
from sqlalchemy import Connection, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES (:code, :code, 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)


def _order(conn: Connection, program: int, external_id: str) -> int:
    return insert_id(
        conn, "orders", program_id=program, external_id=external_id, customer_ref_hash="ab" * 32,
        attribution_basis="none", self_purchase=False, paid_fen=300, refunded_fen=0, commission_fen=0,
        paid_at=CREATED, commission_state="pending", pricing="{}", source="import", created_at=CREATED,
    )  # fmt: skip


def test_migration_0060_trims_stored_external_ids(
    scratch_at: ScratchAt, caplog: pytest.LogCaptureFixture
) -> None:
    scratch_url = scratch_at("0059")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-t", name="品牌", created_at=CREATED)
            programs = []
            for code in ("p", "q"):
                conn.execute(text(PROGRAM), {"code": code, "at": CREATED, "org": org})
                programs.append(
                    int(
                        conn.execute(
                            text("SELECT id FROM programs WHERE code = :c"), {"c": code}
                        ).scalar_one()
                    )
                )
            p, q = programs
            ids = {
                "spaced": _order(conn, p, " WH-7 "),
                "tabbed": _order(conn, p, "\tWH-8\u3000"),
                "clean": _order(conn, p, "WH-9"),
                "held": _order(conn, p, "WH-10"),
                "collides": _order(conn, p, " WH-10"),
                "inner": _order(conn, p, "WH 11"),
                "other_program": _order(conn, q, " WH-7 "),
                "blank": _order(conn, q, "  "),
            }  # fmt: skip
        caplog.set_level(logging.WARNING)
        upgrade(scratch_url, "0060")
        engine.dispose()
        with engine.connect() as conn:
            stored = {int(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, external_id FROM orders"))}
        assert {key: stored[order] for key, order in ids.items()} == {
            "spaced": "WH-7", "tabbed": "WH-8", "clean": "WH-9", "held": "WH-10", "collides": " WH-10",
            "inner": "WH 11", "other_program": "WH-7", "blank": "  ",
        }  # fmt: skip
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert f"program {p}: 1 order(s)" in logged
        assert f"program {q}: 1 order(s)" in logged
        assert "WH-10" not in logged

        command.downgrade(alembic_config(scratch_url), "0059")
        engine.dispose()
        with engine.connect() as conn:
            after = {int(r[0]): str(r[1]) for r in conn.execute(text("SELECT id, external_id FROM orders"))}
        assert after == stored
    finally:
        engine.dispose()


def test_migration_0060_trims_what_the_readers_trim() -> None:
    """The characters frozen in the revision are those ``str.strip()`` drops (``import_rows.trimmed``)."""
    import importlib.util
    from pathlib import Path

    import neigou.migrations

    path = Path(neigou.migrations.__file__).parent / "versions" / "0060_order_ids_trimmed.py"
    spec = importlib.util.spec_from_file_location("revision_0060", path)
    assert spec is not None
    assert spec.loader is not None
    revision = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(revision)
    assert set(revision.WHITE_SPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}

"""Migration 0012 puts every existing row into the default organization, and downgrading keeps
every row; migration 0023 gives a platform administrator's opt-out of one program that program's
organization (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migration_templates import ScratchAt

BEFORE = "0010"


def test_existing_rows_join_the_default_organization_and_survive_a_downgrade(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(BEFORE)
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days,"
                " freeze_days, max_levels, self_purchase_commission, created_at)"
                " VALUES ('old', 'Old', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO products (sku, title, price_fen, commission_rate_bp, active, created_at, updated_at)"
                " VALUES ('OLD-SKU', 'old', 100, 100, true, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (token_hash, role, kind, label, created_at)"
                " VALUES ('h', 'operator', 'api', '', '2026-01-01 00:00:00')"
            )
        )
    upgrade(scratch_url)
    with engine.connect() as conn:
        default = conn.execute(text("SELECT id FROM organizations WHERE code = 'default'")).scalar_one()
        assert conn.execute(text("SELECT organization_id FROM programs")).scalars().all() == [default]
        assert conn.execute(text("SELECT organization_id FROM products")).scalars().all() == [default]
        # existing tokens stay platform administrators'
        assert conn.execute(text("SELECT organization_id FROM api_tokens")).scalars().all() == [None]
    command.downgrade(alembic_config(scratch_url), BEFORE)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT code FROM programs")).scalars().all() == ["old"]
        assert conn.execute(text("SELECT sku FROM products")).scalars().all() == ["OLD-SKU"]
        assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 1
    tables = inspect(engine).get_table_names()
    assert "organizations" not in tables
    assert "merchants" not in tables
    assert "organization_id" not in {c["name"] for c in inspect(engine).get_columns("programs")}
    upgrade(scratch_url)  # and up again
    engine.dispose()


def test_a_platform_opt_out_of_one_program_takes_the_programs_organization(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at(BEFORE)
    engine = make_engine(scratch_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days,"
                " freeze_days, max_levels, self_purchase_commission, created_at)"
                " VALUES ('old', 'Old', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, '2026-01-01 00:00:00')"
            )
        )
    upgrade(scratch_url, "0022")
    with engine.begin() as conn:
        program = conn.execute(text("SELECT id FROM programs")).scalar_one()
        for key, program_id in (("one", program), ("all", None)):
            conn.execute(
                text(
                    "INSERT INTO opt_outs (request_id, program_id, customer_ref_hash, requested_at,"
                    " actor_kind, actor_ref, erased) VALUES (:key, :program, 'h', '2026-01-01 00:00:00',"
                    " 'operator', 'admin', '{}')"
                ),
                {"key": key, "program": program_id},
            )
    upgrade(scratch_url)
    with engine.connect() as conn:
        default = conn.execute(text("SELECT id FROM organizations WHERE code = 'default'")).scalar_one()
        owners: dict[str, int | None] = dict(
            conn.execute(text("SELECT request_id, organization_id FROM opt_outs")).all()
        )
    assert owners == {"one": default, "all": None}
    engine.dispose()

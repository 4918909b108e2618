"""Migration 0052 adds the organization a visitor identified themselves to: linkages stored before keep
their customer and get no organization (NULL, honoured nowhere), and downgrading drops the column and
keeps the linkages (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED
from tests.migration_templates import ScratchAt


def test_migration_0052_records_a_visitors_organization(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0051")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO link_visitors (visitor_id, customer_ref_hash, customer_ref_masked, "
                    "identified_at) VALUES ('v-1', :h, '138****5678', :at)"
                ),
                {"h": "ab" * 32, "at": CREATED},
            )
        before = {c["name"] for c in inspect(engine).get_columns("link_visitors")}
        assert "organization_id" not in before
        upgrade(scratch_url, "0052")
        engine.dispose()
        columns = {c["name"]: c for c in inspect(engine).get_columns("link_visitors")}
        assert columns["organization_id"]["nullable"] is True
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT visitor_id, customer_ref_hash, organization_id FROM link_visitors")
            ).all()
        assert [tuple(r) for r in stored] == [("v-1", "ab" * 32, None)]
        command.downgrade(alembic_config(scratch_url), "0051")
        engine.dispose()
        assert {c["name"] for c in inspect(engine).get_columns("link_visitors")} == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT visitor_id FROM link_visitors")).scalars().all() == ["v-1"]
    finally:
        engine.dispose()

"""Migration 0054 adds the console account that issued an API token: tokens stored before keep working
and have no issuer (NULL), the column refers to its account, and downgrading drops it and keeps the
tokens (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt


def test_migration_0054_records_a_tokens_issuer(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0053")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            token = insert_id(
                conn, "api_tokens", token_hash="ab" * 32, role="operator", kind="api", label="ci",
                created_at=CREATED,
            )  # fmt: skip
        before = {c["name"] for c in inspect(engine).get_columns("api_tokens")}
        assert "issued_by_user_id" not in before
        upgrade(scratch_url, "0054")
        engine.dispose()
        columns = {c["name"]: c for c in inspect(engine).get_columns("api_tokens")}
        assert columns["issued_by_user_id"]["nullable"] is True
        references = [
            (fk["referred_table"], fk["constrained_columns"], (fk.get("options") or {}).get("ondelete"))
            for fk in inspect(engine).get_foreign_keys("api_tokens")
            if fk["constrained_columns"] == ["issued_by_user_id"]
        ]
        assert references == [("users", ["issued_by_user_id"], None)]
        assert "ix_api_tokens_issued_by_user_id" in {
            i["name"] for i in inspect(engine).get_indexes("api_tokens")
        }
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT id, issued_by_user_id, revoked_at FROM api_tokens")).all()
        assert [tuple(r) for r in stored] == [(token, None, None)]
        command.downgrade(alembic_config(scratch_url), "0053")
        engine.dispose()
        assert {c["name"] for c in inspect(engine).get_columns("api_tokens")} == before
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id FROM api_tokens")).scalars().all() == [token]
    finally:
        engine.dispose()

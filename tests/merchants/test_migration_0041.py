"""Migration 0041 makes a merchant's code unique within its organization instead of across all of them;
downgrading restores the global key unless two organizations share a code, then stops and changes nothing
(SQLite and PostgreSQL, on a database or schema of its own; docs/tenancy.md)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt


def _organization(conn: Connection, code: str) -> int:
    return insert_id(conn, "organizations", code=code, name=code, created_at=CREATED)


def _merchant(conn: Connection, organization_id: int, code: str) -> int:
    return insert_id(
        conn, "merchants", organization_id=organization_id, code=code, name=code, created_at=CREATED
    )


def _uniques(engine: Engine) -> set[tuple[str, ...]]:
    return {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints("merchants")}


def _fails(engine: Engine, organization_id: int, code: str) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _merchant(conn, organization_id, code)


def test_migration_0041_scopes_merchant_codes_to_their_organization(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0040")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            a, b = _organization(conn, "org-a"), _organization(conn, "org-b")
            _merchant(conn, a, "acme")
        _fails(engine, b, "acme")  # before: taken in every organization
        upgrade(scratch_url, "0041")
        assert _uniques(engine) == {("organization_id", "code")}
        with engine.begin() as conn:
            other = _merchant(conn, b, "acme")
        _fails(engine, a, "acme")  # still taken in its own organization
        _fails(engine, b, "acme")

        with pytest.raises(RuntimeError, match="1 merchant codes are used by more than one organization"):
            command.downgrade(alembic_config(scratch_url), "0040")
        engine.dispose()
        assert _uniques(engine) == {("organization_id", "code")}  # nothing changed
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM merchants WHERE id = :id"), {"id": other})
        command.downgrade(alembic_config(scratch_url), "0040")
        engine.dispose()
        assert _uniques(engine) == {("code",)}
        _fails(engine, b, "acme")
    finally:
        engine.dispose()

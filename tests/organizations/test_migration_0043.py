"""Migration 0043 makes a product's sku and a program's, a brand's and a category's code unique within
its organization instead of across all of them, and a fixed commission per sku that of the organization's
product; on SQLite the tables are rebuilt without deleting or refusing the rows that hang off them;
downgrading restores the global keys unless two organizations share a sku or code, then stops and changes
nothing (SQLite and PostgreSQL, on a database or schema of its own; docs/tenancy.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert, insert_id
from tests.migration_templates import ScratchAt

TABLES = ("programs", "brands", "categories", "products")
KEY = {"products": "sku"}


def _program(conn: Connection, organization_id: int, code: str) -> int:
    return insert_id(
        conn,
        "programs",
        organization_id=organization_id,
        code=code,
        name=code,
        timezone="Asia/Shanghai",
        attribution_model="last_click",
        attribution_window_days=30,
        freeze_days=7,
        max_levels=2,
        self_purchase_commission=True,
        created_at=CREATED,
    )


def _coded(table: str) -> Callable[[Connection, int, str], int]:
    def make(conn: Connection, organization_id: int, code: str) -> int:
        return insert_id(
            conn, table, organization_id=organization_id, code=code, name=code, created_at=CREATED
        )

    return make


def _product(conn: Connection, organization_id: int, sku: str) -> int:
    return insert_id(
        conn,
        "products",
        organization_id=organization_id,
        sku=sku,
        title=sku,
        price_fen=100,
        commission_rate_bp=100,
        active=True,
        tags="[]",
        created_at=CREATED,
        updated_at=CREATED,
    )


MAKERS = {
    "programs": _program,
    "brands": _coded("brands"),
    "categories": _coded("categories"),
    "products": _product,
}


def _uniques(engine: Engine, table: str) -> set[tuple[str, ...]]:
    return {tuple(u["column_names"]) for u in inspect(engine).get_unique_constraints(table)}


def _fixed(engine: Engine) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT organization_id, sku, fixed_commission_fen FROM sku_commissions"))
        return [(int(o), str(s), int(f)) for o, s, f in rows]


def _fails(engine: Engine, table: str, organization_id: int, code: str) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        MAKERS[table](conn, organization_id, code)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - a fixed name


def test_migration_0043_scopes_codes_to_their_organization(scratch_at: ScratchAt) -> None:
    before = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision("0043").down_revision
    assert isinstance(before, str)
    scratch_url = scratch_at(before)
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            a = insert_id(conn, "organizations", code="org-a", name="a", created_at=CREATED)
            b = insert_id(conn, "organizations", code="org-b", name="b", created_at=CREATED)
            made = {table: MAKERS[table](conn, a, "spring") for table in TABLES}
            # Rows hanging off the rebuilt tables: a tier (ON DELETE CASCADE), the product's brand and
            # category, its fixed commission (ON DELETE CASCADE).
            insert(
                conn,
                "tiers",
                program_id=made["programs"],
                code="t",
                name="t",
                rank=1,
                share_bp=100,
                override_bp=0,
            )
            conn.execute(
                text("UPDATE products SET brand_id = :b, category_id = :c"),
                {"b": made["brands"], "c": made["categories"]},
            )
            insert(conn, "sku_commissions", sku="spring", fixed_commission_fen=500, updated_at=CREATED)
        for table in TABLES:
            _fails(engine, table, b, "spring")  # before: taken in every organization
        upgrade(scratch_url, "0043")
        assert (_count(engine, "tiers"), _count(engine, "products")) == (1, 1)
        assert _fixed(engine) == [(a, "spring", 500)]  # the product's organization
        others = {}
        for table in TABLES:
            assert _uniques(engine, table) == {("organization_id", KEY.get(table, "code"))}
            with engine.begin() as conn:
                others[table] = MAKERS[table](conn, b, "spring")
            _fails(engine, table, a, "spring")  # still taken in its own organization
            _fails(engine, table, b, "spring")

        shared = r"1 in programs\.code, 1 in brands\.code, 1 in categories\.code, 1 in products\.sku"
        with pytest.raises(RuntimeError, match=shared):
            command.downgrade(alembic_config(scratch_url), before)
        engine.dispose()
        assert all(
            _uniques(engine, t) == {("organization_id", KEY.get(t, "code"))} for t in TABLES
        )  # unchanged
        with engine.begin() as conn:
            for table, row in others.items():
                conn.execute(text(f"DELETE FROM {table} WHERE id = :id"), {"id": row})  # noqa: S608 - fixed names
        command.downgrade(alembic_config(scratch_url), before)
        engine.dispose()
        assert all(_uniques(engine, table) == {(KEY.get(table, "code"),)} for table in TABLES)
        assert (_count(engine, "tiers"), _count(engine, "products")) == (1, 1)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT sku, fixed_commission_fen FROM sku_commissions")).all() == [
                ("spring", 500)
            ]
        for table in TABLES:
            _fails(engine, table, b, "spring")
    finally:
        engine.dispose()

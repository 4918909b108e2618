"""Migration 0053 gives a segment the caller's idempotency key: segments saved before keep their criteria
and no key (null, never clashing), a key is unique per member, and downgrading drops the index and the
columns and keeps the segments (SQLite and PostgreSQL, on a database or schema of its own)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from neigou.kit.db import make_engine
from neigou.migrations.runner import alembic_config, upgrade
from tests.migrating import CREATED, insert_id
from tests.migration_templates import ScratchAt

PROGRAM = (
    "INSERT INTO programs (code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at, organization_id)"
    " VALUES ('p', 'p', 'Asia/Shanghai', 'last_click', 30, 7, 2, true, :at, :org)"
)


def _segment(engine: Engine, program: int, member: int, **values: object) -> int:
    with engine.begin() as conn:
        return insert_id(
            conn,
            "customer_segments",
            program_id=program,
            member_id=member,
            name="通勤",
            tags='["通勤"]',
            created_at=CREATED,
            updated_at=CREATED,
            **values,
        )


def _columns(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_columns("customer_segments")}


def _indexes(engine: Engine) -> dict[str, tuple[list[str], bool]]:
    return {
        str(i["name"]): ([str(c) for c in i["column_names"]], bool(i["unique"]))
        for i in inspect(engine).get_indexes("customer_segments")
    }


def test_migration_0053_keys_segments_per_member(scratch_at: ScratchAt) -> None:
    scratch_url = scratch_at("0052")
    engine = make_engine(scratch_url)
    try:
        with engine.begin() as conn:
            org = insert_id(conn, "organizations", code="org-s", name="品牌", created_at=CREATED)
            conn.execute(text(PROGRAM), {"at": CREATED, "org": org})
            program = int(conn.execute(text("SELECT id FROM programs")).scalar_one())
            member = insert_id(conn, "members", program_id=program, name="导购甲", joined_at=CREATED)
            other = insert_id(conn, "members", program_id=program, name="导购乙", joined_at=CREATED)
        saved = _segment(engine, program, member)
        before_columns, before_indexes = _columns(engine), _indexes(engine)
        assert "request_id" not in before_columns

        upgrade(scratch_url, "0053")
        engine.dispose()
        assert _columns(engine) == before_columns | {"request_id", "request_hash"}
        assert _indexes(engine)["uq_customer_segments_request"] == (["member_id", "request_id"], True)
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT id, name, request_id, request_hash FROM customer_segments")
            ).all()
        assert [tuple(r) for r in stored] == [(saved, "通勤", None, None)]
        _segment(engine, program, member)  # null keys never clash
        _segment(engine, program, member, request_id="k-1", request_hash="a" * 64)
        _segment(engine, program, other, request_id="k-1", request_hash="a" * 64)  # another member's key
        with pytest.raises(IntegrityError):
            _segment(engine, program, member, request_id="k-1", request_hash="b" * 64)

        command.downgrade(alembic_config(scratch_url), "0052")
        engine.dispose()
        assert (_columns(engine), _indexes(engine)) == (before_columns, before_indexes)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM customer_segments")).scalar_one() == 4
    finally:
        engine.dispose()

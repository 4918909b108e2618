"""A migration test's scratch database (``scratch_at``): a copy of the run's template at the revision asked
for, its own, at that revision whether its template was migrated from the base or from a lower one."""

from __future__ import annotations

from sqlalchemy import inspect, text

from neigou.kit.db import make_engine
from tests.migration_templates import ScratchAt, revision_order


def _state(url: str) -> tuple[str, set[str]]:
    """The revision a database is at, and its tables."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one())
        return revision, set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_each_scratch_database_is_a_new_copy_at_its_revision(scratch_at: ScratchAt) -> None:
    first, second = scratch_at("0017"), scratch_at("0017")
    assert first != second
    engine = make_engine(first)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'changed'"))
            conn.execute(text("CREATE TABLE scribbled (id integer)"))
    finally:
        engine.dispose()
    revision, tables = _state(second)
    assert revision == "0017"
    assert {"programs", "organizations"} <= tables  # 0017 added the organizations
    assert "scribbled" not in tables
    assert _state(scratch_at("0017")) == (revision, tables)  # the template kept nothing of the first copy


def test_a_template_made_from_a_lower_one_is_at_its_own_revision(scratch_at: ScratchAt) -> None:
    low, tables = _state(scratch_at("0016"))
    assert (low, "organizations" in tables) == ("0016", False)
    revision, tables = _state(scratch_at("0017"))
    assert (revision, "organizations" in tables) == ("0017", True)
    assert _state(scratch_at("head"))[0] == revision_order()[-1]

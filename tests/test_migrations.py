"""The Alembic revisions build exactly the schema the models declare, on SQLite and PostgreSQL, and the
registry Alembic reads names every model."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, String, text

import neigou
from neigou.migrations.registry import metadata

# Imports the registry alone, as Alembic's env does, then every models module: the tables only the
# latter adds.
MISSED = """
import importlib, sys
from neigou.migrations.registry import metadata
named = set(metadata.tables)
for module in sys.argv[1:]:
    importlib.import_module(module)
print(sorted(set(metadata.tables) - named))
"""


def _meaningful(diff: Any) -> bool:
    """Drop differences that are artefacts of a dialect rather than a missing revision."""
    op = diff[0] if isinstance(diff, tuple) else diff[0][0]
    # SQLite cannot alter types in place and reports server defaults loosely: types are compared
    # on PostgreSQL, where they matter.
    return op not in {"modify_default"}


def test_revisions_match_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": engine.dialect.name == "postgresql", "compare_server_default": False}
        )
        diffs = [d for d in compare_metadata(context, metadata) if _meaningful(d)]
    assert diffs == [], "models and migrations disagree; write a revision:\n" + "\n".join(map(str, diffs))


def _collation(ddl_type: str) -> str | None:
    """``C`` of ``VARCHAR(20) COLLATE "C"``; None when the type names no collation."""
    _type, collate, name = ddl_type.partition(" COLLATE ")
    return name.strip('"') if collate else None


def test_revisions_give_the_models_collations(engine: Engine) -> None:
    """Alembic does not compare collations: every column the models collate (``kit.db.key_string``,
    ``str_enum(bytewise=True)``) has that collation in the migrated PostgreSQL schema, and no other
    column has one of its own."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite compares bytes in every column")
    declared = {  # as the DDL renders it (an Enum's dialect copy forgets its collation)
        (table.name, column.name): _collation(column.type.compile(dialect=engine.dialect))
        for table in metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String)
    }
    with engine.connect() as conn:
        stored = {
            (t, c): n
            for t, c, n in conn.execute(
                text(
                    "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema() AND collation_name IS NOT NULL"
                )
            )
        }
    wanted = {key: collation for key, collation in declared.items() if collation is not None}
    assert len(wanted) >= 5
    assert {key: stored.get(key) for key in wanted} == wanted
    assert {key for key in stored if key in declared} == set(wanted)


def test_the_registry_alone_holds_every_domains_tables() -> None:
    """Alembic's env imports only the registry, so the registry imports every domain's models."""
    models = sorted(
        m.name for m in pkgutil.walk_packages(neigou.__path__, "neigou.") if m.name.endswith(".models")
    )
    source = str(Path(neigou.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": source}
    run = subprocess.run(
        [sys.executable, "-c", MISSED, *models], capture_output=True, text=True, env=env, check=True
    )
    assert run.stdout.strip() == "[]", run.stdout

"""The Alembic revisions build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from neigou.migrations.registry import metadata


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

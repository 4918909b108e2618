"""Alembic environment: migrations run against NEIGOU_DATABASE_URL (or the URL given by the caller)."""

from __future__ import annotations

from alembic import context

from neigou.kit.db import make_engine
from neigou.migrations.registry import metadata

config = context.config


def run() -> None:
    """Run migrations online (SQLite uses batch mode for ALTERs)."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set")
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _migrate(connectable)
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _migrate(connection)
    finally:
        engine.dispose()  # a failed migration leaves no connection behind either


def _migrate(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        user_module_prefix="neigou.kit.db.",
    )
    with context.begin_transaction():
        context.run_migrations()


run()

"""Alembic environment: migrations run against NEIGOU_DATABASE_URL (or the URL given by the caller)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

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
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                _sqlite_foreign_keys(connection, on=False)
            try:
                _migrate(connection, check_foreign_keys=sqlite)
            finally:
                if sqlite:
                    _sqlite_foreign_keys(connection, on=True)
    finally:
        engine.dispose()  # a failed migration leaves no connection behind either


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Turn SQLite's foreign keys off for the migrations, on again after them. A batch operation rebuilds
    a table (a new one filled from the old, which is then dropped): with foreign keys on, dropping a
    parent such as ``programs`` or ``brands`` deletes its children through their ``ON DELETE CASCADE``
    or fails on the others. The pragma only takes effect outside a transaction, so it runs first."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()  # ends the autobegun (empty) transaction: Alembic begins its own


def _migrate(connection: Connection, *, check_foreign_keys: bool = False) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
        user_module_prefix="neigou.kit.db.",
    )
    with context.begin_transaction():
        context.run_migrations()
        if check_foreign_keys:
            # What the foreign keys would have refused, checked before the migrations commit.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migrations left {len(broken)} rows whose parent is missing")


run()

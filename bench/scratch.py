"""A throwaway PostgreSQL schema for a benchmark run, made on the given server and dropped after.

A schema of the shared database ``neigou_bench`` rather than a database of its own: dropping a database
waits for a checkpoint of the whole server (seconds to tens of seconds on a busy machine), dropping a
schema does not. Every connection of the URL works in the schema (its ``search_path``) and names itself
after it (``application_name``), which is how a benchmark finds the server processes serving it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError

DATABASE = "neigou_bench"


@contextmanager
def scratch_postgres(server_url: str, prefix: str, *, keep: bool = False) -> Iterator[str]:
    """The URL of a fresh schema ``<prefix>_<random>`` on ``server_url``'s server (kept if ``keep``)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        _create_database_once(conn)
    admin.dispose()
    base = server_url.rsplit("/", 1)[0] + "/" + DATABASE
    owner = create_engine(base, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}?application_name={schema}&options=-csearch_path%3D{schema}"
    finally:
        if not keep:
            with owner.connect() as conn:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = :schema AND pid <> pg_backend_pid()"
                    ),
                    {"schema": schema},
                )
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        owner.dispose()


def _create_database_once(conn: Connection) -> None:
    """Create the shared benchmark database unless it exists (two runs may race; one wins)."""
    exists = text("SELECT 1 FROM pg_database WHERE datname = :name")
    if conn.scalar(exists, {"name": DATABASE}):
        return
    try:
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    except DBAPIError:
        if not conn.scalar(exists, {"name": DATABASE}):
            raise

"""The PostgreSQL database a test process works in, held for it alone while it runs.

Advisory locks (the opt-out's, ``privacy.repository``) are a database's, not a schema's. Several runs of
the suite at once (a full run beside a few files, on one server) each give their worker ``gw0`` a
schema of its own, but in one shared database ``neigou_tests_gw0`` their locks would meet: a
``world_per_module`` module of one run holds the wide opt-out lock its world took until the module
ends, and an order or opt-out of the other run waits for it, for minutes, or the two deadlock.

So a process claims its database before it uses it: the first of ``neigou_tests_gw0``,
``neigou_tests_gw0_2``, ... (created on first use, kept) on which it gets a session-level advisory lock
of the two-number form (a key space no ``pg_advisory_xact_lock(bigint)`` of the product reaches), on a
connection of its own held open until the process ends; the server drops the lock with the connection,
even when the process is killed.
"""

from __future__ import annotations

import atexit
import functools

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

CLAIM_KEY = (0x6E6569, 0x676F75)  # pg_try_advisory_lock(int, int): objsubid 2, apart from bigint keys
MAX_DATABASES = 16  # claims past this many databases at once mean something leaks


def create_database_once(conn: Connection, name: str) -> None:
    """Create the database unless it exists (workers and runs may race to create it; one wins)."""
    exists_already = text("SELECT 1 FROM pg_database WHERE datname = :name")
    if conn.scalar(exists_already, {"name": name}):
        return
    try:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    except DBAPIError:
        if not conn.scalar(exists_already, {"name": name}):
            raise


@functools.cache
def claimed_database(admin_url: str, base: str) -> str:
    """The name of the first database ``base``, ``base_2``, ... no other process holds, now held by this
    one until it ends (one claim per process: the answer is cached)."""
    server = admin_url.rsplit("/", 1)[0]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        for n in range(1, MAX_DATABASES + 1):
            name = base if n == 1 else f"{base}_{n}"
            with admin.connect() as conn:
                create_database_once(conn, name)
            engine = create_engine(f"{server}/{name}", isolation_level="AUTOCOMMIT", poolclass=NullPool)
            claim = engine.connect()
            if claim.scalar(
                text("SELECT pg_try_advisory_lock(:a, :b)"), {"a": CLAIM_KEY[0], "b": CLAIM_KEY[1]}
            ):
                atexit.register(engine.dispose)
                atexit.register(claim.close)
                return name
            claim.close()
            engine.dispose()
    finally:
        admin.dispose()
    raise RuntimeError(f"{MAX_DATABASES} test databases {base}* are all held by running test processes")

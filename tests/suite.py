"""The test suite's settings and constants, read by its fixtures (``tests.database_fixtures``,
``tests.app_fixtures``, ``tests.demo_world``), its hooks (``tests/conftest.py``) and its tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from neigou.kit.actor import Actor

BACKEND = os.environ.get("NEIGOU_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get("NEIGOU_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The PostgreSQL database the suite works in (created on first use, kept), a schema per worker and run.
# Each pytest-xdist worker has a database of its own, and so has each run beside another one
# (``tests.pg_database``): advisory locks (the opt-out's, ``privacy.repository``) are the database's, not a
# schema's, and a ``world_per_module`` module holds the ones its world and tests took until the module
# ends; in one shared database another worker or run, building the same world with the same customers,
# would wait for them.
PG_TEST_DATABASE = os.environ.get("NEIGOU_TEST_PG_DATABASE", "neigou_tests") + (
    f"_{worker}" if (worker := os.environ.get("PYTEST_XDIST_WORKER")) else ""
)
TEST_ACTOR = Actor(kind="cli", ref="tests", label="tests")
SECRET = "test-secret-key-long-enough-for-production"  # at least MIN_SECRET_KEY_LENGTH
# Why a ``postgres_only`` test without a reason of its own is skipped on SQLite.
PARALLEL_CONNECTIONS = "needs real parallel connections (PostgreSQL); SQLite has one writer at a time"
# Markers of tests that run once, on SQLite.
RUN_ONCE = ("browser", "sqlite_only", "no_database", "chdb", "routing_only")

# The test worlds that post (the feed's, the authorization matrix's) are dated 24 March 2026, and a post
# dated before its clock is made at the clock's time (``feed.posts``): their posts are made then, not at
# the machine's clock. A test of that rule moves the clock (``tests.campaigns.builders.posts_clock``).
WORLDS_NOW = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)

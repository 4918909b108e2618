"""The seeded demo world, built once per test process and copied for each test that reads it.

Seeding the demo takes tens of seconds; the browser tests and the demo-world checks (``sqlite_only``)
all read the same world, so a worker seeds it once (``demo_template``) and each test gets a fresh copy
of its database (``demo_url``, ``demo_factory``). A test module that uses these imports them (``from tests.demo_world
import demo_factory, demo_template, demo_url``); the browser tests get them from their conftest.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld, seed
from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from tests.conftest import SECRET

PASSWORD = "demo-password-1"  # the seeded operator's console password


@dataclass(frozen=True)
class DemoTemplate:
    """A SQLite file holding the seeded demo world, and the world's ids and tokens."""

    path: Path
    world: DemoWorld
    built_at: datetime  # the ``now`` the world was seeded at


def copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database file through SQLite's backup (consistent, whatever is open on it)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


@pytest.fixture(scope="session")
def demo_template(
    database_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> DemoTemplate:
    """The demo world, seeded once per test process into a copy of the migrated, empty test database."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the demo world is a SQLite product (browser and demo-world tests run on SQLite)")
    empty = make_url(database_url).database
    assert empty is not None
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    copy_database(Path(empty), path)
    demo_engine = make_engine(f"sqlite:///{path}")
    built_at = utcnow()
    try:
        with transaction(make_session_factory(demo_engine)) as session:
            world = seed(session, now=built_at, password=PASSWORD, secret_key=SECRET)
    finally:
        demo_engine.dispose()
    return DemoTemplate(path, world, built_at)


@pytest.fixture
def demo_url(demo_template: DemoTemplate, tmp_path: Path) -> str:
    """A fresh copy of the demo database for this test."""
    path = tmp_path / "demo.db"
    copy_database(demo_template.path, path)
    return f"sqlite:///{path}"


@pytest.fixture
def demo_factory(demo_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on this test's copy of the demo database."""
    demo_engine = make_engine(demo_url)
    yield make_session_factory(demo_engine)
    demo_engine.dispose()

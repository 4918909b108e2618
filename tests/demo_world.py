"""The seeded demo world, built once per test run and copied for each test that reads it.

Seeding the demo takes tens of seconds; the browser tests and the demo-world checks (``sqlite_only``)
all read the same world, so the first worker that needs it seeds it once into a template file in the
run's temporary directory, which every pytest-xdist worker shares (a file lock keeps the others waiting
until it is written, then they read it); each test gets a fresh copy of its database (``demo_url``,
``demo_factory``). The fixtures are defined once for the whole suite (a plugin of ``tests/conftest.py``):
a module that imported them would get fixtures of its own and seed the world again.

The world is seeded at the machine's clock, or at ``NEIGOU_TEST_DEMO_AT`` (an ISO time with its zone, not
ahead of the clock): much of what the demo holds moves with the hour it is built at (a Shanghai day
begins at 16:00 UTC), so a run can be made as if built at the hour a failure was seen. The served pages
still read the machine's clock: the world is then as old as that time is, as when a run goes on past
the hour (or the Shanghai midnight) its world was built in.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld, seed
from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from tests.suite import SECRET

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


def _run_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary directory of the whole run: under pytest-xdist, the one every worker's lies in."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_instant() -> datetime:
    """When the demo world is seeded: ``NEIGOU_TEST_DEMO_AT`` (``2026-03-24T15:30:00+00:00``), or now."""
    now = utcnow()
    given = os.environ.get("NEIGOU_TEST_DEMO_AT", "").strip()
    if not given:
        return now
    try:
        at = datetime.fromisoformat(given)
    except ValueError:
        raise pytest.UsageError("NEIGOU_TEST_DEMO_AT must be an ISO time with its zone") from None
    if at.tzinfo is None or at > now:
        raise pytest.UsageError("NEIGOU_TEST_DEMO_AT must carry its zone and lie before the machine's clock")
    return at.astimezone(UTC)


def _seed_template(empty: Path, path: Path) -> tuple[DemoWorld, datetime]:
    """Seed the demo world into ``path``, a copy of the migrated, empty database ``empty``."""
    copy_database(empty, path)
    demo_engine = make_engine(f"sqlite:///{path}")
    built_at = build_instant()
    try:
        with transaction(make_session_factory(demo_engine)) as session:
            world = seed(session, now=built_at, password=PASSWORD, secret_key=SECRET)
    finally:
        demo_engine.dispose()
    return world, built_at


@pytest.fixture(scope="session")
def demo_template(
    database_url: str, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> DemoTemplate:
    """The demo world, seeded once per test run (the first worker to need it seeds, the others wait
    for it and read it) into a copy of the migrated, empty test database."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the demo world is a SQLite product (browser and demo-world tests run on SQLite)")
    empty = make_url(database_url).database
    assert empty is not None
    shared = _run_directory(tmp_path_factory)
    path, about = shared / "demo-template.db", shared / "demo-template.json"
    with (shared / "demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not about.exists():
            world, built_at = _seed_template(Path(empty), path)
            written = about.with_suffix(".part")
            written.write_text(json.dumps({"world": asdict(world), "built_at": built_at.isoformat()}))
            written.rename(about)  # the template is complete once this name exists
    saved = json.loads(about.read_text())
    return DemoTemplate(path, DemoWorld(**saved["world"]), datetime.fromisoformat(saved["built_at"]))


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

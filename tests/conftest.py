"""The suite's hooks and process settings. Its fixtures live in ``FIXTURE_MODULES`` (the database's, the
app's, the demo world's), loaded once as plugins; its constants in ``tests.suite``. The names tests import
from here (``SECRET``, ``bearer``, ``row_counts``, …) are those modules'."""

from __future__ import annotations

import functools
import gc
import importlib
import os
from collections.abc import Iterator
from unittest import mock

import pytest
from _pytest.fixtures import FixtureFunctionDefinition
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from hypothesis import settings as hypothesis_settings

from neigou.auth import passwords
from neigou.feed import posts
from neigou.kit import attempts, robot_budget
from neigou.kit.clock import not_before_now
from neigou.migrations import runner

# The suite's fixtures, each defined once for the whole run in one of these modules: a module or conftest
# that imported one would own a copy of it (and build a session-scoped one again, the demo world among them).
FIXTURE_MODULES = ("tests.database_fixtures", "tests.app_fixtures", "tests.demo_world")
pytest_plugins = FIXTURE_MODULES
pytest.register_assert_rewrite(*FIXTURE_MODULES)

# What tests import from here: the suite's constants and plain helpers (never a fixture).
from tests.app_fixtures import TokenMaker, app_settings, bearer, page_client  # noqa: E402
from tests.database_fixtures import row_counts  # noqa: E402
from tests.suite import (  # noqa: E402
    BACKEND,
    PARALLEL_CONNECTIONS,
    RUN_ONCE,
    SECRET,
    TEST_ACTOR,
    WORLDS_NOW,
)

__all__ = [
    "BACKEND",
    "SECRET",
    "TEST_ACTOR",
    "TokenMaker",
    "app_settings",
    "bearer",
    "page_client",
    "row_counts",
]

# Tests hash and check thousands of console passwords; Argon2id at its lowest cost keeps the format and
# every check the same. Served processes (``neigou serve`` in the log test, ``neigou demo``) and
# production keep argon2-cffi's defaults.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# Speed is the benchmarks' to measure (bench/), not the tests': a property test must not fail because a
# loaded machine took 400 ms over an example (Hypothesis's default deadline is 200 ms).
hypothesis_settings.register_profile("neigou", deadline=None)
hypothesis_settings.load_profile("neigou")


# The garbage collector's cost grows with the heap, and a test process holds the whole app, SQLAlchemy's
# and FastAPI's machinery and every test module: at the default threshold (700 allocations) it scanned that
# heap's young objects thousands of times per module, about a tenth of a process's CPU. Collections come
# less often (cycles are still freed, a little later), and what the imports and the collection made is
# frozen once collected: it lives as long as the process, so no full collection walks it again.
gc.set_threshold(10_000, 20, 100)


def pytest_collection_finish(session: pytest.Session) -> None:
    gc.collect()
    gc.freeze()


def pytest_report_header() -> list[str]:
    demo_at = os.environ.get("NEIGOU_TEST_DEMO_AT")  # read by tests.demo_world
    return [f"neigou test database: {BACKEND}"] + ([f"demo world built at: {demo_at}"] if demo_at else [])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser and demo-world tests run once, on SQLite: the demo they drive is a SQLite product
    (``neigou demo``), and every rule behind those pages is tested on both databases through the API.
    Tests marked ``no_database`` never touch the application's database (pure rules, the analytics
    store's own engines), so they run once too; one that asks for the database is a usage error. Tests
    marked ``chdb`` compare the store's other engine with DuckDB, whose side runs on both: once too, as do
    the ``routing_only`` checks of how every path's route is chosen. Tests marked ``postgres_only`` run on PostgreSQL only (``_skip_postgres_only``)."""
    for item in items:
        if item.get_closest_marker("no_database") and "database_url" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(f"{item.nodeid} is marked no_database but uses the database")
    _refuse_imported_fixtures(items)
    _skip_postgres_only(items)
    if BACKEND != "postgresql":
        return
    once = pytest.mark.skip(
        reason="runs on SQLite only (browser, demo-world, database-free, chDB and routing tests run once)"
    )
    for item in items:
        if any(item.get_closest_marker(name) for name in RUN_ONCE):
            item.add_marker(once)


def _refuse_imported_fixtures(items: list[pytest.Item]) -> None:
    """A test module or conftest that imports one of the suite's fixtures owns a copy of it, and a
    session-scoped one (the demo world's template) would be built again: a usage error (they are defined
    once, in ``FIXTURE_MODULES``)."""
    defined = {
        id(value): name
        for module in map(importlib.import_module, FIXTURE_MODULES)
        for name, value in vars(module).items()
        if isinstance(value, FixtureFunctionDefinition)
    }
    modules = {id(m): m for m in (getattr(item, "module", None) for item in items) if m is not None}
    if items:
        for plugin in items[0].config.pluginmanager.get_plugins():
            name = getattr(plugin, "__name__", "")
            if name.startswith("tests.") and name != __name__ and name not in FIXTURE_MODULES:
                modules[id(plugin)] = plugin
    for module in modules.values():
        for value in vars(module).values():
            if id(value) in defined:
                raise pytest.UsageError(
                    f"{module.__name__} imports the fixture {defined[id(value)]}: it is the suite's"
                    " (tests/conftest.py's FIXTURE_MODULES), use it by name"
                )


def _skip_postgres_only(items: list[pytest.Item]) -> None:
    """A test marked ``postgres_only`` means nothing on SQLite (a race of real parallel connections, COPY, a
    set-based write of PostgreSQL's): it is skipped there, with the marker's ``reason`` or
    ``PARALLEL_CONNECTIONS``. A test that checks rules on both databases and races only on PostgreSQL is
    not marked (or is split in two). The marker takes no other argument, and a test marked to run once on
    SQLite cannot be PostgreSQL's only."""
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is None:
            continue
        if marker.args or set(marker.kwargs) - {"reason"}:
            raise pytest.UsageError(f"{item.nodeid}: postgres_only takes only reason=...")
        if any(item.get_closest_marker(name) for name in RUN_ONCE):
            raise pytest.UsageError(f"{item.nodeid} is marked postgres_only and to run once on SQLite")
        if BACKEND != "postgresql":
            item.add_marker(pytest.mark.skip(reason=marker.kwargs.get("reason", PARALLEL_CONNECTIONS)))


@pytest.fixture(scope="session", autouse=True)
def _posts_at_the_worlds_time() -> Iterator[None]:
    with mock.patch.object(posts, "not_before_now", functools.partial(not_before_now, now=WORLDS_NOW)):
        yield


# Alembic reads every revision file again for each upgrade and downgrade (``ScriptDirectory.from_config``
# executes the sixty-odd modules and maps them: about 75 ms of CPU), and the migration tests and scratch
# databases run hundreds. The packaged revisions do not change during a run: they are read once per process.
_read_scripts = ScriptDirectory.from_config


@functools.cache
def _packaged_scripts() -> ScriptDirectory:
    return _read_scripts(runner.alembic_config("sqlite://"))


def _scripts_of(config: AlembicConfig) -> ScriptDirectory:
    """The packaged revisions, read once, for a config of ``runner.alembic_config`` (its location and
    URL only); any other config's, read afresh."""
    options = set(config.get_section(config.config_ini_section) or {}) - set(config.file_config.defaults())
    if options <= {"script_location", "sqlalchemy.url"} and config.get_main_option("script_location") == str(
        runner.HERE
    ):
        return _packaged_scripts()
    return _read_scripts(config)


@pytest.fixture(scope="session", autouse=True)
def _revisions_read_once() -> Iterator[None]:
    with mock.patch.object(ScriptDirectory, "from_config", _scripts_of):
        yield


@pytest.fixture(autouse=True)
def _not_stopping() -> None:
    """Each test starts with runs free to claim work: an app stopped earlier in the process stopped its
    in-process jobs, which tells the process's runs to claim nothing more (``kit.attempts.begin_stop``)."""
    attempts.stop_ended()


@pytest.fixture(autouse=True)
def _robot_budgets_fresh() -> None:
    """Each test starts with every robot's 20 a minute (``kit.robot_budget``, in memory in the tests):
    the suite's robots share a few URLs, and a module's posts must not spend the next test's budget."""
    robot_budget.forget()

"""Scratch databases for the migration tests, copied from per-run templates instead of migrated from the base.

Migrating a fresh database from the base revision to the one under test costs seconds per test (tens on
PostgreSQL under load), the same steps every time. So the first test of a run that asks for revision R
migrates a template database to R once (from the highest template already made below R, or from the base);
every later ask for R copies the template: the file on SQLite (checkpointed first, so no ``-wal`` is left
behind), ``CREATE DATABASE … TEMPLATE`` on PostgreSQL. Only that pure "base to R, no rows" step is shared:
a test that writes rows at R and migrates further runs those revisions itself, and the full path from the
base (``tests/test_migrations.py``'s session database) is never copied.

Templates are a test process's own (one xdist worker's): nothing is shared between processes. On
PostgreSQL they and the scratch databases are named after the database the process claimed
(``tests.pg_database``), which no other live process holds: a claim starts by dropping what a killed run
left under its name, and a run drops its own at its end (one ``DROP DATABASE`` checkpoint per run, not
one per test)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from neigou.migrations.runner import alembic_config, upgrade

# A new scratch database at a revision (``"head"`` or a revision id): its URL.
ScratchAt = Callable[[str], str]
# A test database: a commit need not wait for its WAL to reach the disk (crash safety is moot).
PG_OPTIONS = "options=-csynchronous_commit%3Doff"


def revision_order() -> list[str]:
    """Every revision id, base first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


class Templates:
    """A test process's migrated templates, one per revision asked for, and the scratch copies made of them."""

    def __init__(self) -> None:
        self.order = revision_order()
        self.made: list[str] = []  # revisions with a template, in the order made

    def _revision(self, revision: str) -> str:
        """``revision`` as an id (``head`` is the last)."""
        if revision == "head":
            return self.order[-1]
        if revision not in self.order:
            raise ValueError(f"no revision {revision!r}")
        return revision

    def _below(self, revision: str) -> str | None:
        """The highest revision at or below ``revision`` with a template already."""
        at = self.order.index(revision)
        lower = [r for r in self.made if self.order.index(r) <= at]
        return max(lower, key=self.order.index, default=None)

    def scratch(self, revision: str, directory: Path) -> str:
        """A new database migrated to ``revision`` (its template made first if need be; a SQLite file in
        ``directory``); its URL."""
        wanted = self._revision(revision)
        if wanted not in self.made:
            self._make(wanted, self._below(wanted))
            self.made.append(wanted)
        return self._copy(wanted, directory)

    def _make(self, revision: str, start: str | None) -> None:
        """The template of ``revision``: a copy of ``start``'s (or an empty database) migrated on to it."""
        raise NotImplementedError

    def _copy(self, revision: str, directory: Path) -> str:
        """A new copy of ``revision``'s template; its URL."""
        raise NotImplementedError

    def close(self) -> None:
        """Drop what the run made."""


class SqliteTemplates(Templates):
    """Templates as files in a directory of the process's own."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory

    def _file(self, revision: str) -> Path:
        return self.directory / f"template_{revision}.db"

    def _make(self, revision: str, start: str | None) -> None:
        target = self._file(revision)
        target.unlink(missing_ok=True)  # what a failed attempt at it left
        if start is not None:
            shutil.copyfile(self._file(start), target)
        upgrade(f"sqlite:///{target}", revision)  # Alembic's env disposes of its engine: nothing stays open
        with sqlite3.connect(target) as conn:  # fold the WAL into the file, so the file alone is the database
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()

    def _copy(self, revision: str, directory: Path) -> str:
        target = directory / f"migrate_{scratch_name()}.db"
        shutil.copyfile(self._file(revision), target)
        return f"sqlite:///{target}"


class PostgresqlTemplates(Templates):
    """Templates as databases ``<claimed>_tmpl_<revision>``, scratch copies ``<claimed>_scratch_<random>``."""

    def __init__(self, admin_url: str, claimed: str) -> None:
        super().__init__()
        self.server = admin_url.rsplit("/", 1)[0]
        self.prefix = claimed
        self.admin: Engine = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.scratches: list[str] = []
        self._drop(self._leftovers())  # a killed run's: the claim says no live process uses them

    def url(self, database: str) -> str:
        return f"{self.server}/{database}?{PG_OPTIONS}"

    def _template(self, revision: str) -> str:
        return f"{self.prefix}_tmpl_{revision}"

    def _leftovers(self) -> list[str]:
        with self.admin.connect() as conn:
            prefix = self.prefix.replace("_", r"\_")
            names = conn.scalars(
                text("SELECT datname FROM pg_database WHERE datname LIKE :t OR datname LIKE :s"),
                {"t": prefix + r"\_tmpl\_%", "s": prefix + r"\_scratch\_%"},
            )
            return list(names)

    def _create(self, name: str, template: str | None) -> None:
        """Create ``name``, a copy of ``template`` (which no connection may use meanwhile)."""
        with self.admin.connect() as conn:
            copied = f' TEMPLATE "{template}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{copied}'))

    def _make(self, revision: str, start: str | None) -> None:
        name = self._template(revision)
        self._drop([name])  # what a failed attempt at it left
        self._create(name, self._template(start) if start else None)
        upgrade(self.url(name), revision)  # Alembic's env disposes of its engine: nothing stays open

    def _copy(self, revision: str, directory: Path) -> str:
        database = f"{self.prefix}_scratch_{scratch_name()}"
        self._create(database, self._template(revision))
        self.scratches.append(database)
        return self.url(database)

    def _drop(self, names: list[str]) -> None:
        with self.admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        """Drop the scratch databases and the templates (at the run's end: ``DROP DATABASE`` waits for a
        checkpoint, which costs the first drop seconds on a busy server and the next ones little)."""
        try:
            self._drop(self.scratches + [self._template(r) for r in self.made])
        finally:
            self.admin.dispose()


def scratch_name() -> str:
    """A new scratch database's unique part."""
    return uuid.uuid4().hex[:12]

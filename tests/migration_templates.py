"""SQLite scratch databases for the migration tests, copied from per-run templates instead of migrated
from the base (``scratch_at``, ``tests/database_fixtures.py``).

Migrating a fresh database from the base revision to the one under test costs seconds per test, the same
steps every time. So the first test of a process (an xdist worker: nothing is shared between processes)
that asks for revision R migrates a template file to R once, from a copy of the highest template already
made below R, or from the base; every later ask for R copies the file, checkpointed first so that no
``-wal`` is left behind. Only that pure "base to R, no rows" step is shared: a test that writes rows at R
and migrates further runs those revisions itself, and the full path from the base (the session database
``tests/test_migrations.py`` compares with the models) is never copied.

PostgreSQL keeps migrating each scratch schema from the base: a copy there is a database
(``CREATE DATABASE … TEMPLATE``), and each ``DROP DATABASE`` waits for a checkpoint of the whole server,
minutes on a busy shared machine, against the seconds a migration from the base costs."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

from alembic.script import ScriptDirectory

from neigou.migrations.runner import alembic_config, upgrade

# A new scratch database at a revision (``"head"`` or a revision id): its URL.
ScratchAt = Callable[[str], str]


def revision_order() -> list[str]:
    """Every revision id, base first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


class SqliteTemplates:
    """A test process's migrated template files, one per revision asked for, in a directory of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.order = revision_order()
        self.made: list[str] = []  # revisions with a template

    def scratch(self, revision: str, directory: Path) -> str:
        """The URL of a new database file in ``directory`` at ``revision``, a copy of its template (made
        first if need be)."""
        wanted = self._revision(revision)
        if wanted not in self.made:
            self._make(wanted, self._below(wanted))
            self.made.append(wanted)
        target = directory / f"migrate_{uuid.uuid4().hex[:12]}.db"
        shutil.copyfile(self._file(wanted), target)
        return f"sqlite:///{target}"

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

    def _file(self, revision: str) -> Path:
        return self.directory / f"template_{revision}.db"

    def _make(self, revision: str, start: str | None) -> None:
        """The template of ``revision``: a copy of ``start``'s (or a new file) migrated on to it."""
        target = self._file(revision)
        target.unlink(missing_ok=True)  # what a failed attempt at it left
        if start is not None:
            shutil.copyfile(self._file(start), target)
        upgrade(f"sqlite:///{target}", revision)  # Alembic's env disposes of its engine: nothing stays open
        conn = sqlite3.connect(target)
        try:  # fold the WAL into the file, so the file alone is the database
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

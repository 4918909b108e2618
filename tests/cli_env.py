"""The environment a test gives the ``neigou`` command line: the test's database and the suite's secret
key (the key the test apps use, so what a command hashes or signs matches theirs; a command refuses the
development key where the deployment looks like production, as PostgreSQL does: ``cli.keys``)."""

from __future__ import annotations

import pytest

from tests.suite import SECRET


def cli_environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Point the command line at ``database_url`` with the suite's key (callers clear the settings' cache)."""
    monkeypatch.setenv("NEIGOU_DATABASE_URL", database_url)
    monkeypatch.setenv("NEIGOU_SECRET_KEY", SECRET)

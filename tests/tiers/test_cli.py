"""``neigou tiers evaluate``: dry run, the recorded run, a second run, a refusal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app
from neigou.kit.clock import utcnow
from neigou.kit.settings import get_settings
from tests.cli_env import cli_environment
from tests.conftest import row_counts
from tests.tiers.builders import build, recruit, sell

runner = CliRunner()


@pytest.fixture
def env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_tiers_evaluate_from_the_command_line(
    env: None, client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory)
    recruit(client, operator, w, 3)
    sell(client, operator, w, 10)
    args = ["tiers", "evaluate", "--program-id", str(w.program_id), "--period", "2026-03"]
    before = row_counts(factory)
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert row_counts(factory) == before
    assert f"member {w.seller}: super_member → mentor (upgrade)" in dry.output
    assert "(dry run, nothing written)" in dry.output
    started = utcnow()
    real = runner.invoke(app, args)
    assert real.exit_code == 0, real.output
    # Run after March ended: effective from the run plus the clock skew (not back on 1 April).
    skew = timedelta(minutes=5)
    found = re.search(
        r"2026-03: 4 member\(s\) evaluated, 1 change\(s\), effective (\S+) \(recorded\)", real.output
    )
    assert found is not None, real.output
    assert started + skew <= datetime.fromisoformat(found.group(1)) <= utcnow() + skew
    again = runner.invoke(app, args)
    assert "(evaluated before, nothing changed)" in again.output
    bad = runner.invoke(app, ["tiers", "evaluate", "--program-id", str(w.program_id), "--period", "March"])
    assert bad.exit_code == 2
    assert "invalid_period" in bad.output

"""The command line: migrate, token create, user create, demo, serve."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pytest
import uvicorn
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.analytics import reports
from neigou.analytics.reports import Span
from neigou.analytics.runtime import close_all
from neigou.analytics.store import open_store
from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.cli.main import app
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.settings import get_settings
from neigou.programs import service as programs
from neigou.programs.models import Program
from neigou.programs.schemas import ProgramCreate
from tests.conftest import TEST_ACTOR

runner = CliRunner()


@pytest.fixture
def env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NEIGOU_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_migrate_is_repeatable(env: None) -> None:
    first = runner.invoke(app, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "up to date" in first.output
    assert runner.invoke(app, ["migrate"]).exit_code == 0


def test_token_create_prints_the_secret_alone_on_the_last_line(
    env: None, factory: sessionmaker[Session]
) -> None:
    result = runner.invoke(app, ["token", "create", "--role", "integration", "--label", "shop"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    with factory() as session:
        principal = auth.resolve(session, secret)
    assert principal is not None
    assert principal.role is Role.INTEGRATION


def test_member_token_needs_an_existing_member(env: None) -> None:
    missing = runner.invoke(app, ["token", "create", "--role", "member"])
    assert missing.exit_code == 2
    assert "member_required" in missing.output
    unknown = runner.invoke(app, ["token", "create", "--role", "member", "--member-id", "987654"])
    assert unknown.exit_code == 2
    assert "member_not_found" in unknown.output
    bad_role = runner.invoke(app, ["token", "create", "--role", "admin"])
    assert bad_role.exit_code != 0


def test_user_create_then_login(env: None, factory: sessionmaker[Session]) -> None:
    result = runner.invoke(
        app, ["user", "create", "--username", "ops"], input="correct horse\ncorrect horse\n"
    )
    assert result.exit_code == 0, result.output
    with factory() as session:
        assert auth.authenticate(session, username="ops", password="correct horse") is not None
        assert auth.authenticate(session, username="ops", password="wrong horse") is None
    weak = runner.invoke(app, ["user", "create", "--username", "weak", "--password", "short"])
    assert weak.exit_code == 2
    assert "weak_password" in weak.output
    dup = runner.invoke(app, ["user", "create", "--username", "ops", "--password", "another-pass"])
    assert "username_taken" in dup.output
    assert TEST_ACTOR.kind == "cli"


@pytest.mark.sqlite_only
def test_demo_builds_a_fresh_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "demo.db"
    path.write_bytes(b"an old demo database that must be replaced")
    result = runner.invoke(app, ["demo", "--no-serve", "--path", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("ngt_")
    assert "password" in result.output
    assert "/m/login?code=ngc_" in result.output
    assert "(user lanquan-shop, password" in result.output  # the demo shop's portal
    assert "/m/login?token=" not in result.output
    # The demo's own analytics store holds the seeded history, so its charts have data at once.
    with duckdb.connect(str(tmp_path / "demo-analytics.duckdb"), read_only=True) as store:
        days = store.execute("SELECT count(DISTINCT CAST(paid_at AS DATE)) FROM orders").fetchall()
    assert days[0][0] >= 28
    # Claims sit on the busiest links too, not only on the sample member's: the funnel's top links by
    # net GMV over the page's default range all have claims.
    demo = create_engine(f"sqlite:///{path}")
    try:
        with demo.connect() as conn:
            partner, zone = conn.execute(
                select(Program.id, Program.timezone).where(Program.code == "fenxiang-partners")
            ).one()
    finally:
        demo.dispose()
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    analytics = open_store(f"duckdb:///{tmp_path / 'demo-analytics.duckdb'}")
    try:
        top = reports.funnel(analytics, Span(partner, today - timedelta(days=89), today), by="link")[:10]
    finally:
        analytics.close()
    assert len(top) == 10
    assert all(row.claims > 0 for row in top), top


def test_serve_clears_the_metrics_directory_of_an_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_4242.db").write_bytes(b"stale")
    (shared / "keep.txt").write_text("not ours")
    served: dict[str, Any] = {}
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: served.update(options, target=target))
    result = runner.invoke(app, ["serve", "--workers", "3", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in shared.iterdir()) == ["keep.txt"]
    assert (served["target"], served["workers"], served["port"]) == ("neigou.web.app:create_app", 3, 8123)


def test_serve_with_workers_says_how_to_sum_their_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda target, **options: None)
    assert "PROMETHEUS_MULTIPROC_DIR" in runner.invoke(app, ["serve", "--workers", "2"]).output
    assert "PROMETHEUS_MULTIPROC_DIR" not in runner.invoke(app, ["serve"]).output


def test_analytics_refresh_copies_once(
    env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    monkeypatch.setenv("NEIGOU_ANALYTICS_URL", f"duckdb:///{tmp_path / 'cli.duckdb'}")
    get_settings.cache_clear()
    with transaction(factory) as session:
        program = programs.create_program(
            session,
            data=ProgramCreate(code="cli", name="CLI"),
            default_timezone="Asia/Shanghai",
            actor=TEST_ACTOR,
        ).id
    first = runner.invoke(app, ["analytics", "refresh"])
    assert first.exit_code == 0, first.output
    assert "programs\t1" in first.output.splitlines()
    assert program > 0
    close_all()
    second = runner.invoke(app, ["analytics", "refresh"])
    assert second.exit_code == 0, second.output
    assert "orders\t0" in second.output.splitlines()
    close_all()

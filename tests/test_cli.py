"""The command line: migrate, token create, user create, demo, serve."""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
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
from neigou.kit import jobs
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.jobs import JobRun
from neigou.kit.settings import DEV_SECRET_KEY, get_settings
from neigou.programs import service as programs
from neigou.programs.models import Program
from neigou.programs.schemas import ProgramCreate
from tests.cli_env import cli_environment
from tests.conftest import TEST_ACTOR, row_counts
from tests.connections import OpenConnections
from tests.demo_activity import out_of_order

runner = CliRunner()


@pytest.fixture
def env(database_url: str, engine: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    cli_environment(monkeypatch, database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "migrate": lambda _: ["migrate"],
    "token create": lambda _: ["token", "create", "--role", "integration"],
    "token sign-in-link": lambda _: ["token", "sign-in-link", "--member-id", "987654"],
    "user create": lambda _: ["user", "create", "--username", "ops", "--password", "correct horse"],
    "groups import-counts": lambda tmp: [
        "groups",
        "import-counts",
        _file(
            tmp / "counts.csv",
            "owner_member_id,group,member_count,observed_at\n987654,wx-1,300,2026-03-24T21:00:00+08:00\n",
        ),
    ],
    "products import": lambda tmp: [
        "products",
        "import",
        _file(tmp / "products.csv", "sku,title,price_yuan,commission_rate_bp\nA-1,商品一,1.00,100\n"),
    ],
    "orders import": lambda tmp: [
        "orders",
        "import",
        _file(
            tmp / "orders.csv",
            "external_id,program_id,customer_ref,link_code,paid_at,sku,quantity,"
            "unit_price_fen\nCSV-1,987654,c1,,2026-03-01T12:00:00+08:00,A-1,1,10000\n",
        ),
    ],
    "platforms import": lambda tmp: [
        "platforms",
        "import",
        _file(
            tmp / "jd.csv",
            "orderId,skuId,skuNum,estimateCosPrice,estimateFee,validCode,orderTime,modifyTime,subUnionId\n"
            "300001,100012,1,100.00,20.00,16,2026-03-24 12:00:00,2026-03-24 12:00:00,\n",
        ),
        "--integration",
        "987654",
        "--platform",
        "jd_union",
    ],
    "platforms poll": lambda _: [
        "platforms",
        "poll",
        "--integration",
        "987654",
        "--platform",
        "jd_union",
        "--url",
        "http://127.0.0.1:9/",
        "--app-key",
        "k",
        "--app-secret",
        "s",
    ],
    "tiers evaluate": lambda _: ["tiers", "evaluate", "--program-id", "987654", "--period", "2026-03"],
    "analytics refresh": lambda _: ["analytics", "refresh"],
}


def _file(path: Path, content: str) -> str:
    path.write_text(content, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_command_closes_its_connections_before_it_returns(
    command: str, env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGOU_ANALYTICS_URL", f"duckdb:///{tmp_path / 'cli.duckdb'}")
    # ``platforms poll`` calls 127.0.0.1:9, refused before the database is opened unless allowed.
    monkeypatch.setenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", "1")
    get_settings.cache_clear()
    args = COMMANDS[command](tmp_path)
    gc.collect()  # what earlier tests left to the collector goes now, not while this one runs
    with warnings.catch_warnings(record=True) as caught, OpenConnections() as connections:
        warnings.simplefilter("always", ResourceWarning)
        try:
            result = runner.invoke(app, args)
            left_open = connections.count  # a connection the collector may close later counts as open
        finally:
            close_all()
        # A connection dropped unclosed is reported by its driver (psycopg: "deleted while still open").
        gc.collect()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert connections.opened > 0, result.output  # the command did reach the database
    assert left_open == 0, result.output
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


@pytest.mark.parametrize("command", [name for name in COMMANDS if name != "migrate"])
def test_a_command_refuses_the_development_key_where_the_deployment_looks_like_production(
    command: str, env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, factory: sessionmaker[Session]
) -> None:
    """As ``neigou serve`` does: it would hash customers' phones and sign links with a key in the source."""
    monkeypatch.setenv("NEIGOU_PUBLIC_URL", "https://shop.example")
    monkeypatch.setenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", "1")  # ``platforms poll``: the key is checked first
    monkeypatch.delenv("NEIGOU_SECRET_KEY")
    get_settings.cache_clear()
    before = row_counts(factory)
    result = runner.invoke(app, COMMANDS[command](tmp_path))
    assert result.exit_code == 2, result.output
    assert "NEIGOU_SECRET_KEY is the development default" in result.output
    assert DEV_SECRET_KEY not in result.output
    assert row_counts(factory) == before
    migrated = runner.invoke(app, ["migrate"])  # the schema's command needs no key
    assert migrated.exit_code == 0, migrated.output


class _OneJobConsumer:
    """Stands in for huey's consumer of the Redis queue: runs one job through the worker's runner,
    then returns as the consumer does once it is told to stop."""

    def __init__(self, jobs_runner: jobs.JobRunner) -> None:
        self.jobs_runner = jobs_runner

    def run(self) -> None:
        assert self.jobs_runner.run("kit.purge_job_runs", key="worker-once", payload={}, at=utcnow())


def test_the_worker_closes_its_connections_once_its_consumer_stops(
    env: None, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEIGOU_JOBS_BACKEND", "redis")
    monkeypatch.setenv("NEIGOU_REDIS_URL", "redis://127.0.0.1:6379/0")  # queued on, never reached here
    monkeypatch.setattr(jobs.JobRunner, "consumer", lambda self, _threads, **_: _OneJobConsumer(self))
    get_settings.cache_clear()
    gc.collect()
    with warnings.catch_warnings(record=True) as caught, OpenConnections() as connections:
        warnings.simplefilter("always", ResourceWarning)
        result = runner.invoke(app, ["worker", "--threads", "1"])
        left_open = connections.count
        gc.collect()
    assert result.exit_code == 0, result.output
    assert connections.opened > 0
    assert left_open == 0
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
    with factory() as session:
        assert session.scalar(select(JobRun.key).where(JobRun.key == "worker-once")) == "worker-once"


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
    assert "'ops'" not in dup.output  # the username typed is not repeated
    long = runner.invoke(app, ["user", "create", "--username", "o" * 65, "--password", "another-pass"])
    assert long.exit_code == 2
    assert long.exception is None or isinstance(long.exception, SystemExit)  # no traceback
    assert "error [invalid_username]: Username must have at most 64 characters." in long.output
    assert "o" * 65 not in long.output
    named = [
        "user",
        "create",
        "--username",
        "named",
        "--password",
        "another-pass",
        "--display-name",
        "x" * 121,
    ]
    assert "invalid_display_name" in runner.invoke(app, named).output
    assert TEST_ACTOR.kind == "cli"


@pytest.mark.sqlite_only
def test_demo_builds_a_fresh_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # Built at 02:00 in the programs' zone (Asia/Shanghai), the last such hour: its activity still
    # falls in the shoppers' daytime hours.
    shanghai = ZoneInfo("Asia/Shanghai")
    night = utcnow().astimezone(shanghai).replace(hour=2, minute=0, second=0, microsecond=0)
    night = night if night <= utcnow() else night - timedelta(days=1)
    monkeypatch.setattr("neigou.cli.main.utcnow", lambda: night.astimezone(UTC))
    path = tmp_path / "demo.db"
    path.write_bytes(b"an old demo database that must be replaced")
    # The previous demo's job queue: its tasks would run against the new database.
    stale_jobs = jobs.make_huey("in-process", redis_url=None, jobs_path=str(tmp_path / "demo-jobs.db"))
    stale_jobs.storage.enqueue(b"a task of the previous demo")
    stale_jobs.storage.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"demo-jobs.db{suffix}").write_bytes(b"the previous demo queue's log")
    with OpenConnections() as connections:
        result = runner.invoke(app, ["demo", "--no-serve", "--path", str(path)])
    assert result.exit_code == 0, result.output
    assert connections.count == 0  # the seeding engine is disposed before the demo would serve
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("ngt_")
    assert "password" in result.output
    assert "/m/login?code=ngc_" in result.output
    assert "(user lanquan-shop, password" in result.output  # the demo shop's portal
    # The owner whose refund after payout the demo shows (a negative available balance, explained).
    assert re.search(r"/console/members/\d+/ledger .*refund after payout", result.output)
    assert "/m/login?token=" not in result.output
    assert [p.name for p in tmp_path.glob("demo-jobs.db*")] == []  # the new demo starts with no queue
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
        with Session(demo) as session:
            assert out_of_order(session) == {}
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

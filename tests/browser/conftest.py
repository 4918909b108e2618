"""A real server on a free port and Debian's headless Chromium driven by Playwright, on the demo world.

The demo world is seeded once per test process into a template SQLite file; each test gets a copy of
it (SQLite's backup API, a few milliseconds) as its own database, so a test may change anything. The
sign-in steps live here: ``sign_in`` (console) and ``member_sign_in`` (workspace)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld, seed
from neigou.kit.clock import utcnow
from neigou.kit.db import make_engine, make_session_factory, transaction
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import SECRET, app_settings

CHROMIUM = os.environ.get("NEIGOU_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("NEIGOU_TEST_ARTIFACTS", "test-artifacts"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


PASSWORD = "demo-password-1"  # the seeded operator's console password


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(settings: Settings, factory: sessionmaker[Session]) -> Iterator[tuple[str, FastAPI]]:
    """The app served by uvicorn on a background thread (on a free port), and the app itself."""
    port = _free_port()
    public = settings.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    app = create_app(public, session_factory=factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def live_server(served: tuple[str, FastAPI]) -> str:
    """The base URL of the served app."""
    return served[0]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium from the Debian package (browsers are never downloaded)."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install the Debian package 'chromium'")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class DemoTemplate:
    """A SQLite file holding the seeded demo world, and the world's ids and tokens."""

    path: Path
    world: DemoWorld
    built_at: datetime  # the ``now`` the world was seeded at


def _copy(source: Path, target: Path) -> None:
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
        pytest.skip("the demo world is a SQLite product (browser tests run on SQLite)")
    empty = make_url(database_url).database
    assert empty is not None
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    _copy(Path(empty), path)
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
    _copy(demo_template.path, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(demo_url: str, tmp_path: Path) -> Settings:
    """Settings of an app on this test's copy of the demo database."""
    return app_settings(demo_url, tmp_path)


@pytest.fixture
def factory(demo_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on this test's copy of the demo database."""
    demo_engine = make_engine(demo_url)
    yield make_session_factory(demo_engine)
    demo_engine.dispose()


@pytest.fixture
def world(demo_template: DemoTemplate) -> DemoWorld:
    """The demo programs, members, products, groups and orders (in this test's database)."""
    return demo_template.world


def submit_sign_in(page: Page, world: DemoWorld) -> None:
    """Fill in and send the console's sign-in form (the page shows it already)."""
    page.get_by_label("用户名").fill(world.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def sign_in(page: Page, live_server: str, world: DemoWorld, target: str | None = None) -> None:
    """Sign in to the console as the seeded operator, landing on ``target`` (default: the console's
    program list, awaited)."""
    page.goto(f"{live_server}/console/login" + (f"?next={target}" if target else ""))
    submit_sign_in(page, world)
    if target is None:
        expect(page.get_by_role("heading", name="分销计划")).to_be_visible()


def member_sign_in(page: Page, live_server: str, world: DemoWorld) -> None:
    """Open the member workspace as the demo's sample member (the one-time link ``neigou demo`` prints)."""
    page.goto(f"{live_server}/m/login?code={world.sample_member_sign_in_code}")

"""A real server on a free port and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld, seed
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import SECRET

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
def live_server(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    """The app served by uvicorn on a background thread."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, session_factory=factory), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


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


@pytest.fixture
def world(factory: sessionmaker[Session]) -> DemoWorld:
    """The demo programs, members, products, groups and orders, seeded into the test database."""
    with transaction(factory) as session:
        return seed(session, now=utcnow(), password=PASSWORD, secret_key=SECRET)


def submit_sign_in(page: Page, world: DemoWorld) -> None:
    """Fill in and send the console's sign-in form (the page shows it already)."""
    page.get_by_label("用户名").fill(world.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def sign_in(page: Page, live_server: str, world: DemoWorld, target: str | None = None) -> None:
    """Sign in to the console as the seeded operator, landing on ``target`` (default: the console)."""
    page.goto(f"{live_server}/console/login" + (f"?next={target}" if target else ""))
    submit_sign_in(page, world)

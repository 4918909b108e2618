"""A real server on a free port and Debian's headless Chromium driven by Playwright, on the demo world.

The demo world is seeded once per test run into a template SQLite file (``tests.demo_world``); each
test gets a copy of it (SQLite's backup API, a few milliseconds) as its own database, so a test may change
anything. The
sign-in steps live here: ``sign_in`` (console) and ``member_sign_in`` (workspace).

Chromium reads like the page's reader: every browser context is a Chinese reader's (``READER_LOCALE``:
``navigator.language``, ``Intl``, ``Accept-Language``) unless a test asks for another
(``browser.new_context(locale="en-US")`` for the English pages it reads), and date inputs are written
in the page's ``<html lang>`` (yyyy/mm/dd on a zh-CN page, mm/dd/yyyy on an English one), as a reader's
browser in that language writes them. Headless Chromium otherwise writes every date input as
mm/dd/yyyy, whatever the context's locale."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import TypeVar

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy.orm import Session, sessionmaker

from neigou.demo.seed import DemoWorld
from neigou.kit.db import make_engine, make_session_factory
from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests.conftest import app_settings
from tests.demo_world import PASSWORD, DemoTemplate

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
    # Date and time inputs in the language of the page (its <html lang>), not of the process (en-US).
    "--enable-blink-features=LangAttributeAwareFormControlUI",
]

READER_LOCALE = "zh-CN"  # the pages' default language (``kit.i18n.DEFAULT_LOCALE``)
T = TypeVar("T", BrowserContext, Page)


def _in_reader_locale(opens: Callable[..., T]) -> Callable[..., T]:
    """``Browser.new_context`` / ``Browser.new_page`` with ``READER_LOCALE`` when no locale is given."""

    @wraps(opens)
    def opened(self: Browser, *args: object, **kwargs: object) -> T:
        kwargs.setdefault("locale", READER_LOCALE)
        return opens(self, *args, **kwargs)

    return opened


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
    # uvicorn closes an idle keep-alive connection after 5 s by default; on a loaded machine a test's
    # steps between two requests of ``page.request`` take longer, and the second one, sent on the
    # connection as the server closes it, fails with ECONNRESET. A test outlives no 10-minute pause.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=600)
    server = uvicorn.Server(config)
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
    """Headless Chromium from the Debian package (browsers are never downloaded), whose new contexts
    and pages are in ``READER_LOCALE`` unless given a locale."""
    if shutil.which(CHROMIUM) is None and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; install the Debian package 'chromium'")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright, pytest.MonkeyPatch.context() as patch:
        patch.setattr(Browser, "new_context", _in_reader_locale(Browser.new_context))
        patch.setattr(Browser, "new_page", _in_reader_locale(Browser.new_page))
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


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
    page.get_by_test_id("sign-in").click()  # the link asks first
    page.wait_for_url(f"{live_server}/m/")

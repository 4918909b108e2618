"""No page can be framed (X-Frame-Options and CSP ``frame-ancestors``), and an https deployment
answers with Strict-Transport-Security."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from neigou.kit.settings import Settings
from neigou.web.app import create_app
from tests import aio


def test_pages_refuse_frames_and_https_asks_for_https_only(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    with TestClient(create_app(settings, session_factory=factory), follow_redirects=False) as browser:
        page = browser.get("/console/login")
        missing = browser.get("/console/no-such-page")
        api = browser.get("/healthz")
    for answer in (page, missing):
        assert answer.headers["content-type"].startswith("text/html")
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
        assert "strict-transport-security" not in answer.headers  # a plain-http deployment
    assert "x-frame-options" not in api.headers  # not a page
    https = settings.model_copy(update={"public_url": "https://shop.example", "trusted_hosts": "*"})
    with TestClient(create_app(https, session_factory=factory), follow_redirects=False) as browser:
        page = browser.get("/console/login")
        api = browser.get("/healthz")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert api.headers["strict-transport-security"] == "max-age=31536000"


def _https(settings: Settings) -> Settings:
    return settings.model_copy(update={"public_url": "https://shop.example", "trusted_hosts": "*"})


def test_a_failure_of_ours_carries_them_too(settings: Settings, factory: sessionmaker[Session]) -> None:
    """A 500 is made outside every middleware (Starlette's outermost layer runs the handler of
    ``Exception``): its page and its problem+json are marked all the same."""

    def explode() -> None:
        raise RuntimeError("a bug")

    app = create_app(_https(settings), session_factory=factory)
    app.add_api_route("/console/boom", explode)
    app.add_api_route("/api/v1/boom", explode)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as browser:
        page = browser.get("/console/boom")
        api = browser.get("/api/v1/boom")
    assert (page.status_code, api.status_code) == (500, 500)
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "x-frame-options" not in api.headers
    for answer in (page, api):
        assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_the_share_link_fast_path_asks_for_https_only(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    """The redirect of a cached code is answered ahead of every middleware: on an https deployment its
    302 carries HSTS itself; on a plain-http one it does not."""
    link = SimpleNamespace(id=1, program_id=1, member_id=1, active=True)
    clicks: list[object] = []
    runtime = SimpleNamespace(
        cache=SimpleNamespace(peek=lambda _code: (True, link)), clicks=SimpleNamespace(record=clicks.append)
    )

    async def redirect(app: ASGIApp) -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.example") as client:
            return await client.get("/l/abc123")

    answers = []
    for each in (_https(settings), settings.model_copy(update={"trusted_hosts": "*"})):
        app = create_app(each, session_factory=factory, start_jobs=False)
        app.state.links = runtime  # a cached, active code: the fast path answers (no lifespan runs)
        answers.append(aio.run(redirect(app)))
    https, plain = answers
    assert (https.status_code, https.headers["location"]) == (302, "/p/abc123")
    assert https.headers["strict-transport-security"] == "max-age=31536000"
    assert plain.status_code == 302
    assert "strict-transport-security" not in plain.headers
    assert len(clicks) == 2  # both answered by the fast path

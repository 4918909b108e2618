"""No page can be framed (X-Frame-Options and CSP ``frame-ancestors``), and an https deployment
answers with Strict-Transport-Security."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.web.app import create_app


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

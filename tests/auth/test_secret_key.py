"""A deployment that looks like production (an https public URL, or PostgreSQL) refuses to start with
the development secret key or a short one; elsewhere (``neigou demo``, SQLite over http) it warns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import uvicorn
from structlog.testing import capture_logs
from typer.testing import CliRunner

from neigou.cli.main import app
from neigou.kit import settings as settings_module
from neigou.kit.settings import (
    DEV_SECRET_KEY,
    MIN_SECRET_KEY_LENGTH,
    InsecureSecretKey,
    Settings,
    check_secret_key,
    get_settings,
)
from neigou.web.app import create_app

POSTGRES = "postgresql+psycopg://neigou@127.0.0.1:5432/neigou"
SHORT = "k" * (MIN_SECRET_KEY_LENGTH - 1)


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("key", [DEV_SECRET_KEY, SHORT])
@pytest.mark.parametrize(
    ("database_url", "public_url"),
    [(POSTGRES, "http://127.0.0.1:8000"), ("sqlite:///shop.db", "https://shop.example")],
    ids=["postgresql", "https"],
)
def test_production_refuses_a_weak_key(key: str, database_url: str, public_url: str) -> None:
    configured = Settings(secret_key=key, database_url=database_url, public_url=public_url)
    with pytest.raises(InsecureSecretKey, match="NEIGOU_SECRET_KEY") as refused:
        check_secret_key(configured)
    assert key not in str(refused.value)  # the key is never shown
    with pytest.raises(InsecureSecretKey):
        create_app(configured)  # refused before it opens anything


def test_production_takes_a_long_key() -> None:
    check_secret_key(Settings(database_url=POSTGRES, public_url="https://shop.example", secret_key="k" * 32))


def test_development_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_module, "_warned_of_weak_key", False)
    dev = Settings(database_url="sqlite:///demo.db", public_url="http://127.0.0.1:8000")
    assert dev.secret_key == DEV_SECRET_KEY
    with capture_logs() as logs:
        check_secret_key(dev)
        check_secret_key(dev.model_copy(update={"secret_key": SHORT}))
    assert [entry["event"] for entry in logs] == ["secret_key.weak"]


def test_serve_refuses_to_start_with_a_plain_message(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    served: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **_: served.append(target))
    monkeypatch.setenv("NEIGOU_PUBLIC_URL", "https://shop.example")
    monkeypatch.delenv("NEIGOU_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "NEIGOU_SECRET_KEY is the development default" in result.output
    assert served == []
    monkeypatch.setenv("NEIGOU_SECRET_KEY", "k" * 48)
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert served == ["neigou.web.app:create_app"]


def test_serve_trusts_the_proxies_configured(monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> None:
    """``NEIGOU_FORWARDED_ALLOW_IPS`` goes to uvicorn; unset, uvicorn's own FORWARDED_ALLOW_IPS applies."""
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda _, **options: served.append(options["forwarded_allow_ips"]))
    monkeypatch.delenv("NEIGOU_FORWARDED_ALLOW_IPS", raising=False)
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    monkeypatch.setenv("NEIGOU_FORWARDED_ALLOW_IPS", "10.0.0.5,10.1.0.0/16")
    get_settings.cache_clear()
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert served == [None, "10.0.0.5,10.1.0.0/16"]

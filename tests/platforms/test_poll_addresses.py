"""``neigou platforms poll`` holds its ``--url`` to the rule of every outbound call: a port no connection
can use is refused (``unsendable_url``), and so is a host that is ``localhost`` or a private IP literal
(``address_not_allowed``), before anything is opened, and a name that resolves to a private address is
refused when the call connects, nothing sent; ``NEIGOU_OUTBOUND_ALLOW_PRIVATE`` allows a platform
gateway on the deployment's own network. A refusal is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.kit.settings import get_settings
from tests.cli_env import cli_environment
from tests.orders.builders import World
from tests.platforms.stub import Stub, _jd
from tests.platforms.test_sync import stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name

# the stub platform listens on 127.0.0.1
pytestmark = pytest.mark.local_receivers


def _args(integration_id: int, url: str) -> list[str]:
    since = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
    return [
        "platforms",
        "poll",
        "--integration",
        str(integration_id),
        "--platform",
        "jd_union",
        "--url",
        url,
        "--since",
        since,
    ]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> pytest.MonkeyPatch:
    cli_environment(monkeypatch, database_url)
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_KEY", "app-key")
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_SECRET", "app-secret")
    monkeypatch.delenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", raising=False)
    get_settings.cache_clear()
    return monkeypatch


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://127.0.0.1:{port}/router", "address_not_allowed"),
        ("http://localhost:{port}/router", "address_not_allowed"),
        ("http://[::ffff:7f00:1]:{port}/router", "address_not_allowed"),
        ("http://169.254.169.254/latest/meta-data", "address_not_allowed"),
        ("https://platform.example:70000/router", "unsendable_url"),
        ("https://platform.example:0x/router", "unsendable_url"),
    ],
)
def test_a_refused_url_is_a_clear_error(
    env: pytest.MonkeyPatch, stub: Stub, world: tuple[World, int], url: str, code: str
) -> None:
    _, integration_id = world
    stub.answer = lambda _call: (200, _jd([]))
    typed = url.format(port=stub.server.server_port)
    result = CliRunner().invoke(cli, _args(integration_id, typed))
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.output
    assert f"error [{code}]: --url" in result.output
    assert "Traceback" not in result.output
    assert typed.split("//")[1].split("/")[0] not in result.output  # never the value typed
    assert stub.calls == []


def test_a_name_that_resolves_to_a_private_address_is_refused_when_called(
    env: pytest.MonkeyPatch, stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    stub.answer = lambda _call: (200, _jd([]))
    port = stub.server.server_port

    lookup = socket.getaddrinfo

    def resolved(host: str, at: int, *args: Any, **kw: Any) -> Any:
        if host != "platform.example":
            return lookup(host, at, *args, **kw)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", at))]

    env.setattr(socket, "getaddrinfo", resolved)  # what bounded_http.resolve asks
    url = f"http://platform.example:{port}/router"
    refused = CliRunner().invoke(cli, _args(integration_id, url))
    assert refused.exit_code == 1, refused.output
    assert isinstance(refused.exception, SystemExit), refused.output
    assert "error [platform]: AddressNotAllowed" in refused.output
    assert "Traceback" not in refused.output
    assert stub.calls == []  # nothing was sent, and the refusal was not retried with backoff

    env.setenv("NEIGOU_OUTBOUND_ALLOW_PRIVATE", "1")  # a gateway on the deployment's own network
    get_settings.cache_clear()
    allowed = CliRunner().invoke(cli, _args(integration_id, url))
    assert allowed.exit_code == 0, allowed.output
    assert stub.calls != []

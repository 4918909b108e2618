"""A deactivated integration's orders come in by no route: its signed webhook was refused, but a feed,
a poll and a file import still took its rows in."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.cli.main import app as cli
from neigou.integrations.models import Integration
from neigou.integrations.service import IntegrationInactive
from neigou.kit.settings import get_settings
from neigou.platforms.models import PlatformOrder
from neigou.platforms.rows import Platform
from tests.orders.builders import World
from tests.platforms.builders import jd_row
from tests.platforms.stub import Stub
from tests.platforms.test_sync import NOW, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name


def _deactivate(factory: sessionmaker[Session], integration_id: int) -> None:
    with factory.begin() as session:
        session.execute(update(Integration).where(Integration.id == integration_id).values(active=False))


def _stored(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(PlatformOrder)) or 0


def test_a_feed_for_a_deactivated_integration_is_refused_as_its_webhook_is(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: tuple[World, int]
) -> None:
    w, integration_id = world
    _deactivate(factory, integration_id)
    body = {"rows": [jd_row(600001, sub_union_id=w.link)]}
    for lang, told in (("en", "Unknown integration."), ("zh-CN", "对接方不存在或已停用。")):
        response = client.post(
            f"/api/v1/integrations/{integration_id}/feeds/jd_union",
            json=body,
            headers={**operator, "accept-language": lang},
        )
        assert response.status_code == 401, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (response.json()["code"], response.json()["detail"]) == ("bad_signature", told)
    assert _stored(factory) == 0
    missing = client.post("/api/v1/integrations/999999/feeds/jd_union", json=body, headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "integration_not_found")


def test_a_poll_for_a_deactivated_integration_is_refused_before_any_call(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    _deactivate(factory, integration_id)
    with pytest.raises(IntegrationInactive):
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW.replace(minute=0))
    assert stub.calls == []


@pytest.mark.parametrize("command", ["import", "poll"])
def test_the_commands_exit_2_for_a_deactivated_integration(  # noqa: PLR0917 - fixtures and parameters
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    factory: sessionmaker[Session],
    world: tuple[World, int],
    command: str,
) -> None:
    w, integration_id = world
    monkeypatch.setenv("NEIGOU_DATABASE_URL", database_url)
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_KEY", "app-key")
    monkeypatch.setenv("NEIGOU_PLATFORM_APP_SECRET", "app-secret")
    get_settings.cache_clear()
    _deactivate(factory, integration_id)
    row = jd_row(600002, sub_union_id=w.link)
    columns = ["orderId", "skuId", "skuNum", "estimateCosPrice", "estimateFee", "validCode", "orderTime"]
    path = tmp_path / "jd.csv"
    path.write_text("\n".join([",".join(columns), ",".join(str(row[c]) for c in columns)]), encoding="utf-8")
    where = [str(path)] if command == "import" else ["--url", "https://router.jd.com/api"]
    args = ["platforms", command, *where, "--integration", str(integration_id), "--platform", "jd_union"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    told = f"error [integration_inactive]: integration {integration_id} is deactivated"
    assert told in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert _stored(factory) == 0

"""A deactivated integration's orders come in by no route: its signed webhook was refused, but a feed,
a poll and a file import still took its rows in. A caller who may feed it is told why (403
``integration_inactive``); its signed webhook tells no more than of an unknown integration."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from neigou.auth.models import Role
from neigou.cli.main import app as cli
from neigou.integrations.models import Integration
from neigou.integrations.service import IntegrationInactive
from neigou.kit.settings import get_settings
from neigou.platforms.models import PlatformOrder
from neigou.platforms.rows import Platform
from tests.cli_env import cli_environment
from tests.conftest import TokenMaker, bearer, row_counts
from tests.orders.builders import World
from tests.organizations.builders import paid_data, send, tenant
from tests.platforms.builders import jd_row
from tests.platforms.stub import Stub
from tests.platforms.test_sync import NOW, _poll, stub, world

__all__ = ["stub", "world"]  # the fixtures, used by name
INACTIVE = {
    "en": "This integration is deactivated; its orders are not taken in.",
    "zh-CN": "该对接方已停用，不再接收其订单。",
}


def _deactivate(factory: sessionmaker[Session], integration_id: int) -> None:
    with factory.begin() as session:
        session.execute(update(Integration).where(Integration.id == integration_id).values(active=False))


def _stored(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(PlatformOrder)) or 0


def test_a_feed_for_a_deactivated_integration_is_refused_as_inactive(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: tuple[World, int]
) -> None:
    """It used to answer 401 ``bad_signature`` as the signed webhook does, to a call whose token holds."""
    w, integration_id = world
    _deactivate(factory, integration_id)
    body = {"rows": [jd_row(600001, sub_union_id=w.link)]}
    for lang, told in (("en", INACTIVE["en"]), ("zh-CN", INACTIVE["zh-CN"])):
        response = client.post(
            f"/api/v1/integrations/{integration_id}/feeds/jd_union",
            json=body,
            headers={**operator, "accept-language": lang},
        )
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (response.json()["code"], response.json()["detail"]) == ("integration_inactive", told)
    assert _stored(factory) == 0
    missing = client.post("/api/v1/integrations/999999/feeds/jd_union", json=body, headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "integration_not_found")


def test_who_hears_that_an_integration_is_deactivated(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    """Only a caller allowed to feed the integration: its organization's operators and integrations. A
    stranger, a member and another organization's tokens are refused as for an active one, and its
    signed webhook still says no more than of an unknown integration."""
    a = tenant(client, operator, make_token, "brand-a")
    b = tenant(client, operator, make_token, "brand-b")
    _deactivate(factory, a.integration_id)
    path = f"/api/v1/integrations/{a.integration_id}/feeds/jd_union"
    body = {"rows": [jd_row(600003, sub_union_id=a.link)]}
    shop_of_a, shop_of_b = (
        bearer(make_token(Role.INTEGRATION, organization_id=t.organization_id)) for t in (a, b)
    )
    callers = [
        ({}, 401, "unauthenticated"),
        (bearer(make_token(Role.MEMBER, member_id=a.member_id)), 403, "forbidden"),
        (b.headers, 404, "integration_not_found"),
        (shop_of_b, 404, "integration_not_found"),
        (a.headers, 403, "integration_inactive"),
        (shop_of_a, 403, "integration_inactive"),
        (operator, 403, "integration_inactive"),  # the platform's administrator
    ]
    before = row_counts(factory)
    for headers, status, code in callers:
        response = client.post(path, json=body, headers={**headers, "accept-language": "en"})
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert "deactivated" not in client.post(path, json=body, headers=b.headers).text
    webhook = send(client, a, "order.paid", paid_data(a, "WH-1", a.sku), "msg-1")
    assert (webhook.status_code, webhook.json()["code"]) == (401, "bad_signature")
    assert webhook.json()["detail"] == "对接方不存在或已停用。"
    assert row_counts(factory) == before


def test_a_poll_for_a_deactivated_integration_is_refused_before_any_call(
    factory: sessionmaker[Session], stub: Stub, world: tuple[World, int]
) -> None:
    _, integration_id = world
    _deactivate(factory, integration_id)
    with pytest.raises(IntegrationInactive) as refused:
        _poll(factory, stub, integration_id, Platform.JD_UNION, since=NOW.replace(minute=0))
    assert (refused.value.status, refused.value.code) == (403, "integration_inactive")
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
    cli_environment(monkeypatch, database_url)
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

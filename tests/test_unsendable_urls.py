"""A URL no attempt could ever send to (a port httpx does not parse, a host label the IDNA codec refuses)
is refused when it is given, 422 ``unsendable_url`` naming the field, by one shared check: the program's
alert robot, an integration's outbound URL and the CRM push target, through the API and the console
forms alike; nothing is stored. (A group's robot URL is held to the WeCom robot's own address.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.groups.webhook import UNSENDABLE, sendable
from tests.conftest import row_counts
from tests.console_url_forms import post_url_forms
from tests.factories import create_program
from tests.sign_in import console_sign_in

UNSENDABLE_URLS = [
    "https://host:0x/hooks?key=k",
    "https://a..b/hooks",
    "https://xn--/hooks",
    "https://" + "a" * 64 + ".example/hooks",
]
# Ports httpx parses but no TCP connection can use: 70000 would reach port 4464 (the resolver wraps it),
# the last one overflows the socket layer.
PORT_URLS = [
    "https://hooks.example:65536/hooks",
    "https://hooks.example:70000/hooks",
    "https://hooks.example:99999999999999999999/hooks",
    "http://[2001:db8::1]:70000/hooks",
]
SENDABLE_URLS = [
    "https://hooks.example:65535/hooks",
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    "http://127.0.0.1:8080/hooks",
    "http://[::1]:8080/hooks",
    "https://例子.测试/hooks",
]


@pytest.mark.parametrize("url", UNSENDABLE_URLS)
def test_what_the_check_refuses_httpx_refuses_to_send(url: str) -> None:
    assert not sendable(url)
    with pytest.raises(UNSENDABLE), httpx.Client(timeout=1.0) as client:
        client.post(url, json={})  # refused before any name is looked up


@pytest.mark.parametrize("url", PORT_URLS)
def test_a_port_past_65535_is_refused(url: str) -> None:
    assert not sendable(url)


def _configure(client: TestClient, operator: dict[str, str], program_id: int, url: str) -> dict[str, Any]:
    """The answers of the three settings that take an outbound URL, by field, each given ``url``."""
    return {
        "outbound_url": client.post(
            f"/api/v1/programs/{program_id}/integrations",
            json={"name": "品牌商城", "outbound_url": url},
            headers=operator,
        ),
        "webhook_url": client.put(
            f"/api/v1/programs/{program_id}/group-settings", json={"webhook_url": url}, headers=operator
        ),
        "target": client.put(
            f"/api/v1/programs/{program_id}/crm/settings",
            json={"channel": "webhook", "target": url},
            headers=operator,
        ),
    }


def test_the_api_refuses_a_port_past_65535_as_unsendable(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="port-past")
    before = row_counts(factory)
    for url in PORT_URLS:
        calls = _configure(client, operator, int(program["id"]), url)
        for field, answer in calls.items():
            problem = answer.json()
            assert answer.headers["content-type"] == "application/problem+json"
            # The push target is typed as a URL: its type refuses it first.
            if problem["code"] == "validation_error":
                assert answer.status_code == 422
                assert any(e["field"].split(".")[0] == field for e in problem["errors"]), problem
                continue
            seen = (answer.status_code, problem["code"], problem.get("field"))
            assert seen == (422, "unsendable_url", field), (url, field, problem)
            assert url.split("//")[1].split("/")[0] not in problem["detail"]
    assert row_counts(factory) == before


@pytest.mark.parametrize("url", SENDABLE_URLS)
def test_ordinary_urls_pass(url: str) -> None:
    assert sendable(url)


def test_the_api_refuses_unsendable_urls_with_the_field_named(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="unsendable")
    before = row_counts(factory)
    for url in UNSENDABLE_URLS:
        calls = _configure(client, operator, int(program["id"]), url)
        for field, answer in calls.items():
            problem = answer.json()
            # A field typed as a URL may refuse a bad port first (validation_error); a host like a..b
            # passes every such type and is refused by the shared check.
            if problem["code"] == "validation_error" and "a..b" not in url:
                assert answer.status_code == 422
                assert any(e["field"].split(".")[0] == field for e in problem["errors"]), problem
                continue
            seen = (answer.status_code, problem["code"], problem.get("field"))
            assert seen == (422, "unsendable_url", field), (url, field, problem)
            assert field in problem["detail"]
            assert answer.headers["content-type"] == "application/problem+json"
    zh = client.put(
        f"/api/v1/programs/{program['id']}/group-settings",
        json={"webhook_url": UNSENDABLE_URLS[1]},
        headers={**operator, "Accept-Language": "zh-CN"},
    )
    assert zh.json()["code"] == "unsendable_url"
    assert "无法" in zh.json()["detail"]
    assert row_counts(factory) == before


def test_the_console_forms_refuse_unsendable_urls_beside_the_field(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="unsendable-console")
    console_sign_in(client, factory)
    before = row_counts(factory)
    shop, crm = post_url_forms(
        client, program["id"], outbound_url="https://a..b/events", target="https://a..b/hook"
    )
    assert shop.status_code == 422
    assert 'data-testid="error-outbound_url"' in shop.text
    assert crm.status_code == 303
    assert "error=unsendable_url" in crm.headers["location"]
    shown = client.get(crm.headers["location"])
    assert 'data-testid="crm-error"' in shown.text
    assert "unsendable_url" not in shown.text.split('data-testid="crm-error">')[1][:200]
    assert row_counts(factory) == before

"""An outbound URL whose host is ``localhost`` or an IP literal that is no public address (loopback,
private, link-local, the cloud's metadata address, CGNAT, their IPv6 forms) is refused when it is given,
422 ``address_not_allowed`` naming the field and never quoting the URL, by the one shared check: the
program's alert robot, an integration's outbound URL and the CRM push target, through the API and the
console forms alike; nothing is stored, and who may set them is unchanged. A name is not looked up
then: one that resolves to a private address when the call is made fails that attempt with the same
fixed summary whether a port listens there or not. ``NEIGOU_OUTBOUND_ALLOW_PRIVATE`` allows them all
(an on-premise relay); these tests run with it off, as production does."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit import bounded_http
from neigou.kit.attempts import ADDRESS_NOT_ALLOWED
from neigou.web.app import create_app
from tests.conftest import TokenMaker, app_settings, bearer, page_client, row_counts
from tests.console_url_forms import post_url_forms
from tests.factories import create_program
from tests.orders.builders import build, order_body
from tests.sign_in import console_sign_in

PRIVATE_URLS = [
    "http://127.0.0.1:6379/",
    "http://localhost:5432/",
    "https://api.localhost/hooks",
    "http://[::1]:8080/hooks",
    "http://169.254.169.254/latest/api/token",
    "http://10.0.0.5/hooks",
    "http://192.168.1.20:8080/hooks",
    "http://100.64.0.1/hooks",
    "http://0x7f000001/hooks",
    "http://2130706433/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://[fe80::1]/hooks",
]
Call = Callable[[TestClient, int, str, dict[str, str]], Any]
CALLS: dict[str, Call] = {
    "outbound_url": lambda client, program_id, url, headers: client.post(
        f"/api/v1/programs/{program_id}/integrations",
        json={"name": "品牌商城", "outbound_url": url},
        headers=headers,
    ),
    "webhook_url": lambda client, program_id, url, headers: client.put(
        f"/api/v1/programs/{program_id}/group-settings", json={"webhook_url": url}, headers=headers
    ),
    "target": lambda client, program_id, url, headers: client.put(
        f"/api/v1/programs/{program_id}/crm/settings",
        json={"channel": "webhook", "target": url},
        headers=headers,
    ),
}


@pytest.mark.parametrize("field", CALLS)
def test_the_api_refuses_a_private_address_with_the_field_named_and_the_url_never_quoted(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], field: str
) -> None:
    program = create_program(client, operator, code="private")
    before = row_counts(factory)
    for url in PRIVATE_URLS:
        answer = CALLS[field](client, program["id"], url, operator)
        problem = answer.json()
        assert (answer.status_code, problem["code"], problem.get("field")) == (
            422,
            ADDRESS_NOT_ALLOWED,
            field,
        ), (
            url,
            problem,
        )
        assert answer.headers["content-type"] == "application/problem+json"
        assert problem["detail"].startswith(field)
        assert "公网" in problem["detail"]  # the reader's language (Chinese by default)
        host = url.split("//")[1].split("/")[0]
        assert host not in answer.text
    en = CALLS[field](client, program["id"], PRIVATE_URLS[4], {**operator, "Accept-Language": "en"})
    assert en.json()["code"] == ADDRESS_NOT_ALLOWED
    assert en.json()["detail"] == (
        f"{field}: this address is not a public Internet address; outbound calls go to public addresses only."
    )
    assert row_counts(factory) == before


@pytest.mark.parametrize("field", CALLS)
def test_who_may_set_a_url_is_unchanged_by_the_check(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, field: str
) -> None:
    """A caller who may not set the URL is refused as before, whatever the URL: never told about it."""
    program = create_program(client, operator, code="private-authz")
    member = client.post(
        f"/api/v1/programs/{program['id']}/members", json={"name": "成员"}, headers=operator
    ).json()
    elsewhere = client.post(
        "/api/v1/organizations", json={"code": "elsewhere", "name": "他租户"}, headers=operator
    )
    assert elsewhere.status_code == 201, elsewhere.text
    callers = {
        "anonymous": ({}, 401),
        "member": (bearer(make_token(Role.MEMBER, member_id=member["id"])), 403),
        "another organization's operator": (
            bearer(make_token(Role.OPERATOR, organization_id=elsewhere.json()["id"])),
            404,
        ),
    }
    for who, (headers, status) in callers.items():
        answer = CALLS[field](client, program["id"], PRIVATE_URLS[4], headers)
        assert answer.status_code == status, (who, answer.text)
        assert answer.json()["code"] != ADDRESS_NOT_ALLOWED
    assert CALLS[field](client, program["id"], "https://hooks.brand.example/x", operator).status_code in {
        200,
        201,
    }


def test_the_console_forms_refuse_a_private_address_beside_the_field(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, code="private-console")
    console_sign_in(client, factory)
    before = row_counts(factory)
    shop, crm = post_url_forms(
        client, program["id"], outbound_url="http://169.254.169.254/latest", target="http://localhost:6379/"
    )
    assert shop.status_code == 422
    assert 'data-testid="error-outbound_url"' in shop.text
    assert "169.254.169.254" not in shop.text.split('data-testid="error-outbound_url"')[1][:300]
    assert crm.status_code == 303
    assert f"error={ADDRESS_NOT_ALLOWED}" in crm.headers["location"]
    shown = client.get(crm.headers["location"])
    told = shown.text.split('data-testid="crm-error">')[1][:300]
    assert ADDRESS_NOT_ALLOWED not in told
    assert "公网" in told or "public" in told
    assert row_counts(factory) == before


def test_allowing_private_addresses_takes_them(
    database_url: str, tmp_path: Path, factory: sessionmaker[Session], operator: dict[str, str]
) -> None:
    """``NEIGOU_OUTBOUND_ALLOW_PRIVATE``: a relay on the deployment's own network may be configured."""
    settings = app_settings(database_url, tmp_path, local_receivers=True)
    assert settings.outbound_allow_private
    with page_client(create_app(settings, session_factory=factory)) as allowing:
        program = create_program(allowing, operator, code="relay")
        for field, call in CALLS.items():
            answer = call(allowing, program["id"], "http://127.0.0.1:8080/relay", operator)
            assert answer.status_code in {200, 201}, (field, answer.text)


def _resolving_to(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """Every name resolves to 127.0.0.1 (as a rebinding name does once the URL was accepted)."""

    def resolve(_host: str, _port: int, *, deadline: float) -> list[tuple[Any, ...]]:
        del deadline
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(bounded_http, "resolve", resolve)


def test_a_name_resolving_to_loopback_fails_the_delivery_the_same_whether_a_port_listens_or_not(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w = build(client, operator, factory)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        open_port = listener.getsockname()[1]
        with socket.socket() as gone:
            gone.bind(("127.0.0.1", 0))
            closed_port = gone.getsockname()[1]
        shown: list[tuple[object, object]] = []
        for number, port in enumerate((open_port, closed_port)):
            created = client.post(
                f"/api/v1/programs/{w.program_id}/integrations",
                json={
                    "name": f"品牌商城 {number}",
                    "outbound_url": f"http://shop-relay.example:{port}/hooks",
                },
                headers=operator,
            )
            assert created.status_code == 201, created.text  # a name: not looked up when it is given
            _resolving_to(monkeypatch, port)
            ordered = client.post("/api/v1/orders", json=order_body(w, f"REBIND-{number}"), headers=operator)
            assert ordered.status_code == 201, ordered.text
            listed = client.get(f"/api/v1/integrations/{created.json()['id']}/deliveries", headers=operator)
            assert listed.json(), listed.text
            shown.extend((d["last_http_status"], d["last_error"]) for d in listed.json())
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing ever connected
    assert set(shown) == {(None, ADDRESS_NOT_ALLOWED)}

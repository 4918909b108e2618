"""A push makes one share link per customer and product (``crm.pushes._link``), so a message's figures
are one shopper's behaviour. Once an opt-out erased the customer, their message counts only what came
through the link before ``erased_at``; the link stays active, so a shopper following it still lands on
the product (docs/privacy.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.campaigns import builders as fb
from tests.crm.push_builders import AT, PushWorld, push
from tests.links.builders import PHONE_UA

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("push_clock")]


def _click(client: TestClient, code: str) -> None:
    followed = client.get(f"/l/{code}", headers={"user-agent": PHONE_UA}, follow_redirects=False)
    assert (followed.status_code, followed.headers["location"]) == (302, f"/p/{code}")
    assert client.get(f"/p/{code}", headers={"user-agent": PHONE_UA}).status_code == 200
    assert client.app.state.links.flush() == 1  # type: ignore[attr-defined]


def _order(client: TestClient, operator: dict[str, str], world: PushWorld, code: str, n: int) -> None:
    order = {
        "external_id": f"through-push-link-{n}",
        "program_id": world.feed.program_id,
        "customer_ref": world.refs[world.wang],
        "link_code": code,
        "items": [{"sku": fb.TEE, "quantity": 1, "paid_fen": 5900}],
        "paid_at": (AT + timedelta(hours=n)).isoformat(),
    }
    made = client.post("/api/v1/orders", json=order, headers=operator)
    assert made.status_code == 201, made.text


def _figures(client: TestClient, world: PushWorld, push_id: int) -> dict[int, tuple[Any, ...]]:
    report = client.get(f"/api/v1/pushes/{push_id}", headers=world.feed.owner_headers)
    assert report.status_code == 200, report.text
    keys = ("clicks", "orders", "gmv_fen")
    return {m["customer_id"]: tuple(m[k] for k in keys) for m in report.json()["messages"]}


def test_an_opted_out_customers_push_link_reports_nothing_after_the_erasure(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    codes = {m["customer_id"]: m["link_code"] for m in made["messages"]}
    _click(client, codes[world.wang])
    _order(client, operator, world, codes[world.wang], 1)
    assert _figures(client, world, made["id"])[world.wang] == (1, 1, 5900)

    body = {"customer_ref": world.refs[world.wang], "request_id": "push-link-erase"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201
    _click(client, codes[world.wang])  # the link still leads to the product
    _order(client, operator, world, codes[world.wang], 2)  # the shopper, opted out, buys through it

    figures = _figures(client, world, made["id"])
    assert figures[world.wang] == (1, 1, 5900)  # what came before the erasure, nothing after
    assert figures[world.li] == (0, 0, 0)


def _program_figures(client: TestClient, operator: dict[str, str], world: PushWorld) -> tuple[Any, ...]:
    report = client.get(f"/api/v1/programs/{world.feed.program_id}/crm/figures", headers=operator)
    assert report.status_code == 200, report.text
    return tuple(report.json()[k] for k in ("clicks", "orders", "gmv_fen"))


def test_the_programs_push_totals_stop_at_the_erasure_as_the_messages_figures_do(
    client: TestClient, operator: dict[str, str], world: PushWorld
) -> None:
    made = push(client, world, customer_ids=[world.wang, world.li], skus=[fb.TEE])
    codes = {m["customer_id"]: m["link_code"] for m in made["messages"]}
    _click(client, codes[world.wang])
    _order(client, operator, world, codes[world.wang], 1)
    assert _program_figures(client, operator, world) == (1, 1, 5900)

    body = {"customer_ref": world.refs[world.wang], "request_id": "push-totals-erase"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201
    _click(client, codes[world.wang])
    _order(client, operator, world, codes[world.wang], 2)
    _click(client, codes[world.li])  # another customer's link still counts

    assert _program_figures(client, operator, world) == (2, 1, 5900)
    assert sum(f[0] for f in _figures(client, world, made["id"]).values()) == 2  # the same as the messages'

"""An external id names one order: a retry with the same terms answers the stored order, other terms
are refused with 409 ``external_id_reused`` (API, webhooks) or a row error (files); future paid_at in
a file is a ``time_in_future`` row error."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from neigou.orders import importer
from tests.conftest import SECRET, TEST_ACTOR, row_counts
from tests.orders.builders import PAID_AT, SKU, World, build, order_body, post_order


def _reused(response: Any) -> None:
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "external_id_reused"
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "change",
    [
        {"items": [{"sku": SKU, "quantity": 2, "paid_fen": 20_000}]},
        {"customer_ref": "shopper-2"},
        {"paid_at": (PAID_AT + timedelta(minutes=1)).isoformat()},
        {"link_code": None},
    ],
    ids=["lines", "customer", "paid_at", "link"],
)
def test_the_same_external_id_with_other_terms_is_409(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], change: dict[str, Any]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    body = order_body(w, "R-1", (SKU, 1, 10_000))
    first = post_order(client, operator, body)
    before = row_counts(factory)
    _reused(client.post("/api/v1/orders", json={**body, **change}, headers=operator))
    assert row_counts(factory) == before
    again = post_order(client, operator, body, status=200)
    assert again["id"] == first["id"]


def test_a_retry_with_the_same_instant_in_another_zone_is_the_same_order(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    body = order_body(w, "R-2", (SKU, 1, 10_000))
    first = post_order(client, operator, body)
    shanghai = PAID_AT.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    spaced = {**body, "paid_at": shanghai, "customer_ref": " shopper-1 "}
    assert post_order(client, operator, spaced, status=200)["id"] == first["id"]


def test_an_erased_customer_does_not_turn_a_retry_into_a_conflict(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    body = order_body(w, "R-3", (SKU, 1, 10_000))
    first = post_order(client, operator, body)
    out = client.post(
        "/api/v1/privacy/opt-outs", json={"customer_ref": "shopper-1", "request_id": "o-1"}, headers=operator
    )
    assert out.status_code in {200, 201}, out.text
    assert post_order(client, operator, body, status=200)["id"] == first["id"]


def test_a_webhook_reusing_an_external_id_is_409(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    shop = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    ).json()
    paid = {k: v for k, v in order_body(w, "WR-1", (SKU, 1, 10_000)).items() if k != "program_id"}

    def send(data: dict[str, Any], seconds_ago: int = 0) -> Any:
        raw = json.dumps({"type": "order.paid", "data": data}).encode()
        headers = signing.headers(shop["inbound_secret"], utcnow() - timedelta(seconds=seconds_ago), raw)
        return client.post(
            f"/webhooks/v1/integrations/{shop['id']}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )

    # Signed 30 s back: the redelivery below, signed now, never carries the same timestamp (and so the
    # same signature, a replay) however slowly the machine runs the calls between them.
    assert send(paid, seconds_ago=30).status_code == 201
    _reused(send({**paid, "items": [{"sku": SKU, "quantity": 3, "paid_fen": 30_000}]}))
    assert send(paid).status_code == 200  # a redelivery


def _file(w: World, path: Path, rows: list[tuple[str, str, int, str]]) -> Path:
    lines = ["external_id,program_id,customer_ref,link_code,paid_at,sku,quantity,paid_fen"]
    lines += [f"{e},{w.program_id},{c},{w.link},{at},{SKU},1,{fen}" for e, c, fen, at in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_file_reusing_an_external_id_or_dated_ahead_gets_row_errors(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    w = build(client, operator, factory, max_levels=2)
    at = PAID_AT.isoformat()
    ahead = (utcnow() + timedelta(days=8)).isoformat()
    post_order(client, operator, order_body(w, "F-1", (SKU, 1, 10_000)))
    # Consecutive rows with one external id are one order's lines, so the repeats come after others.
    rows = [
        ("F-1", "shopper-1", 10_000, at),  # the stored order again: a duplicate
        ("F-2", "c2", 10_000, at),
        ("F-1", "shopper-1", 99_000, at),  # the stored id with another amount
        ("F-3", "c3", 10_000, ahead),
        ("F-2", "c2", 12_000, at),  # this file's id again with another amount
    ]
    report = importer.import_file(
        factory, _file(w, tmp_path / "o.csv", rows), secret_key=SECRET, actor=TEST_ACTOR, batch_size=10
    )
    assert (report.imported, report.duplicates) == (1, 1)
    assert sorted((e.row, e.key, e.code) for e in report.errors) == [
        (4, "F-1", "external_id_reused"),
        (5, "F-3", "time_in_future"),
        (6, "F-2", "external_id_reused"),
    ]

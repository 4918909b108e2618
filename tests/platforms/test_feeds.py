"""Platform feeds through the API: rows become orders, completions and refunds, exactly once."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import row_counts
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, pdd_row, taobao_row
from tests.sign_in import console_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _order(client: TestClient, headers: dict[str, str], f: Feeds, external_id: object) -> dict[str, Any]:
    response = client.get(f"/api/v1/orders/{external_id}?program_id={f.w.program_id}", headers=headers)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def _amounts(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [(c["level"], c["amount_fen"]) for c in order["commissions"]]


def test_a_paid_jd_row_is_an_order_whose_pool_is_the_platform_fee(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    row = jd_row(sub_union_id=world.w.link, paid="100.00", fee="20.00")
    assert feed(client, operator, world.integration_id, "jd_union", [row]) == {
        "created": 1,
        "updated": 0,
        "refunds": 0,
        "skipped": [],
    }
    order = _order(client, operator, world, 300001)
    assert (order["member_id"], order["paid_fen"]) == (world.w.seller, 10_000)
    # pool 2000 fen: seller 20% share, owner 5% and mentor 10% override
    assert _amounts(order) == [(1, 400), (2, 100), (3, 200)]
    before = row_counts(factory)
    assert feed(client, operator, world.integration_id, "jd_union", [row, row])["created"] == 0
    assert row_counts(factory) == before
    assert_ledger_balanced(factory)


def test_jd_rows_in_any_order_and_repeated_end_in_one_state(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link = world.w.link
    paid = jd_row(sku_num=2, sub_union_id=link)
    completed = jd_row(
        sku_num=2, valid_code=17, sub_union_id=link, modified=timedelta(days=2), finished=timedelta(days=2)
    )
    returned = jd_row(
        sku_num=2,
        returned=1,
        valid_code=17,
        sub_union_id=link,
        modified=timedelta(days=3),
        finished=timedelta(days=2),
    )
    first = feed(client, operator, world.integration_id, "jd_union", [returned, paid])
    assert (first["created"], first["refunds"]) == (1, 1)
    again = feed(client, operator, world.integration_id, "jd_union", [completed, paid, returned])
    assert again == {"created": 0, "updated": 0, "refunds": 0, "skipped": []}
    order = _order(client, operator, world, 300001)
    assert (order["refunded_fen"], order["completed_at"] is not None) == (5000, True)
    assert [(c["amount_fen"], c["reversed_fen"]) for c in order["commissions"]] == [
        (400, 200),
        (100, 50),
        (200, 100),
    ]
    assert_ledger_balanced(factory)


def test_a_later_row_moves_the_order_forward_and_invalid_refunds_it_all(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link = world.w.link
    feed(client, operator, world.integration_id, "jd_union", [jd_row(sub_union_id=link)])
    done = jd_row(valid_code=17, sub_union_id=link, modified=timedelta(days=1), finished=timedelta(days=1))
    assert feed(client, operator, world.integration_id, "jd_union", [done])["updated"] == 1
    assert _order(client, operator, world, 300001)["commission_state"] == "frozen"
    cancelled = jd_row(valid_code=13, sub_union_id=link, modified=timedelta(days=2))
    out = feed(client, operator, world.integration_id, "jd_union", [cancelled])
    assert (out["updated"], out["refunds"]) == (1, 1)
    order = _order(client, operator, world, 300001)
    assert order["refunded_fen"] == 10_000
    assert all(c["reversed_fen"] == c["amount_fen"] for c in order["commissions"])
    # the stale paid row changes nothing
    assert (
        feed(client, operator, world.integration_id, "jd_union", [jd_row(sub_union_id=link)])["updated"] == 0
    )
    assert_ledger_balanced(factory)


def test_rows_that_cannot_be_mapped_are_reported_and_the_rest_go_in(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    link = world.w.link
    rows: list[Any] = [
        jd_row(300010, sub_union_id=link),
        jd_row(300011, paid="12.345", sub_union_id=link),
        {**jd_row(300012), "orderId": None},
        "not a row",
        jd_row(300013, valid_code=15, sub_union_id=link),
        jd_row(300014, valid_code=3, sub_union_id=link),
        jd_row(300015, sub_union_id="no-such-link"),
        {**jd_row(300016, sub_union_id=link), "orderTime": "2099-01-01 00:00:00"},
        jd_row(300017, valid_code=-1),
    ]
    out = feed(client, operator, world.integration_id, "jd_union", rows)
    assert out["created"] == 1
    assert [(s["index"], s["reason"]) for s in out["skipped"]] == [
        (1, "invalid_amount"),
        (2, "missing_field"),
        (3, "invalid_row"),
        (4, "not_paid"),
        (5, "invalid"),
        (6, "unknown_link"),
        (7, "future_time"),
        (8, "unknown_status"),
    ]
    assert all(s["message"] for s in out["skipped"])


def test_an_order_without_a_sub_id_goes_in_unattributed(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    feed(client, operator, world.integration_id, "jd_union", [jd_row(300020)])
    order = _order(client, operator, world, 300020)
    assert (order["member_id"], order["commissions"]) == (None, [])


def test_pdd_orders_with_the_link_in_custom_parameters(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    custom = json.dumps({"uid": world.w.link, "sid": "group-7"})
    out = feed(client, operator, world.integration_id, "pdd", [pdd_row(custom=custom)])
    assert out["created"] == 1
    order = _order(client, operator, world, "261101-000000001")
    assert order["paid_fen"] == 2490
    assert _amounts(order) == [(1, 99), (2, 24), (3, 49)]  # floor of 498 × 20%, 5%, 10%
    settled = pdd_row(status=5, custom=custom, modified=timedelta(days=10))
    assert feed(client, operator, world.integration_id, "pdd", [settled])["updated"] == 1
    assert _order(client, operator, world, "261101-000000001")["completed_at"] is not None
    failed = pdd_row(status=4, custom=custom, modified=timedelta(days=11))
    assert feed(client, operator, world.integration_id, "pdd", [failed])["refunds"] == 1
    assert _order(client, operator, world, "261101-000000001")["refunded_fen"] == 2490
    assert_ledger_balanced(factory)


def test_taobao_sub_orders_are_lines_of_one_order(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link = world.w.link
    rows = [
        taobao_row("1800000000000000001", relation_id=link, paid="59.00", fee="5.90"),
        taobao_row("1800000000000000002", relation_id=link, paid="41.00", fee="4.10"),
    ]
    assert feed(client, operator, world.integration_id, "taobao", rows)["created"] == 1
    order = _order(client, operator, world, "1800000000000000000")
    assert (order["paid_fen"], len(order["lines"])) == (10_000, 2)
    assert _amounts(order) == [(1, 118 + 82), (2, 29 + 20), (3, 59 + 41)]
    closed = taobao_row(
        "1800000000000000002",
        status=13,
        relation_id=link,
        paid="41.00",
        fee="4.10",
        modified=timedelta(days=1),
    )
    assert feed(client, operator, world.integration_id, "taobao", [closed])["refunds"] == 1
    assert _order(client, operator, world, "1800000000000000000")["refunded_fen"] == 4100
    assert_ledger_balanced(factory)


def test_reconciliation_lists_every_order_with_the_cause_of_its_difference(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    link = world.w.link
    settled = jd_row(
        300030,
        valid_code=17,
        sub_union_id=link,
        finished=timedelta(days=2),
        modified=timedelta(days=9),
        pay_month="20260310",
        actual_fee="20.00",
    )
    rows = [
        jd_row(300031, sub_union_id=link),
        jd_row(300032, sub_union_id="no-such-link"),
        jd_row(300033, sub_union_id=link),
        settled,
    ]
    feed(client, operator, world.integration_id, "jd_union", rows)
    # the platform settles 300033 for less than it estimated
    later = jd_row(
        300033,
        valid_code=17,
        sub_union_id=link,
        finished=timedelta(days=2),
        modified=timedelta(days=9),
        pay_month="20260310",
        actual_fee="18.00",
    )
    feed(client, operator, world.integration_id, "jd_union", [later])
    url = f"/api/v1/programs/{world.w.program_id}/reconciliation?platform=jd_union&month=2026-03"
    response = client.get(url, headers=operator)
    assert response.status_code == 200, response.text
    body = response.json()
    got = {
        r["external_id"]: (
            r["platform_commission_fen"],
            r["ledger_commission_fen"],
            r["diff_fen"],
            r["cause"],
        )
        for r in body["rows"]
    }
    assert got == {
        "300030": (2000, 2000, 0, None),
        "300031": (2000, 2000, 0, None),
        "300032": (2000, 0, 2000, "missing"),
        "300033": (1800, 2000, -200, "amount"),
    }
    assert body["diff_fen"] == 1800
    other_month = client.get(url.replace("2026-03", "2026-04"), headers=operator).json()
    assert other_month["rows"] == []
    sheet = client.get(url.replace("reconciliation?", "reconciliation.xlsx?"), headers=operator)
    assert sheet.status_code == 200
    book = load_workbook(io.BytesIO(sheet.content))
    values = list(book.active.values)  # type: ignore[union-attr]
    assert values[0][0] == "external_id"
    assert sorted(str(v[0]) for v in values[1:]) == ["300030", "300031", "300032", "300033"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 422, "validation_error"),
        (b'{"rows": {}}', 422, "validation_error"),
        (b'{"rows": [], "extra": 1}', 422, "validation_error"),
        (b'{"rows": [' + b",".join([b"{}"] * 1001) + b"]}", 422, "too_many_rows"),
    ],
)
def test_a_body_of_another_shape_is_refused(  # noqa: PLR0917 - fixtures and parameters
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: Feeds,
    body: bytes,
    status: int,
    code: str,
) -> None:
    before = row_counts(factory)
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=body,
        headers={**operator, "content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert row_counts(factory) == before


def test_unknown_platform_and_integration(client: TestClient, operator: dict[str, str], world: Feeds) -> None:
    assert (
        client.post(
            f"/api/v1/integrations/{world.integration_id}/feeds/amazon", json={"rows": []}, headers=operator
        ).status_code
        == 422
    )
    missing = client.post("/api/v1/integrations/999999/feeds/pdd", json={"rows": []}, headers=operator)
    assert (missing.status_code, missing.json()["code"]) == (404, "integration_not_found")


def test_console_shows_the_differences_first_and_exports_them(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    rows = [jd_row(300040, sub_union_id=world.w.link), jd_row(300041, sub_union_id="no-such-link")]
    feed(client, operator, world.integration_id, "jd_union", rows)
    anonymous = client.get(f"/console/programs/{world.w.program_id}/reconciliation", follow_redirects=False)
    assert anonymous.status_code in {303, 401}
    console_sign_in(client, factory)
    page = client.get(
        f"/console/programs/{world.w.program_id}/reconciliation?platform=jd_union&month=2026-03"
    )
    assert page.status_code == 200
    causes = re.findall(r'data-testid="reconciliation-row" data-cause="([a-z]*)"', page.text)
    assert causes == ["missing", ""]
    assert "300041" in page.text
    english = client.get(
        f"/console/programs/{world.w.program_id}/reconciliation?platform=jd_union&month=2026-03&lang=en"
    )
    assert "Missing in neigou" in english.text
    sheet = client.get(
        f"/console/programs/{world.w.program_id}/reconciliation.xlsx?platform=jd_union&month=2026-03"
    )
    assert sheet.status_code == 200
    assert len(list(load_workbook(io.BytesIO(sheet.content)).active.values)) == 3  # type: ignore[union-attr]

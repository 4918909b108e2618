"""What later rows of a platform order say: a line refused after the order was taken in is still the
platform's (reconciliation counts it), an order first seen unpaid is paid when its first paid row says,
its link code follows a later row while it is not an order yet, and ids written another way are one
order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import BEIJING
from tests.conftest import row_counts
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _reconciliation(client: TestClient, operator: dict[str, str], f: Feeds, platform: str, month: str) -> Any:
    response = client.get(
        f"/api/v1/programs/{f.w.program_id}/reconciliation?platform={platform}&month={month}",
        headers=operator,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _row(report: Any, external_id: str) -> dict[str, Any]:
    (row,) = [r for r in report["rows"] if r["external_id"] == external_id]
    return dict(row)


def _order(client: TestClient, operator: dict[str, str], f: Feeds, external_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/orders/{external_id}?program_id={f.w.program_id}", headers=operator)
    assert response.status_code == 200, response.text
    out: dict[str, Any] = response.json()
    return out


def test_a_line_refused_after_its_order_was_taken_in_shows_in_reconciliation(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link = world.w.link
    first = jd_row(770001, 1, paid="100.00", fee="20.00", sub_union_id=link)
    assert feed(client, operator, world.integration_id, "jd_union", [first])["created"] == 1
    late = jd_row(770001, 2, paid="300.00", fee="60.00", sub_union_id=link)
    out = feed(client, operator, world.integration_id, "jd_union", [late])
    assert [s["reason"] for s in out["skipped"]] == ["line_after_order"]
    assert (out["created"], out["updated"]) == (0, 0)
    row = _row(_reconciliation(client, operator, world, "jd_union", "2026-03"), "770001")
    assert (row["platform_commission_fen"], row["ledger_commission_fen"]) == (8000, 2000)
    assert (row["diff_fen"], row["cause"]) == (6000, "missing_line")
    # the neigou order stays as it was taken in; a repeat of the late row changes nothing
    assert _order(client, operator, world, "770001")["paid_fen"] == 10_000
    before = row_counts(factory)
    again = feed(client, operator, world.integration_id, "jd_union", [late])
    assert [s["reason"] for s in again["skipped"]] == ["line_after_order"]
    assert row_counts(factory) == before
    # the late line completing does not complete the order the platform's other line is in
    done = jd_row(
        770001, 2, valid_code=17, sub_union_id=link, paid="300.00", fee="60.00", modified=timedelta(1)
    )
    feed(client, operator, world.integration_id, "jd_union", [done])
    assert _order(client, operator, world, "770001")["completed_at"] is None
    assert (
        _row(_reconciliation(client, operator, world, "jd_union", "2026-03"), "770001")["cause"]
        == "missing_line"
    )
    assert_ledger_balanced(factory)


def _beijing(day: int, hour: int, minute: int, *, month: int) -> int:
    return int(datetime(2026, month, day, hour, minute, tzinfo=BEIJING).timestamp())


def test_an_order_first_seen_unpaid_is_paid_in_the_month_its_paid_row_says(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    created, paid = _beijing(31, 23, 59, month=10), _beijing(1, 0, 5, month=11)
    unpaid = {
        **pdd_row("261031-000000001", status=-1, custom=world.w.link),
        "order_create_time": created,
        "order_pay_time": None,
        "order_modify_at": created,
    }
    out = feed(client, operator, world.integration_id, "pdd", [unpaid])
    assert [s["reason"] for s in out["skipped"]] == ["not_paid"]
    row = {**unpaid, "order_status": 0, "order_pay_time": paid, "order_modify_at": paid}
    assert feed(client, operator, world.integration_id, "pdd", [row])["created"] == 1
    order = _order(client, operator, world, "261031-000000001")
    assert datetime.fromisoformat(order["paid_at"]) == datetime(2026, 10, 31, 16, 5, tzinfo=UTC)
    assert order["member_id"] == world.w.seller
    november = _reconciliation(client, operator, world, "pdd", "2026-11")
    assert _row(november, "261031-000000001")["cause"] is None
    october = _reconciliation(client, operator, world, "pdd", "2026-10")
    assert "261031-000000001" not in {r["external_id"] for r in october["rows"]}


def test_a_link_code_on_a_later_row_attributes_the_order_not_taken_in_yet(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    link = world.w.link
    out = feed(client, operator, world.integration_id, "jd_union", [jd_row(770010, valid_code=15)])
    assert [s["reason"] for s in out["skipped"]] == ["not_paid"]
    paid = jd_row(770010, sub_union_id=link, modified=timedelta(minutes=1))
    assert feed(client, operator, world.integration_id, "jd_union", [paid])["created"] == 1
    assert _order(client, operator, world, "770010")["member_id"] == world.w.seller
    # in one batch: the newest row of the line lacks the code an older row carries
    taobao = [taobao_row("770021", parent="770020", modified=timedelta(minutes=1))]
    taobao.append(taobao_row("770021", parent="770020", relation_id=link))
    assert feed(client, operator, world.integration_id, "taobao", taobao)["created"] == 1
    assert _order(client, operator, world, "770020")["member_id"] == world.w.seller


def test_an_order_id_written_several_ways_is_one_order(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link = world.w.link
    base = jd_row(770030, 5, sub_union_id=link)
    assert feed(client, operator, world.integration_id, "jd_union", [base])["created"] == 1
    for written in ("７７００30", "0770030", " 770030"):
        out = feed(
            client, operator, world.integration_id, "jd_union", [{**base, "orderId": written, "skuId": "05"}]
        )
        assert (out["created"], out["skipped"]) == (0, [])
    refused = feed(client, operator, world.integration_id, "jd_union", [{**base, "orderId": 770030.0}])
    assert [(s["reason"], s["message"]) for s in refused["skipped"]] == [
        ("invalid_field", "The field orderId must be an id written in digits.")
    ]
    with factory() as session:
        orders = session.scalar(
            select(func.count(PlatformOrder.id)).where(
                PlatformOrder.program_id == world.w.program_id, PlatformOrder.external_id.like("%770030%")
            )
        )
        lines = session.scalar(
            select(func.count(PlatformOrderLine.id))
            .join(PlatformOrder, PlatformOrder.id == PlatformOrderLine.platform_order_id)
            .where(PlatformOrder.program_id == world.w.program_id, PlatformOrder.external_id == "770030")
        )
    assert (orders, lines) == (1, 1)


def test_a_pdd_link_code_is_read_without_surrounding_spaces_as_jds_is(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    custom = json.dumps({"uid": f" {world.w.link} ", "sid": "group-7"})
    out = feed(client, operator, world.integration_id, "pdd", [pdd_row("261101-000000777", custom=custom)])
    assert (out["created"], out["skipped"]) == (1, [])
    assert _order(client, operator, world, "261101-000000777")["member_id"] == world.w.seller

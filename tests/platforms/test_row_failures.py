"""A feed's row that fails is skipped alone with its reason, never a 500 for the whole body: a required
time written 0 (the platforms' "not yet"), a row an adapter fails on unexpectedly, a number no decimal
holds; and JD's settled code 18 is a settlement, never a refund."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.platforms import adapters
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import LineStatus, Platform
from tests.conftest import row_counts
from tests.orders.builders import PAID_AT, assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, order_of, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _skips(out: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(s["index"], s["reason"], s["message"]) for s in out["skipped"]]


def _zero_pdd() -> dict[str, Any]:
    return {
        **pdd_row("261101-000000092", status=-1),
        "order_pay_time": 0,
        "order_create_time": 0,
        "order_modify_at": 0,
    }


def _zero_taobao() -> dict[str, Any]:
    row = taobao_row("1800000000000000092")
    del row["tk_paid_time"]
    return {**row, "tk_create_time": "0"}


@pytest.mark.parametrize(
    ("platform", "good", "zero", "field"),
    [
        ("jd_union", jd_row(350001), {**jd_row(350002), "orderTime": "0"}, "orderTime"),
        ("jd_union", jd_row(350001), {**jd_row(350002), "orderTime": 0}, "orderTime"),
        ("taobao", taobao_row("1800000000000000091"), _zero_taobao(), "tk_create_time"),
        ("pdd", pdd_row("261101-000000091"), _zero_pdd(), "order_modify_at"),
    ],
)
def test_a_required_time_written_0_skips_its_row_missing_field(  # noqa: PLR0917 - fixtures and parameters
    client: TestClient,
    operator: dict[str, str],
    world: Feeds,
    platform: str,
    good: dict[str, Any],
    zero: dict[str, Any],
    field: str,
) -> None:
    """0 is the platforms' "not yet": for a time the row must hold it is a missing field (it reached an
    assertion, a 500 to the feed and a poller stuck on that row's window)."""
    out = feed(client, operator, world.integration_id, platform, [good, zero])
    assert _skips(out) == [(1, "missing_field", f"The field {field} is missing.")]


def test_a_row_an_adapter_fails_on_unexpectedly_is_skipped_alone_and_logged_without_its_values(
    client: TestClient,
    operator: dict[str, str],
    world: Feeds,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    read = adapters.READERS[Platform.JD_UNION]
    secret_code = "lnk-7f3a9c"

    def failing(index: int, row: Mapping[str, Any], now: Any) -> Any:
        if row["subUnionId"] == secret_code:
            raise KeyError(f"no {secret_code} in {row['orderId']}")  # a bug quoting the row
        return read(index, row, now)

    monkeypatch.setitem(adapters.READERS, Platform.JD_UNION, failing)
    rows = [jd_row(3500030003, sub_union_id=secret_code), jd_row(3500040004, sub_union_id=world.w.link)]
    capsys.readouterr()
    out = feed(client, operator, world.integration_id, "jd_union", rows)
    assert out["created"] == 1
    assert _skips(out) == [(0, "unreadable_row", "The row could not be read.")]
    logged = capsys.readouterr().err
    assert logged.count("platforms.row_unreadable") == 1
    assert "KeyError" in logged
    for value in (secret_code, "3500030003", "3500040004"):
        assert value not in logged


@pytest.mark.parametrize("number", [b"1e999999999999999999999999999", b"1.5e-99999999999999999999"])
def test_a_number_no_decimal_holds_is_a_422_not_a_500(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds, number: bytes
) -> None:
    before = row_counts(factory)
    body = b'{"rows": [{"orderId": 350005, "estimateCosPrice": ' + number + b"}]}"
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=body,
        headers={**operator, "content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert row_counts(factory) == before


def _line(factory: sessionmaker[Session], external_id: str) -> tuple[LineStatus, Any, Any]:
    with factory() as session:
        row = session.execute(
            select(PlatformOrderLine.status, PlatformOrderLine.settled_at, PlatformOrderLine.refunded_fen)
            .join(PlatformOrder, PlatformOrder.id == PlatformOrderLine.platform_order_id)
            .where(PlatformOrder.external_id == external_id)
        ).one()
    return row[0], row[1], row[2]


def test_jd_paid_completed_then_settled_18_never_refunds(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """18 (已结算) was read as an invalid code: a settled order was refunded in full and its
    commission clawed back."""
    link = world.w.link
    feed(client, operator, world.integration_id, "jd_union", [jd_row(350006, sub_union_id=link)])
    done = jd_row(
        350006, valid_code=17, sub_union_id=link, modified=timedelta(days=2), finished=timedelta(days=2)
    )
    assert feed(client, operator, world.integration_id, "jd_union", [done])["updated"] == 1
    settled = jd_row(
        350006,
        valid_code=18,
        sub_union_id=link,
        modified=timedelta(days=20),
        finished=timedelta(days=2),
        actual_fee="20.00",
        pay_month="20260420",
    )
    out = feed(client, operator, world.integration_id, "jd_union", [settled])
    assert (out["refunds"], out["skipped"]) == (0, [])
    order = order_of(client, operator, world, 350006)
    assert order["refunded_fen"] == 0
    assert all(c["reversed_fen"] == 0 for c in order["commissions"])
    # settled on payMonth, at Beijing midnight
    assert _line(factory, "350006") == (LineStatus.SETTLED, datetime(2026, 4, 19, 16, tzinfo=UTC), 0)
    assert_ledger_balanced(factory)


def test_jd_order_first_seen_settled_18_is_taken_in_settled(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """An order first seen as 18 was skipped as invalid and never seen paid; without ``payMonth`` it
    settled when the row last changed."""
    row = jd_row(
        350007, valid_code=18, sub_union_id=world.w.link, modified=timedelta(days=15), actual_fee="18.00"
    )
    out = feed(client, operator, world.integration_id, "jd_union", [row])
    assert (out["created"], out["refunds"], out["skipped"]) == (1, 0, [])
    order = order_of(client, operator, world, 350007)
    assert (order["refunded_fen"], order["completed_at"] is not None) == (0, True)
    assert _line(factory, "350007") == (LineStatus.SETTLED, PAID_AT + timedelta(days=15), 0)
    assert_ledger_balanced(factory)

"""Rows without a modification time (an export without JD's ``modifyTime``, 多多进宝's
``order_modify_at``, 淘宝联盟's ``modified_time``) are all dated by the order's payment, so which came
later cannot be told: one that only moves its line forward (more units returned, a lower paid amount)
is taken, one that would move it back is not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, order_of, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _untimed(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("modifyTime", "order_modify_at", "modified_time")}


def test_a_partial_return_without_a_modification_time_is_refunded_and_never_taken_back(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    """The review's reproduction: two rows of one line, neither with ``modifyTime``, the second
    returning one unit of two. It was dropped (only a strictly newer row applied): no refund."""
    link = world.w.link
    bought = _untimed(jd_row(780001, 100001, sku_num=2, sub_union_id=link))
    returned = _untimed(jd_row(780001, 100001, sku_num=2, returned=1, sub_union_id=link))
    assert feed(client, operator, world.integration_id, "jd_union", [bought])["created"] == 1
    out = feed(client, operator, world.integration_id, "jd_union", [returned])
    assert (out["updated"], out["refunds"], out["skipped"]) == (1, 1, [])
    assert order_of(client, operator, world, 780001)["refunded_fen"] == 5000
    # the first row again (a repeated export) does not take the return back, nor refund again
    again = feed(client, operator, world.integration_id, "jd_union", [bought, returned, bought])
    assert (again["updated"], again["refunds"]) == (0, 0)
    assert order_of(client, operator, world, 780001)["refunded_fen"] == 5000


def test_rows_of_one_feed_without_a_modification_time_keep_the_furthest(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    """Both rows in one body, the return first: the line keeps the return."""
    link = world.w.link
    bought = _untimed(jd_row(780002, 100001, sku_num=2, sub_union_id=link))
    returned = _untimed(jd_row(780002, 100001, sku_num=2, returned=1, sub_union_id=link))
    out = feed(client, operator, world.integration_id, "jd_union", [returned, bought])
    assert (out["created"], out["refunds"]) == (1, 1)
    assert order_of(client, operator, world, 780002)["refunded_fen"] == 5000


@pytest.mark.parametrize(
    ("platform", "before", "after", "external_id"),
    [
        ("pdd", pdd_row("261101-780003", amount_fen=2490), pdd_row("261101-780003", amount_fen=1990),
         "261101-780003"),
        ("taobao", taobao_row("780004", parent="780004", paid="59.00"),
         taobao_row("780004", parent="780004", paid="49.00"), "780004"),
    ],
)  # fmt: skip
def test_a_lower_paid_amount_without_a_modification_time_is_refunded(  # noqa: PLR0917 - fixtures and parameters
    client: TestClient,
    operator: dict[str, str],
    world: Feeds,
    platform: str,
    before: dict[str, Any],
    after: dict[str, Any],
    external_id: str,
) -> None:
    """The platform took the line's price down (a partial refund it reports as a lower amount); a higher
    amount after it is an older row and changes nothing."""
    link = world.w.link
    code = {"pdd": "custom_parameters", "taobao": "relation_id"}[platform]
    before, after = _untimed({**before, code: link}), _untimed({**after, code: link})
    assert feed(client, operator, world.integration_id, platform, [before])["created"] == 1
    paid = order_of(client, operator, world, external_id)["paid_fen"]
    out = feed(client, operator, world.integration_id, platform, [after])
    assert (out["updated"], out["refunds"]) == (1, 1)
    refunded = order_of(client, operator, world, external_id)["refunded_fen"]
    assert (paid, refunded) == {"pdd": (2490, 500), "taobao": (5900, 1000)}[platform]
    assert feed(client, operator, world.integration_id, platform, [before])["refunds"] == 0
    assert order_of(client, operator, world, external_id)["refunded_fen"] == refunded


def test_a_row_with_a_modification_time_still_orders_by_it(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    """Rows that carry their time are ordered by it as before: an older row saying less changes nothing."""
    link = world.w.link
    newer = jd_row(780005, 100001, sku_num=2, returned=1, sub_union_id=link)
    older = {**jd_row(780005, 100001, sku_num=2, sub_union_id=link), "modifyTime": "2000-01-01 00:00:00"}
    assert feed(client, operator, world.integration_id, "jd_union", [newer])["refunds"] == 1
    out = feed(client, operator, world.integration_id, "jd_union", [older])
    assert (out["updated"], out["refunds"]) == (0, 0)

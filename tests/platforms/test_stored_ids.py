"""Ids stored before the one-form rule: a platform order or line stored with its id as the row carried
it (``0880100``, ``８８０100``, a line ``01``) is still the order a later row of it moves forward, on
every platform; no second platform order and no second neigou order is made (commission is not paid
twice), and where the one form is stored it wins."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.orders.models import Order
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, pdd_row, taobao_row

pytestmark = pytest.mark.world_per_module

LATER = timedelta(days=2)


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


def _store_as_before(
    factory: sessionmaker[Session], program_id: int, one: str, old: str, old_key: str
) -> None:
    """Rewrite what was stored for the order ``one`` as the rule before one form stored it."""
    with factory.begin() as session:
        order = session.scalars(
            select(PlatformOrder).where(
                PlatformOrder.program_id == program_id, PlatformOrder.external_id == one
            )
        ).one()
        order.external_id = old
        session.execute(
            update(PlatformOrderLine)
            .where(PlatformOrderLine.platform_order_id == order.id)
            .values(line_key=old_key)
        )
        session.execute(
            update(Order)
            .where(Order.program_id == program_id, Order.external_id == one)
            .values(external_id=old)
        )


def _counts(factory: sessionmaker[Session], program_id: int, digits: str) -> tuple[int, int, int, int]:
    """Platform orders, their lines, neigou orders and completed neigou orders whose id holds ``digits``."""
    with factory() as session:
        orders = select(PlatformOrder.id).where(
            PlatformOrder.program_id == program_id, PlatformOrder.external_id.like(f"%{digits}")
        )
        neigou = select(Order).where(Order.program_id == program_id, Order.external_id.like(f"%{digits}"))
        return (
            session.scalar(select(func.count()).select_from(orders.subquery())) or 0,
            session.scalar(
                select(func.count(PlatformOrderLine.id)).where(
                    PlatformOrderLine.platform_order_id.in_(orders)
                )
            )
            or 0,
            len(session.scalars(neigou).all()),
            len([o for o in session.scalars(neigou) if o.completed_at is not None]),
        )


def _cases(link: str) -> list[tuple[str, str, str, str, dict[str, Any], dict[str, Any]]]:
    """Per platform: the order's one form, its old stored id and line key, its first and its later row
    (completed, written in the old forms)."""
    jd = jd_row(880100, 1, sub_union_id=link)
    jd_done = {
        **jd_row(880100, 1, valid_code=17, modified=LATER, finished=LATER),
        "orderId": "0880100",
        "skuId": "01",
    }
    pdd = pdd_row("261101-000880200", custom=link)
    pdd_done = {
        **pdd_row("261101-000880200", status=2, modified=LATER, custom=link),
        "order_sn": "２６1101-000880200",
        "goods_id": "057411",
    }
    taobao = taobao_row("880301", parent="880300", relation_id=link)
    taobao_done = taobao_row("０880301", parent="0880300", status=14, modified=LATER, relation_id=link)
    return [
        ("jd_union", "880100", "0880100", "01", jd, jd_done),
        ("pdd", "261101-000880200", "２６1101-000880200", "057411", pdd, pdd_done),
        ("taobao", "880300", "0880300", "０880301", taobao, taobao_done),
    ]


@pytest.mark.parametrize("case", range(3), ids=["jd_union", "pdd", "taobao"])
def test_a_later_row_moves_the_order_stored_in_its_old_form_forward(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds, case: int
) -> None:
    platform, one, old, old_key, first, done = _cases(world.w.link)[case]
    program = world.w.program_id
    assert feed(client, operator, world.integration_id, platform, [first])["created"] == 1
    _store_as_before(factory, program, one, old, old_key)
    out = feed(client, operator, world.integration_id, platform, [done])
    assert (out["created"], out["updated"], out["skipped"]) == (0, 1, [])
    digits = one[-6:]
    assert _counts(factory, program, digits) == (1, 1, 1, 1)
    with factory() as session:  # nothing renamed: the stored order moved forward under its stored ids
        stored = session.scalars(
            select(PlatformOrderLine.line_key)
            .join(PlatformOrder, PlatformOrder.id == PlatformOrderLine.platform_order_id)
            .where(PlatformOrder.program_id == program, PlatformOrder.external_id == old)
        ).all()
    assert list(stored) == [old_key]
    assert_ledger_balanced(factory)


def test_the_one_form_wins_where_both_are_stored(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    link, program = world.w.link, world.w.program_id
    assert (
        feed(client, operator, world.integration_id, "jd_union", [jd_row(880400, 1, sub_union_id=link)])[
            "created"
        ]
        == 1
    )
    _store_as_before(factory, program, "880400", "0880400", "01")
    # an order stored in both forms (the one form's made before this rule found the old one)
    assert (
        feed(client, operator, world.integration_id, "jd_union", [jd_row(880400, 1, sub_union_id=link)])[
            "created"
        ]
        == 1
    )
    done = {
        **jd_row(880400, 1, valid_code=17, modified=LATER, finished=LATER),
        "orderId": "0880400",
        "skuId": "01",
    }
    out = feed(client, operator, world.integration_id, "jd_union", [done])
    assert (out["created"], out["updated"]) == (0, 1)
    with factory() as session:
        completed = dict(
            session.execute(
                select(Order.external_id, Order.completed_at).where(
                    Order.program_id == program, Order.external_id.like("%880400")
                )
            ).all()
        )
    assert completed["0880400"] is None
    assert completed["880400"] is not None

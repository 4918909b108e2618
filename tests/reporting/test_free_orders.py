"""An order paid 0 fen (a gift, a 100% coupon) is a sale, never "fully refunded": the group sales, the
dashboard, the network's order counts and leaderboard, a link's sales and the CRM's purchases count it
as an order, as the order's own shown state does (``Order.fully_refunded``). Tier metrics deliberately
do not: a free order is no sale toward a tier upgrade."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import signals
from neigou.network import repository as network
from neigou.network.rules import month_period
from neigou.orders.models import Order
from neigou.orders.repository import link_sales
from neigou.programs.models import Program
from neigou.reporting.dashboard import dashboard
from neigou.tiers.metrics import period_figures
from tests.conftest import TokenMaker
from tests.reporting.sales_world import FIRST, FROM, TO, build, order, refund


def test_an_order_paid_nothing_counts_as_an_order_not_as_fully_refunded(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
) -> None:
    world = build(client, operator, make_token, factory)
    a1 = {"link_code": world.link_a1}
    order(client, world.integration, world, "A1-GIFT", 0, paid_at=FIRST, **a1)
    order(client, world.integration, world, "A1-PAID", 3000, paid_at=FIRST, **a1)
    order(client, world.integration, world, "A1-BACK", 2000, paid_at=FIRST, **a1)
    refund(client, world.integration, world, "A1-BACK", 2000)

    response = client.get(
        f"/api/v1/programs/{world.program_id}/group-sales?from={FROM}&to={TO}", headers=operator
    )
    assert response.status_code == 200, response.text
    (row,) = [g for g in response.json()["groups"] if g["group_id"] == world.a1]
    assert (row["orders"], row["fully_refunded_orders"], row["gmv_fen"]) == (2, 1, 3000)

    with factory() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        home = dashboard(session, program=program, at=datetime.fromisoformat("2026-03-10T12:00:00+08:00"))
    assert (home.today.orders, home.today.gmv_fen) == (2, 3000)
    assert (home.month.orders, home.month.gmv_fen) == (2, 3000)
    assert (home.trend_orders[-1], home.trend_gmv_fen[-1]) == (2, 3000)

    with factory() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        march = month_period(2026, 3, program.timezone)
        assert (
            network.sales_of(
                session, member_id=world.owner_a, program_id=world.program_id, period=march
            ).orders
            == 2
        )
        board = network.leaderboard(
            session, program_id=world.program_id, period=march, metric="orders", limit=5
        )
        assert [(r.member_id, r.value) for r in board] == [(world.owner_a, 2)]
        assert link_sales(session, world.owner_a, [world.link_a1]) == {world.link_a1: (2, 3000)}
        kept = session.scalars(select(Order.external_id).where(signals.kept_purchase(Order)))
        assert sorted(kept) == ["A1-GIFT", "A1-PAID"]
        # Tier upgrades: a free order is deliberately no sale (docs/tiers.md).
        figures = period_figures(session, program_id=world.program_id, start=march.start, end=march.end)
        assert figures.metrics[world.owner_a].orders == 1

"""An order paid 0 fen (a gift, a 100% coupon) is a sale, never "fully refunded": the group sales and
the dashboard count it as an order, as the order's own shown state does (``Order.fully_refunded``)."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.programs.models import Program
from neigou.reporting.dashboard import dashboard
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

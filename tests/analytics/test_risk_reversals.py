"""Commission a confirmed risk case took back leaves the analytics figures, as it leaves the ledger and
the console's home: economics, customer value, the simulation and a member's own figures, on DuckDB and
chDB, through a real confirmation and refresh."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span, TierRates
from neigou.analytics.store import Store
from neigou.orders.models import Commission
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT
from tests.risk.builders import MENTOR_FEN, OWNER_FEN, SELLER_FEN, brush, cases, complete, resolve

HELD = 10 * (SELLER_FEN + OWNER_FEN + MENTOR_FEN)


def _kept_in_oltp(factory: sessionmaker[Session], program_id: int) -> int:
    with factory() as session:
        kept = session.scalar(
            select(func.sum(Commission.amount_fen - Commission.reversed_fen)).where(
                Commission.program_id == program_id
            )
        )
    return int(kept or 0)


def test_a_confirmed_risk_case_takes_its_commission_out_of_the_figures(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], engine_store: Store
) -> None:
    world = orders.build(client, operator, factory, freeze_days=7)
    brush(client, operator, world, 10)
    for i in range(10):
        complete(client, operator, world.program_id, f"B-{i}", PAID_AT + timedelta(days=1))
    span = Span(world.program_id, date(2026, 2, 1), date(2026, 3, 31))
    seller = Span(world.program_id, span.start_on, span.end_on, world.seller)
    with factory() as session:
        refresh(session, engine_store)
    before = reports.economics(engine_store, span)
    assert before.commission_fen == HELD == _kept_in_oltp(factory, world.program_id)
    assert reports.economics(engine_store, seller).commission_fen == 10 * SELLER_FEN
    values, _ = reports.customer_value(engine_store, span)
    net_before = sum(v.net_fen for v in values)

    [case] = cases(client, operator, world.program_id, "open")
    assert resolve(client, operator, case["id"], "confirm", note="brushing").status_code == 200
    with factory() as session:
        copied = refresh(session, engine_store)
    after = reports.economics(engine_store, span)
    assert after.commission_fen == 0 == _kept_in_oltp(factory, world.program_id)
    assert (copied.get("risk_reversals"), copied["rollup_days"]) == (1, 1)
    assert after.net_fen == before.net_fen + HELD
    assert reports.economics(engine_store, seller).commission_fen == 0  # the member's own figures
    values, _ = reports.customer_value(engine_store, span)
    assert sum(v.net_fen for v in values) == net_before + HELD
    simulated = reports.simulate(engine_store, span, [TierRates("super_member", 5000, 5000)])
    assert (simulated.actual_commission_fen, simulated.simulated_commission_fen) == (0, 0)
    with factory() as session:  # nothing new: nothing moves
        assert refresh(session, engine_store)["risk_reversals"] == 0
    assert reports.economics(engine_store, span).commission_fen == 0

"""After a platform's line refunds of a many-line order, the analytics commission is the ledger's: each
line's refunds take back the commission's share of that line (its own fee's), not a share of the order's
price. Economics and customer value, program-wide (rollups, customer firsts) and a member's own (the
live statements), on DuckDB and chDB, through the feed, the refund and a refresh. The commission simulation
takes refunds back the same way: as earned, the ledger's figure; at doubled rates, twice it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import Store
from neigou.orders.models import Commission, Order, Refund
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row

ORDER = 710001
FEE_SKU, FREE_SKU = 1, 2  # the line carrying the whole fee (5000 fen) and the line without any
# Every rate of the world doubled: the seller's 20% share, the owner's 5% and the mentor's 10% override.
DOUBLED = [reports.TierRates("super_member", 4000, 1000), reports.TierRates("mentor", 6000, 2000)]


def _row(f: Feeds, sku: int, **terms: Any) -> dict[str, Any]:
    fee = "50.00" if sku == FEE_SKU else "0.00"
    return jd_row(ORDER, sku, paid="100.00", fee=fee, sku_num=2, sub_union_id=f.w.link, **terms)


def _ledger(factory: sessionmaker[Session], program_id: int, member_id: int | None = None) -> int:
    """What the ledger left of the program's (or one member's) commission after reversals."""
    kept = select(func.sum(Commission.amount_fen - Commission.reversed_fen)).where(
        Commission.program_id == program_id
    )
    if member_id is not None:
        kept = kept.where(Commission.member_id == member_id)
    with factory() as session:
        return int(session.scalar(kept) or 0)


def _assert_as_ledger(store: Store, factory: sessionmaker[Session], f: Feeds, refunded: int) -> None:
    program = Span(f.w.program_id, date(2026, 1, 1), date(2026, 12, 31))
    seller = Span(f.w.program_id, program.start_on, program.end_on, f.w.seller)
    for span, member in ((program, None), (seller, f.w.seller)):
        kept = _ledger(factory, f.w.program_id, member)
        economics = reports.economics(store, span)
        assert (economics.refund_fen, economics.commission_fen) == (refunded, kept)
        same = reports.simulate(store, span, [])
        assert (same.actual_commission_fen, same.simulated_commission_fen) == (kept, kept)
        doubled = reports.simulate(store, span, DOUBLED)
        assert (doubled.actual_commission_fen, doubled.simulated_commission_fen) == (kept, 2 * kept)
        values, _ = reports.customer_value(store, span)  # the customer's order, every member's commission
        assert sum(v.net_fen for v in values) == 20_000 - refunded - _ledger(factory, f.w.program_id)


def test_line_refunds_take_back_in_analytics_what_the_ledger_took_back(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], engine_store: Store
) -> None:
    f = feeds_world(client, operator, factory)
    paid = [_row(f, FEE_SKU), _row(f, FREE_SKU)]
    assert feed(client, operator, f.integration_id, "jd_union", paid)["created"] == 1
    with factory() as session:
        refresh(session, engine_store)
    _assert_as_ledger(engine_store, factory, f, 0)
    assert _ledger(factory, f.w.program_id) == 1750  # 20% + 5% + 10% of the fee line's 5000 pool

    # one of the fee line's two units back: half its share (875), not a quarter of the order's
    half = _row(f, FEE_SKU, returned=1, modified=timedelta(days=1))
    assert feed(client, operator, f.integration_id, "jd_union", [half])["refunds"] == 1
    with factory() as session:
        refresh(session, engine_store)
    assert _ledger(factory, f.w.program_id) == 875
    _assert_as_ledger(engine_store, factory, f, 5_000)

    # the line without fee back entirely: the ledger takes back nothing more
    invalid = _row(f, FREE_SKU, valid_code=13, modified=timedelta(days=2))
    assert feed(client, operator, f.integration_id, "jd_union", [invalid])["refunds"] == 1
    with factory() as session:
        refresh(session, engine_store)
        order_id = session.scalars(select(Order.id).where(Order.external_id == str(ORDER))).one()
        lines = session.scalars(select(Refund.line_no).where(Refund.order_id == order_id).order_by(Refund.id))
        assert len(set(lines.all())) == 2  # each refund names its own line
    assert _ledger(factory, f.w.program_id) == 875
    _assert_as_ledger(engine_store, factory, f, 15_000)

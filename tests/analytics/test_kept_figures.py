"""Program-wide figures read from the pre-aggregated days equal the orders' own sums and the ledger's
commission postings, on DuckDB and chDB, before and after a later refund; an opt-out reaches the
kept months of the cohorts too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import breakdowns, reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import Store, open_store
from neigou.kit.ids import customer_ref_hash
from neigou.ledger.models import Account, Entry, Posting, PostingKind
from neigou.links.models import ShareLink
from neigou.orders.models import Commission, Order
from tests.analytics.builders import SKU, build, refund
from tests.analytics.stores import ENGINES
from tests.conftest import SECRET, TokenMaker
from tests.offers.factories import product

# March in Asia/Shanghai, as UTC instants.
MARCH_FROM, MARCH_TO = datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 3, 31, 16, tzinfo=UTC)


def _oltp(factory: sessionmaker[Session], program_id: int) -> tuple[int, int, int, int, int]:
    """Orders, paid, refunded and commission net of reversals of March's orders, and the ledger's
    commission expense on them."""
    with factory() as session:
        ids = select(Order.id).where(
            Order.program_id == program_id, Order.paid_at >= MARCH_FROM, Order.paid_at < MARCH_TO
        )
        orders, paid, refunded = session.execute(
            select(func.count(), func.sum(Order.paid_fen), func.sum(Order.refunded_fen)).where(
                Order.id.in_(ids)
            )
        ).one()
        commission = session.scalar(
            select(func.sum(Commission.amount_fen - Commission.reversed_fen)).where(
                Commission.order_id.in_(ids)
            )
        )
        ledger = session.scalar(
            select(-func.sum(Entry.amount_fen))
            .join(Posting, Posting.id == Entry.posting_id)
            .where(
                Posting.kind.in_([PostingKind.COMMISSION_EARNED, PostingKind.COMMISSION_REVERSED]),
                Posting.source_id.in_(ids),
                Entry.account == Account.COMMISSION_EXPENSE,
            )
        )
    assert commission is not None
    assert ledger is not None
    return int(orders), int(paid), int(refunded), int(commission), abs(int(ledger))


def _check(store: Store, factory: sessionmaker[Session], span: Span) -> None:
    economics = reports.economics(store, span)
    orders, paid, refunded, commission, ledger = _oltp(factory, span.program_id)
    assert (economics.orders, economics.gmv_fen, economics.refund_fen) == (orders, paid, refunded)
    assert economics.commission_fen == commission == ledger
    simulated = reports.simulate(store, span, [])
    assert simulated.actual_commission_fen == simulated.simulated_commission_fen == commission
    for by in ("day", "tier", "group"):
        rows = breakdowns.economics_by(store, span, by=by)
        assert sum(r.orders for r in rows) == orders
        assert sum(r.gmv_fen for r in rows) == paid
        assert sum(r.refund_fen for r in rows) == refunded
        assert sum(r.commission_fen for r in rows) == commission
    for by in ("sku", "brand"):  # line by line: each line's share floored, never more than the order's
        rows = breakdowns.economics_by(store, span, by=by)
        assert sum(r.gmv_fen for r in rows) == paid
        assert 0 <= refunded - sum(r.refund_fen for r in rows) <= 2
        assert 0 <= commission - sum(r.commission_fen for r in rows) <= 2


@pytest.mark.parametrize("kind", ENGINES)
def test_kept_figures_equal_the_orders_and_the_ledger(  # noqa: PLR0917 - fixtures
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    tmp_path: Path,
    kind: str,
) -> None:
    if kind == "chdb":
        pytest.importorskip("chdb")
    world = build(client, operator, make_token, factory)
    product(client, operator, "LQ-CONDITIONER-400", 3990, commission_rate_bp=1500)
    with factory() as session:
        link = session.scalar(select(ShareLink.code).where(ShareLink.member_id == world.a))
    body = {
        "external_id": "o11",
        "program_id": world.program_id,
        "customer_ref": "c5",
        "items": [
            {"sku": SKU, "quantity": 1, "paid_fen": 2490},
            {"sku": "LQ-CONDITIONER-400", "quantity": 2, "paid_fen": 7333},
        ],
        "paid_at": "2026-03-12T10:00:00+08:00",
        "link_code": link,
    }
    assert client.post("/api/v1/orders", json=body, headers=operator).status_code == 201
    # A partial refund of a two-line order: its commission's worth is floored as a whole.
    refund(client, operator, world.program_id, "o11", 1234, at="2026-03-13T10:00:00+08:00")
    store = open_store(f"{kind}:///{tmp_path / kind}")
    march = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
    try:
        with factory() as session:
            assert refresh(session, store)["rollup_days"] > 0
        _check(store, factory, march)
        cohorts = reports.cohorts(store, march)
        # A later refund of an order paid on 8 March touches that day only.
        response = client.post(
            f"/api/v1/orders/o9/refunds?program_id={world.program_id}",
            json={"refund_id": "r-o9", "amount_fen": 999, "at": "2026-03-25T10:00:00+08:00"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        body = {"customer_ref": "c1", "program_id": world.program_id, "request_id": "opt-out-c1"}
        assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201
        with factory() as session:
            copied = refresh(session, store)
            assert (copied["rollup_days"], copied["opt_outs"]) == (1, 1)
            assert refresh(session, store)["rollup_days"] == 0
        _check(store, factory, march)
        hashed = customer_ref_hash(SECRET, "c1")
        kept = "SELECT program_id, count(*) FROM customer_months WHERE customer = :c GROUP BY program_id"
        # Only the other program keeps the hash: the opt-out named this one.
        assert store.query(kept, c=hashed) == [(world.other_program_id, 1)]
        assert reports.cohorts(store, march) == cohorts
    finally:
        store.close()

"""The extract: resumable after a kill, idempotent, opt-outs propagated; the same figures on chDB."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import Store, open_store
from neigou.kit.ids import customer_ref_hash
from neigou.orders.models import Order, Refund
from tests.analytics.builders import build
from tests.analytics.stores import Killed
from tests.conftest import SECRET, TokenMaker


def _ids(store: Store, table: str) -> list[int]:
    return [int(r[0]) for r in store.query(f"SELECT id FROM {table} ORDER BY id")]  # noqa: S608


def test_a_refresh_killed_midway_resumes_without_duplicates(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
) -> None:
    build(client, operator, make_token, factory)

    def die_in_orders(table: str, copied: int) -> None:
        if table == "orders" and copied >= 4:
            raise Killed

    with factory() as session, pytest.raises(Killed):
        refresh(session, duck, chunk=2, progress=die_in_orders)
    assert len(_ids(duck, "orders")) == 4
    assert _ids(duck, "refunds") == []  # never reached
    # A chunk loaded but its watermark never logged: the next refresh must drop it, not keep it twice.
    with factory() as session:
        fact_rows = session.execute(select(Order.id).order_by(Order.id).offset(4).limit(2)).scalars().all()
    duck.run(
        "INSERT INTO orders (id, program_id, customer, channel, hidden_coupon, paid_fen, list_fen, "
        "promotion_fen, coupon_fen, paid_at, paid_us, paid_on) VALUES "
        "(:id, 1, 'x', 'organic', false, 1, 1, 0, 0, TIMESTAMP '2026-01-01', 0, DATE '2026-01-01')",
        id=fact_rows[0],
    )
    with factory() as session:
        copied = refresh(session, duck, chunk=2)
        expected_orders = session.scalars(select(Order.id).order_by(Order.id)).all()
        expected_refunds = session.scalar(select(func.count()).select_from(Refund))
    assert copied["orders"] == len(expected_orders) - 4
    assert _ids(duck, "orders") == list(expected_orders)
    assert len(_ids(duck, "refunds")) == expected_refunds
    with factory() as session:
        assert refresh(session, duck)["orders"] == 0


def test_opt_out_reaches_the_store_in_the_same_refresh(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
) -> None:
    world = build(client, operator, make_token, factory)
    with factory() as session:
        refresh(session, duck)
    span = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
    before = reports.repeat(duck, span, window_days=30)
    hashed = customer_ref_hash(SECRET, "c1")
    assert duck.query("SELECT count(*) FROM orders WHERE customer = :c", c=hashed) == [(3,)]
    body = {"customer_ref": "c1", "program_id": world.program_id, "request_id": "opt-out-c1"}
    assert client.post("/api/v1/privacy/opt-outs", json=body, headers=operator).status_code == 201
    with factory() as session:
        copied = refresh(session, duck)
    assert copied["opt_outs"] == 1
    # The other program's order keeps the hash: the opt-out named one program.
    assert duck.query("SELECT count(*) FROM orders WHERE customer = :c", c=hashed) == [(1,)]
    assert duck.query("SELECT count(*) FROM claims WHERE customer = :c", c=hashed) == [(0,)]
    # The customer's orders stay one customer under the tombstone: the figures do not move.
    assert reports.repeat(duck, span, window_days=30) == before


@pytest.mark.chdb
def test_chdb_gives_the_same_figures_as_duckdb(  # noqa: PLR0917 - fixtures
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    duck: Store,
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")  # the `analytics` extra, which CI installs
    world = build(client, operator, make_token, factory)
    clickhouse = open_store(f"chdb:///{tmp_path / 'chdb'}")
    try:
        with factory() as session:
            assert refresh(session, duck) == refresh(session, clickhouse)
            # Killed midway on ClickHouse too (no transactions there): resumes without duplicates.
            assert refresh(session, clickhouse)["orders"] == 0
        march = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
        own = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31), world.a)
        rates = [reports.TierRates("super_member", 3000, 500)]
        for store_span in (march, own):
            assert reports.repeat(clickhouse, store_span, window_days=30) == reports.repeat(
                duck, store_span, window_days=30
            )
            assert reports.cohorts(clickhouse, store_span) == reports.cohorts(duck, store_span)
            assert reports.economics(clickhouse, store_span) == reports.economics(duck, store_span)
            assert reports.simulate(clickhouse, store_span, rates) == reports.simulate(
                duck, store_span, rates
            )
        for member in (0, world.a):
            period = reports.month_span(world.program_id, "2026-03", member)
            assert reports.fission(clickhouse, period) == reports.fission(duck, period)
        assert reports.economics(clickhouse, march).commission_fen == 90
    finally:
        clickhouse.close()

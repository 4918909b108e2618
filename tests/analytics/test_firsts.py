"""The pre-aggregated first orders: program-wide reports read them, and they answer as the window
pass over all orders does, after new orders and refunds too, on DuckDB and chDB."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import data_time, queries, reports
from neigou.analytics.extract import refresh
from neigou.analytics.reports import Span
from neigou.analytics.store import Store, open_store
from tests.analytics.builders import LIST_FEN, build, order
from tests.analytics.stores import ENGINES
from tests.conftest import TokenMaker


def _same(store: Store, span: Span) -> None:
    params = span.params() | {"window_us": 30 * reports.DAY_US, "as_of_us": data_time.as_of_us(store)}
    pairs = [(sql, queries.stored(sql)) for sql in (queries.REPEAT, queries.COHORTS)]
    for key in reports.VALUE_KEYS.values():
        pairs.append((queries.CUSTOMER_VALUE.format(key=key), queries.CUSTOMER_VALUE_STORED.format(key=key)))
        pairs.append((queries.TOP_CUSTOMERS.format(key=key), queries.TOP_CUSTOMERS_STORED.format(key=key)))
    for window, kept in pairs:
        assert kept != window
        assert sorted(store.query(kept, **params), key=str) == sorted(store.query(window, **params), key=str)


@pytest.mark.parametrize("kind", ENGINES)
def test_stored_first_orders_follow_new_orders_and_refunds(  # noqa: PLR0917 - fixtures
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
    store = open_store(f"{kind}:///{tmp_path / kind}")
    march = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
    try:
        with factory() as session:
            copied = refresh(session, store)
        assert copied["customer_firsts"] == 4  # c1…c4 (c1 also in the other program)
        _same(store, march)
        before = reports.repeat(store, march, window_days=30)
        # c1's first order (o1, through the link) is now fully refunded: o2 becomes c1's first, organic.
        response = client.post(
            f"/api/v1/orders/o1/refunds?program_id={world.program_id}",
            json={"refund_id": "r-o1-rest", "amount_fen": 2490 - 1000, "at": "2026-03-21T10:00:00+08:00"},
            headers=operator,
        )
        assert response.status_code == 201, response.text
        order(client, operator, world.program_id, "o10", "c9", at="2026-03-22T10:00:00+08:00")
        with factory() as session:
            assert refresh(session, store)["customer_firsts"] == 2  # c1 and c9, no one else
            assert refresh(session, store)["customer_firsts"] == 0
        _same(store, march)
        after = reports.repeat(store, march, window_days=30)
        assert {r.key: r.customers for r in before.channels} == {"group_link": 1, "organic": 2}
        assert {r.key: r.customers for r in after.channels} == {"organic": 4}
        rows = store.query("SELECT count(*), count(DISTINCT customer) FROM customer_firsts")
        assert rows[0][0] == rows[0][1] + 1  # c1 in two programs; nobody twice in one
        assert LIST_FEN in {int(r[0]) for r in store.query("SELECT paid_fen FROM orders")}
    finally:
        store.close()

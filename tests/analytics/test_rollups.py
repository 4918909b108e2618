"""The pre-aggregated days answer as the statements over the facts do, exactly, on DuckDB and chDB:
random orders of one to three lines (rate, fixed or platform pools), partial and full refunds arriving later,
several commission levels, simulated with other tier rates; after an incremental recomputation and
after one killed between its delete and its insert."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from neigou.analytics import firsts, queries, rollup_queries, rollups
from neigou.analytics.breakdowns import ECONOMICS_KEYS
from neigou.analytics.reports import Span, TierRates, simulation_statement
from neigou.analytics.schema import ensure_schema
from neigou.analytics.store import Store, open_store
from neigou.orders.commission import Line, pool_of
from tests.analytics.stores import Killed, schema

pytestmark = pytest.mark.no_database

TIERS = ("super_member", "mentor", None)
RATE_SETS: tuple[list[TierRates], ...] = (
    [],
    [TierRates("super_member", 3000, 500)],
    [TierRates("super_member", 4100, 0), TierRates("mentor", 777, 1234)],
)
SPANS = [
    Span(program, start, end)
    for program in (1, 2)
    for start, end in ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 4, 30)))
]


class Facts:
    """Random facts, appended in batches with ids that keep growing."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ids = {"orders": 0, "order_lines": 0, "commissions": 0, "refunds": 0}
        self.orders: dict[int, tuple[int, int, date]] = {}  # id -> program, paid, day
        self.refunded: dict[int, int] = {}
        self.voids = 0  # the last confirmation posting voiding orders (analytics.reversals)

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def batch(self, store: Store, orders: int, days: list[date], refunds: int) -> set[tuple[int, date]]:
        """Append orders paid on ``days`` and refunds of earlier orders; the (program, day) touched."""
        rows: dict[str, list[dict[str, Any]]] = {table: [] for table in self.ids}
        touched = set()
        for _ in range(orders):
            touched.add(self._order(rows, self.rng.choice(days)))
        for order_id in self.rng.sample(sorted(self.orders), min(refunds, len(self.orders))):
            program, paid, day = self.orders[order_id]
            left = paid - self.refunded.get(order_id, 0)
            if left <= 0:
                continue
            amount = left if self.rng.random() < 0.3 else self.rng.randint(1, left)
            self.refunded[order_id] = self.refunded.get(order_id, 0) + amount
            at = datetime.combine(day, datetime.min.time()) + timedelta(days=2)
            rows["refunds"].append(
                {
                    "id": self._next("refunds"),
                    "program_id": program,
                    "order_id": order_id,
                    "amount_fen": amount,
                }
                | {"refunded_at": at, "refunded_on": at.date()}
            )
            touched.add((program, day))
        for table, table_rows in rows.items():
            if table_rows:
                store.engine.load(table, pa.Table.from_pylist(table_rows, schema=schema(table)))
        return touched

    def void(self, store: Store, order_ids: list[int]) -> set[tuple[int, date]]:
        """A confirmed risk case takes back the orders' commission (one posting); the days touched."""
        self.voids += 1
        rows = [{"id": self.voids, "program_id": self.orders[o][0], "order_id": o} for o in order_ids]
        store.engine.load("voids", pa.Table.from_pylist(rows))
        return {(self.orders[o][0], self.orders[o][2]) for o in order_ids}

    def _order(self, rows: dict[str, list[dict[str, Any]]], day: date) -> tuple[int, date]:
        rng = self.rng
        order_id, program = self._next("orders"), rng.choice((1, 1, 2))
        lines = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            quantity, paid = rng.randint(1, 3), rng.choice((0, rng.randint(1, 9_000)))
            fixed = rng.choice((None, None, rng.randint(1, 600)))
            line: dict[str, Any] = {
                "id": self._next("order_lines"),
                "program_id": program,
                "order_id": order_id,
            }
            line |= {
                "sku": rng.choice(("A", "B", "C")),
                "brand_id": rng.choice((None, 1, 2)),
                "quantity": quantity,
            }
            line |= {
                "list_fen": paid + 100,
                "paid_fen": paid,
                "commission_rate_bp": rng.choice((1500, 2000, 3333)),
            }
            # A platform's fee is stored as the line's pool with no rate (orders.batch_rows.as_line).
            if fixed is None and rng.random() < 0.25:
                line |= {"commission_rate_bp": 0}
                pool = rng.randint(0, 900)
            else:
                pool = pool_of(paid, quantity, line["commission_rate_bp"], fixed, None)
            lines.append(line | {"fixed_commission_fen": fixed, "pool_fen": pool})
        paid_fen = sum(line["paid_fen"] for line in lines)
        paid_at = datetime.combine(day, datetime.min.time(), UTC) + timedelta(seconds=rng.randint(0, 86_399))
        tier = rng.choice(TIERS)
        order: dict[str, Any] = {"id": order_id, "program_id": program, "customer": f"c{rng.randint(0, 14)}"}
        order |= {"member_id": 7 if tier else None, "group_id": rng.choice((None, 1, 2)), "event_id": None}
        order |= {"tier_code": tier, "link_code": None, "channel": "group_link" if tier else "organic"}
        order |= {"hidden_coupon": rng.random() < 0.2, "paid_fen": paid_fen, "list_fen": paid_fen + 500}
        order |= {"promotion_fen": rng.randint(0, 300), "coupon_fen": rng.randint(0, 300)}
        order |= {"paid_at": paid_at.replace(tzinfo=None), "paid_us": int(paid_at.timestamp() * 1_000_000)}
        rows["orders"].append(order | {"paid_on": day})
        rows["order_lines"].extend(lines)
        if tier:
            for level, (code, bp) in enumerate(((tier, rng.randint(0, 10_000)), ("mentor", 1000)), start=1):
                amount = sum(_share(line, bp) for line in lines)
                if amount > 0:
                    commission: dict[str, Any] = {
                        "id": self._next("commissions"),
                        "program_id": program,
                        "order_id": order_id,
                    }
                    commission |= {"member_id": 7 + level, "level": level, "tier_code": code, "bp": bp}
                    rows["commissions"].append(commission | {"amount_fen": amount})
        self.orders[order_id] = (program, paid_fen, day)
        return program, day


def _share(line: dict[str, Any], bp: int) -> int:
    """The pure commission rule (orders.commission.Line.share)."""
    terms = ("paid_fen", "quantity", "commission_rate_bp", "fixed_commission_fen")
    platform = (
        line["pool_fen"] if line["fixed_commission_fen"] is None and line["commission_rate_bp"] == 0 else None
    )
    return Line(**{term: line[term] for term in terms}, platform_pool_fen=platform).share(bp)


def _rows(store: Store, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return sorted(
        (tuple(int(v) if isinstance(v, int) else str(v) for v in row) for row in store.query(sql, **params)),
        key=str,
    )


def _same(store: Store) -> None:
    # Each statement costs chDB tens of milliseconds: on ClickHouse one program's narrow span (facts on
    # both sides of its edges left out) and the other's wide one are compared, on DuckDB all four.
    spans = SPANS if store.engine.dialect == "duckdb" else [SPANS[0], SPANS[3]]
    for span in spans:
        params = span.params()
        assert _rows(store, rollup_queries.ECONOMICS, **params) == _rows(store, queries.ECONOMICS, **params)
        for by, (statement, key) in ECONOMICS_KEYS.items():
            if statement is queries.ECONOMICS_BY_ORDER:
                kept, kind = rollup_queries.ECONOMICS_BY_ORDER.format(key=key), {}
            else:
                kept, kind = rollup_queries.ECONOMICS_BY_LINE, {"kind": by}
            assert _rows(store, kept, **params, **kind) == _rows(
                store, statement.format(key=key), **params
            ), by
        for rates in RATE_SETS:
            scan, values = simulation_statement(rates, kept=False)
            kept_sql, _ = simulation_statement(rates, kept=True)
            assert _rows(store, kept_sql, **params, **values) == _rows(store, scan, **params, **values), rates
        # The tiers' own rates give back what was earned: the pure rule, platform fees and fixed pools too.
        same, values = simulation_statement([], kept=True)
        ((actual, simulated),) = store.query(same, **params, **values)
        assert int(simulated) == int(actual), span
        assert _rows(store, rollup_queries.COHORTS, **params) == _rows(store, queries.COHORTS, **params)
        assert _rows(store, rollup_queries.PRICES, **params) == _rows(store, queries.PRICES, **params)


def _marks(facts: Facts) -> dict[str, int]:
    return dict(facts.ids) | {"voids": facts.voids}


def test_rollups_answer_as_the_facts_do_after_new_orders_and_refunds(store: Store) -> None:
    facts = Facts(seed=20261204)
    march = [date(2026, 3, d) for d in range(1, 32)]
    first = facts.batch(store, orders=160, days=[date(2026, 2, 27), *march], refunds=0)
    assert rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0)) == len(first)
    firsts.recompute(store, marks=dict.fromkeys(firsts.MARKS, 0))
    _same(store)
    marks = _marks(facts)
    second = facts.batch(store, orders=20, days=[date(2026, 3, 30), date(2026, 4, 2)], refunds=30)
    assert rollups.recompute(store, marks=marks) == len(second)
    firsts.recompute(store, marks=marks)
    _same(store)
    # Nothing new: nothing recomputed, nothing moves.
    assert rollups.recompute(store, marks=_marks(facts)) == 0
    _same(store)
    sizes = store.query("SELECT count(*), coalesce(sum(lines), 0) FROM commission_lines")
    ((pairs,),) = store.query(
        "SELECT count(*) FROM commissions AS c JOIN order_lines AS l ON l.order_id = c.order_id"
    )
    assert int(sizes[0][1]) == int(pairs)  # every commission's every line, counted once


def test_a_recomputation_killed_between_delete_and_insert_redoes_the_same_days(store: Store) -> None:
    facts = Facts(seed=7)
    days = [date(2026, 3, d) for d in range(1, 11)]
    facts.batch(store, orders=80, days=days, refunds=0)
    rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0))
    marks = _marks(facts)
    facts.batch(store, orders=10, days=days[:2], refunds=15)
    run = store.run
    deleted: list[str] = []

    def dies_after_a_delete(sql: str, **params: Any) -> None:
        if deleted and sql.lstrip().startswith("INSERT INTO sku_days"):
            raise Killed
        if sql.startswith("DELETE FROM sku_days"):
            deleted.append(sql)
        run(sql, **params)

    store.run = dies_after_a_delete  # type: ignore[method-assign]
    with pytest.raises(Killed):
        rollups.recompute(store, marks=marks)
    store.run = run  # type: ignore[method-assign]
    rollups.recompute(store, marks=marks)
    firsts.recompute(store, marks=dict.fromkeys(firsts.MARKS, 0))
    _same(store)


def _commission(store: Store, span: Span) -> int:
    rows = _rows(store, rollup_queries.ECONOMICS, **span.params())
    return sum(int(r[2]) for r in rows if r[0] == "level")


def test_orders_a_confirmed_risk_case_voided_count_no_commission(store: Store) -> None:
    facts = Facts(seed=31)
    days = [date(2026, 3, d) for d in range(1, 11)]
    facts.batch(store, orders=60, days=days, refunds=0)
    facts.batch(store, orders=0, days=days, refunds=12)
    rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0))
    firsts.recompute(store, marks=dict.fromkeys(firsts.MARKS, 0))
    span = Span(1, date(2026, 3, 1), date(2026, 3, 31))
    before = _commission(store, span)
    ((net_before,),) = store.query("SELECT sum(net_fen) FROM customer_firsts")
    marks = _marks(facts)
    paid = {int(r[0]): int(r[1]) for r in store.query("SELECT id, paid_fen FROM orders WHERE program_id = 1")}
    refunded = {
        int(r[0]): int(r[1]) for r in store.query("SELECT order_id, sum(amount_fen) FROM refunds GROUP BY 1")
    }
    worth: dict[int, int] = {}
    for order_id, amount in store.query("SELECT order_id, amount_fen FROM commissions WHERE program_id = 1"):
        o, a = int(order_id), int(amount)
        worth[o] = worth.get(o, 0) + a - a * refunded.get(o, 0) // max(paid[o], 1)
    voided = sorted(o for o in worth if worth[o] > 0)[:5]
    touched = facts.void(store, voided)
    assert rollups.recompute(store, marks=marks) == len(touched)
    firsts.recompute(store, marks=marks)
    taken = sum(worth[o] for o in voided)
    assert taken > 0
    assert _commission(store, span) == before - taken
    ((net_after,),) = store.query("SELECT sum(net_fen) FROM customer_firsts")
    assert int(net_after) - int(net_before) == taken  # what the customers are worth grows by it
    _same(store)  # the kept tables and the statements over the facts leave the voided orders out alike
    # Nothing new: nothing recomputed.
    assert rollups.recompute(store, marks=_marks(facts)) == 0


def test_only_the_touched_program_days_are_recomputed(store: Store) -> None:
    facts = Facts(seed=19)
    facts.batch(store, orders=40, days=[date(2026, 3, d) for d in range(1, 6)], refunds=0)
    rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0))
    marks = _marks(facts)
    touched = facts.batch(
        store, orders=4, days=[date(2026, 4, 5), date(2026, 4, 6), date(2026, 4, 7)], refunds=0
    )
    programs, days = {p for p, _ in touched}, {d for _, d in touched}
    # A row on a day another program touched: recomputing the touched pairs leaves it alone.
    planted = [(p, d) for p in sorted(programs) for d in sorted(days) if (p, d) not in touched]
    assert planted
    rows = [
        {"program_id": p, "paid_on": d, "tier_code": None, "group_id": None, "level": 99}
        | dict.fromkeys(
            ("orders", "gmv_fen", "refund_fen", "coupon_fen", "promotion_fen", "commission_fen"), 0
        )
        for p, d in planted
    ]
    store.engine.load("economics_days", pa.Table.from_pylist(rows, schema=_ECONOMICS_SCHEMA))
    assert rollups.recompute(store, marks=marks) == len(touched)
    kept = store.query("SELECT program_id, paid_on FROM economics_days WHERE level = 99 ORDER BY 1, 2")
    assert [(int(p), d) for p, d in kept] == planted


_ECONOMICS_SCHEMA = pa.schema(
    [
        ("program_id", pa.int64()),
        ("paid_on", pa.date32()),
        ("tier_code", pa.string()),
        ("group_id", pa.int64()),
        ("level", pa.int64()),
        *((name, pa.int64()) for name in ("orders", "gmv_fen", "refund_fen", "coupon_fen", "promotion_fen")),
        ("commission_fen", pa.int64()),
    ]
)


def test_readers_never_see_a_recomputed_day_missing_on_duckdb(tmp_path: Path) -> None:
    """On DuckDB each delete and insert runs in one transaction: a reader between them sees the day's
    rows as before (ClickHouse has no such transactions: docs/analytics.md)."""
    store = open_store(f"duckdb:///{tmp_path / 'analytics.duckdb'}")
    try:
        ensure_schema(store)
        facts = Facts(seed=23)
        days = [date(2026, 3, d) for d in range(1, 4)]
        facts.batch(store, orders=30, days=days, refunds=0)
        rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0))
        marks = _marks(facts)
        facts.batch(store, orders=5, days=days, refunds=5)
        before = {t: store.query(f"SELECT count(*) FROM {t}")[0][0] for t in rollups.TABLES}  # noqa: S608
        seen: dict[str, int] = {}
        run = store.run

        def reads_between(sql: str, **params: Any) -> None:
            run(sql, **params)
            table = sql.split()[2] if sql.startswith("DELETE FROM") else None
            if table in ("economics_days", "sku_days", "commission_lines", "order_link_days"):
                reader = threading.Thread(
                    target=lambda: seen.setdefault(table, store.query(f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608
                )
                reader.start()
                reader.join(30)

        store.run = reads_between  # type: ignore[method-assign]
        try:
            rollups.recompute(store, marks=marks)
        finally:
            store.run = run  # type: ignore[method-assign]
        assert seen == {t: before[t] for t in seen}
        assert len(seen) == 4
    finally:
        store.close()

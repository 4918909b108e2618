"""Benchmark: the analytics reports on DuckDB and chDB against hand-written DuckDB queries over the
same tables in the same run, and an incremental refresh of new orders from the OLTP database.

    .venv/bin/python bench/analytics.py --smoke                     # 20,000 customers (scripts/test)
    .venv/bin/python bench/analytics.py --customers 1000000         # 5 orders each on average

The generator writes the facts set-based into a DuckDB store (``range()``): customers order 1–9
times over 2024–2026, a third through share links, one order in twenty fully refunded and one in
ten partly; each order pays two commission levels; members form an invite tree. The chDB store gets
the same rows through Arrow. Each report is timed (best of 3) beside a hand-written DuckDB query
that computes the same figures its own way, and the answers must agree. The refresh part builds a
SQLite OLTP database with ``--new-orders`` orders (lines, commissions) and times the extract.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from analytics_baselines import BASE_ECONOMICS, BASE_FISSION, BASE_FUNNEL, BASE_REPEAT, BASE_SIMULATION
from sqlalchemy import text

from neigou.analytics import breakdowns, firsts, reports, rollups
from neigou.analytics.extract import log_watermark, refresh
from neigou.analytics.facts import FACTS
from neigou.analytics.reports import Span, TierRates
from neigou.analytics.schema import ensure_schema
from neigou.analytics.store import Store, open_store
from neigou.kit.db import make_engine, make_session_factory
from neigou.migrations.runner import upgrade

PROGRAM = 1
SPAN = Span(PROGRAM, date(2025, 1, 1), date(2025, 12, 31))
RATES = [TierRates("super_member", 3000, 500)]


def generate(store: Store, customers: int) -> None:
    """Members, orders, lines, commissions, refunds for one program, all set-based."""
    ensure_schema(store)
    members = max(customers // 50, 10)
    groups = max(members // 100, 4)
    run = store.engine.execute
    run("INSERT INTO programs VALUES (1, 'Asia/Shanghai')")
    run(f"""INSERT INTO members SELECT i, 1, CASE WHEN i <= 10 THEN NULL ELSE (hash(i) % (i - 1)) + 1 END,
        TIMESTAMP '2023-01-01' + to_days(CAST(i * 1000 // {members} AS INTEGER)),
        CAST(TIMESTAMP '2023-01-01' + to_days(CAST(i * 1000 // {members} AS INTEGER)) AS DATE)
        FROM range(1, {members} + 1) t(i)""")
    run(f"""CREATE TABLE gen AS
        SELECT row_number() OVER () AS id, c, n,
               TIMESTAMP '2024-01-01' + to_microseconds(CAST(hash(c, n) % (1000 * 86400000000) AS BIGINT)) AS ts,
               hash(c, n, 7) % 100 AS roll
        FROM range(1, {customers} + 1) a(c), LATERAL (SELECT unnest(range(1, CAST(2 + hash(c) % 9 AS BIGINT))) AS n)""")
    run(f"""INSERT INTO orders SELECT id, 1, 'c' || c,
        CASE WHEN roll < 33 THEN 1 + hash(c) % {members} END,
        CASE WHEN roll < 33 THEN 1 + hash(c) % {members} % {groups} END, NULL,
        CASE WHEN roll < 33 THEN 'super_member' END,
        CASE WHEN roll < 33 THEN 'L' || (1 + hash(c) % {members}) END,
        CASE WHEN roll < 33 THEN 'group_link' ELSE 'organic' END, roll < 20,
        CASE WHEN roll < 33 THEN 2490 ELSE 4990 END, 4990, 0, CASE WHEN roll < 20 THEN 2500 ELSE 0 END,
        ts, epoch_us(ts), CAST(ts + INTERVAL 8 HOUR AS DATE) FROM gen""")
    run("""INSERT INTO order_lines SELECT id, 1, id, 1, 'SKU' || (id % 500), id % 20, 1, list_fen, paid_fen, 2000, NULL,
        paid_fen * 2000 // 10000
        FROM orders""")
    run("""INSERT INTO commissions SELECT id * 2, 1, id, member_id, 1, 'super_member', 2000,
            paid_fen * 2000 * 2000 // 100000000 FROM orders WHERE member_id IS NOT NULL
        UNION ALL SELECT id * 2 + 1, 1, id, 1, 2, 'mentor', 1000,
            paid_fen * 2000 * 1000 // 100000000 FROM orders WHERE member_id IS NOT NULL""")
    run("""INSERT INTO refunds SELECT id, 1, id, CASE WHEN hash(id) % 20 = 0 THEN paid_fen ELSE paid_fen // 3 END,
        NULL, paid_at + INTERVAL 3 DAY, CAST(paid_at + INTERVAL 3 DAY AS DATE)
        FROM orders WHERE hash(id) % 10 = 0""")
    run("DROP TABLE gen")
    generate_clicks(store, members, groups)


def generate_clicks(store: Store, members: int, groups: int) -> None:
    """One share link per member (its orders carry the link's code and group), ten clicks per
    order spread over the links and days (one in ten a bot), and a claim for every third order."""
    run = store.engine.execute
    run(f"""INSERT INTO links SELECT i, 1, i, 'L' || i, 'SKU' || (i % 500), 1 + (i - 1) % {groups}, i % 5 = 0
        FROM range(1, {members} + 1) t(i)""")
    orders = int(store.query("SELECT count(*) FROM orders")[0][0])
    run(f"""INSERT INTO clicks SELECT i, 1, link_id, link_id, ts, CAST(ts + INTERVAL 8 HOUR AS DATE), hash(i, 5) % 10 <> 0
        FROM (SELECT i, 1 + hash(i) % {members} AS link_id,
                     TIMESTAMP '2024-01-01' + to_microseconds(CAST(hash(i, 3) % (1000 * 86400000000) AS BIGINT)) AS ts
              FROM range(1, {10 * orders} + 1) t(i))""")
    run(f"""INSERT INTO claims SELECT i, 1, l.id, l.member_id, l.group_id, 'c' || (1 + hash(i, 9) % {orders}),
            l.hidden_coupon, l.sku, 4990, CASE WHEN l.hidden_coupon THEN 2490 ELSE 3990 END, ts,
            CAST(ts + INTERVAL 8 HOUR AS DATE)
        FROM (SELECT i, 1 + hash(i) % {members} AS link_id,
                     TIMESTAMP '2024-01-01' + to_microseconds(CAST(hash(i, 3) % (1000 * 86400000000) AS BIGINT)) AS ts
              FROM range(1, {orders // 3} + 1) t(i)) JOIN links l ON l.id = link_id""")


def first_orders(store: Store) -> float:
    """The pre-aggregated first orders (and cohort months) over every customer, as a first refresh
    builds them; seconds."""
    start = time.perf_counter()
    firsts.recompute(store, marks=dict.fromkeys(firsts.MARKS, 0))
    return time.perf_counter() - start


def rollup_days(store: Store) -> float:
    """The pre-aggregated days (economics, sku and brand, commission lines; the funnel's clicks,
    claims and orders per link) over every order, click and claim, as a first refresh builds them;
    seconds."""
    start = time.perf_counter()
    rollups.recompute(store, marks=dict.fromkeys(rollups.MARKS, 0))
    for _fact, recompute in rollups.ON_MARKS.values():
        recompute(store, mark=0)
    return time.perf_counter() - start


def incremental(store: Store, refunds: int = 1_000) -> tuple[int, int, float, float]:
    """Refunds of ``refunds`` orders paid in the span's last week arrive: the days and customers
    a refresh recomputes after copying them, and the seconds each takes."""
    marks = {
        name: int(store.query(f"SELECT coalesce(max(id), 0) FROM {name}")[0][0]) for name in rollups.MARKS
    }
    store.engine.execute(f"""INSERT INTO refunds SELECT {marks["refunds"]} + row_number() OVER (ORDER BY id), 1, id,
        paid_fen // 4, NULL, paid_at + INTERVAL 1 DAY, CAST(paid_at + INTERVAL 1 DAY AS DATE) FROM orders
        WHERE paid_on BETWEEN DATE '2025-12-25' AND DATE '2025-12-31' AND id NOT IN (SELECT order_id FROM refunds)
        ORDER BY id LIMIT {refunds}""")
    start = time.perf_counter()
    days = rollups.recompute(store, marks=marks)
    middle = time.perf_counter()
    customers = firsts.recompute(store, marks=marks)
    return days, customers, middle - start, time.perf_counter() - middle


def copy_store(source: duckdb.DuckDBPyConnection, target: Store) -> None:
    """Every table of the DuckDB store into another store, through Arrow."""
    ensure_schema(target)
    for table in (
        "programs",
        "members",
        "orders",
        "order_lines",
        "commissions",
        "refunds",
        "links",
        "clicks",
        "claims",
        "customer_firsts",
        "customer_months",
        "economics_days",
        "sku_days",
        "commission_lines",
        "click_days",
        "claim_days",
        "order_link_days",
        "member_tree",
        "member_sales",
    ):
        rows = source.sql(f"SELECT * FROM {table}").to_arrow_table()
        for batch in rows.to_batches(max_chunksize=1_000_000):
            target.engine.load(table, pa.Table.from_batches([batch]))


def best(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs, and the answer."""
    times, answer = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = fn()
        times.append(time.perf_counter() - start)
    return min(times), answer


def compare(store: Store, base: duckdb.DuckDBPyConnection, label: str) -> list[tuple[str, float, float]]:
    """Each report beside its hand-written baseline; the answers must agree."""
    fission_span = reports.month_span(PROGRAM, "2025-03")
    cases: list[tuple[str, Callable[[], Any], str, Callable[[Any], Any], Callable[[Any], Any]]] = [
        (
            "repeat",
            lambda: reports.repeat(store, SPAN, window_days=30),
            BASE_REPEAT,
            lambda r: [(x.key, x.customers, x.repeat_customers) for x in r.channels],
            lambda rows: [(str(a), int(b), int(c)) for a, b, c in rows],
        ),
        (
            "economics",
            lambda: reports.economics(store, SPAN),
            BASE_ECONOMICS,
            lambda r: (r.orders, r.gmv_fen, r.refund_fen, r.commission_fen),
            lambda rows: tuple(int(v) for v in rows[0]),
        ),
        (
            "simulation",
            lambda: reports.simulate(store, SPAN, RATES),
            BASE_SIMULATION,
            lambda r: (r.actual_commission_fen, r.simulated_commission_fen),
            lambda rows: tuple(int(v) for v in rows[0]),
        ),
        (
            "fission",
            lambda: reports.fission(store, fission_span),
            BASE_FISSION,
            lambda r: (
                r.members_at_start,
                r.recruits,
                r.k_factor_bp,
                r.recruits_active_after_30_days,
                r.depth,
            ),
            lambda rows: (*(int(v) for v in rows[0][:4]), [(int(a), int(b)) for a, b in rows[0][4]]),
        ),
    ]
    cases += [
        (
            f"funnel/{by}",
            lambda by=by: reports.funnel(store, SPAN, by=by),  # type: ignore[misc]
            BASE_FUNNEL[by],
            lambda r: [(x.key, x.clicks, x.claims, x.orders, x.net_fen) for x in r],
            lambda rows: [tuple(int(v) for v in row) for row in rows],
        )
        for by in ("link", "member", "group")
    ]
    out = []
    for name, report, baseline, shape, base_shape in cases:
        report_s, answer = best(report)
        base_s, rows = best(lambda q=baseline: base.execute(q).fetchall())  # type: ignore[misc]
        if shape(answer) != base_shape(rows):
            sys.exit(f"{label} {name}: report {shape(answer)} != baseline {base_shape(rows)}")
        out.append((name, report_s, base_s))
        print(
            f"{label:8} {name:13} report {report_s * 1000:8.1f} ms  baseline {base_s * 1000:8.1f} ms  "
            f"ratio {report_s / base_s:5.2f}"
        )
    return out


def timed_only(store: Store, label: str) -> list[tuple[str, float, float]]:
    """Reports without a hand-written twin here: their time alone (best of 3)."""
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("cohorts", lambda: reports.cohorts(store, SPAN)),
        ("customers", lambda: reports.customer_value(store, SPAN)),
        ("customers/tier", lambda: reports.customer_value(store, SPAN, by="tier")),
        ("econ/day", lambda: breakdowns.economics_by(store, SPAN, by="day")),
        ("econ/tier", lambda: breakdowns.economics_by(store, SPAN, by="tier")),
        ("econ/group", lambda: breakdowns.economics_by(store, SPAN, by="group")),
        ("econ/sku", lambda: breakdowns.economics_by(store, SPAN, by="sku")),
        ("econ/brand", lambda: breakdowns.economics_by(store, SPAN, by="brand")),
        ("prices", lambda: reports.prices(store, SPAN)),
    ]
    out = []
    for name, report in cases:
        seconds, _answer = best(report)
        out.append((name, seconds, 0.0))
        print(f"{label:8} {name:14} report {seconds * 1000:8.1f} ms")
    return out


# The marks a refresh logs for its derived tables, each with the fact whose ids it follows.
DERIVED_MARKS = {
    **{f"firsts.{name}": name for name in firsts.MARKS},
    **{f"rollups.{name}": name for name in rollups.MARKS},
    **{f"rollups.{name}": fact for name, (fact, _recompute) in rollups.ON_MARKS.items()},
}


def as_copied(store: Store) -> int:
    """Log every fact's and derived table's watermark at the store's largest id, as if the generated
    rows had been copied and kept by earlier refreshes; the largest id of any fact."""
    largest = {
        fact.name: int(store.query(f"SELECT coalesce(max(id), 0) FROM {fact.name}")[0][0]) for fact in FACTS
    }
    for name, last in largest.items():
        log_watermark(store, name, last)
    for name, fact in DERIVED_MARKS.items():
        log_watermark(store, name, largest.get(fact, 0))  # no risk voids (``voids``) generated
    return max(largest.values())


def oltp_refresh(directory: Path, new_orders: int, store_path: Path | None = None) -> float:
    """An OLTP SQLite database with ``new_orders`` orders; the time an incremental refresh takes into
    a fresh store, or into the store at ``store_path`` (its rows taken as copied, the new ids above)."""
    store = open_store(f"duckdb:///{store_path or directory / 'refresh.duckdb'}")
    first = as_copied(store) + 1 if store_path else 1
    url = f"sqlite:///{directory / f'oltp{first}.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO programs (id, organization_id, code, name, timezone, attribution_model, "
                "attribution_window_days, freeze_days, max_levels, self_purchase_commission, created_at) "
                "VALUES (1, (SELECT id FROM organizations WHERE code = 'default'), 'bench', 'bench', "
                "'Asia/Shanghai', 'last_click', 30, 7, 2, 0, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO members (id, program_id, name, joined_at) VALUES "
                "(1, 1, 'm', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(f"""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {new_orders})
            INSERT INTO orders (id, program_id, external_id, customer_ref_hash, member_id, attribution_basis,
                self_purchase, paid_fen, refunded_fen, commission_fen, paid_at, commission_state, pricing,
                source, created_at)
            SELECT {first} + i, 1, 'e' || i, 'c' || (i % 20000), 1, 'link', 0, 4990, 0, 199,
                datetime('2026-02-01', '+' || (i % 86400) || ' seconds'), 'pending',
                '{{"list_total_fen": 4990, "promotion_discount_fen": 0, "coupon_discount_fen": 0}}', 'api',
                '2026-02-01 00:00:00' FROM n""")
        )
        conn.execute(
            text("""INSERT INTO order_lines (id, order_id, line_no, sku, quantity, list_fen, paid_fen,
            commission_rate_bp, pool_fen) SELECT id, id, 1, 'SKU', 1, 4990, 4990, 2000, 998 FROM orders""")
        )
        conn.execute(
            text("""INSERT INTO commissions (id, order_id, program_id, member_id, level, tier_code, bp,
            amount_fen, reversed_fen) SELECT id, id, 1, 1, 1, 'super_member', 2000, 199, 0 FROM orders""")
        )
    factory = make_session_factory(engine)
    with factory() as session:
        start = time.perf_counter()
        copied = refresh(session, store)
        elapsed = time.perf_counter() - start
    engine.dispose()
    assert copied["orders"] == new_orders, copied
    store.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--new-orders", type=int, default=100_000)
    parser.add_argument("--smoke", action="store_true", help="20,000 customers, 5,000 new orders")
    parser.add_argument("--no-chdb", action="store_true", help="DuckDB only")
    args = parser.parse_args()
    if args.smoke:
        args.customers, args.new_orders = 20_000, 5_000
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        store = open_store(f"duckdb:///{directory / 'a.duckdb'}")
        start = time.perf_counter()
        generate(store, args.customers)
        orders = store.query("SELECT count(*) FROM orders")[0][0]
        print(
            f"generated {args.customers:,} customers, {orders:,} orders in {time.perf_counter() - start:.1f} s"
        )
        print(f"first orders of every customer (a first refresh's share) in {first_orders(store):.2f} s")
        print(f"pre-aggregated days of every order (a first refresh's share) in {rollup_days(store):.2f} s")
        days, customers, days_s, customers_s = incremental(store)
        print(
            f"1,000 new refunds: {days} days recomputed in {days_s:.2f} s, "
            f"{customers:,} customers in {customers_s:.2f} s"
        )
        store.close()
        base = duckdb.connect(str(directory / "a.duckdb"))
        duck = open_store(f"duckdb:///{directory / 'a.duckdb'}")
        results = compare(duck, base, "duckdb") + timed_only(duck, "duckdb")
        if not args.no_chdb:
            clickhouse = open_store(f"chdb:///{directory / 'chdb'}")
            copy_store(base, clickhouse)
            results += compare(clickhouse, base, "chdb") + timed_only(clickhouse, "chdb")
            clickhouse.close()
        base.close()
        duck.close()
        refresh_s = oltp_refresh(directory, args.new_orders)
        print(f"refresh  {args.new_orders:,} new orders (lines, commissions) from SQLite: {refresh_s:.2f} s")
        refresh_s = oltp_refresh(directory, args.new_orders, directory / "a.duckdb")
        print(f"refresh  the same into the store of {orders:,} orders: {refresh_s:.2f} s")
    slowest = max(r for _, r, _ in results)
    print(f"slowest report {slowest * 1000:.1f} ms")


if __name__ == "__main__":
    main()

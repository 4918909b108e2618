"""The kept funnel days (clicks, claims and orders per day and link, member and group) answer the
funnel as the facts themselves do, exactly, on DuckDB and chDB: random links in two programs and
groups, clicks by people and bots, claims and orders (some through no link, some refunded later)
over several days, more of each arriving later (on old and new days), and a recomputation killed
between its delete and its insert."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from neigou.analytics import rollups
from neigou.analytics.reports import FUNNEL_KEYS, Span, funnel_statement
from neigou.analytics.store import Store
from tests.analytics.stores import Killed, dying_before_insert, load

pytestmark = pytest.mark.no_database

SPANS = [
    Span(program, start, end)
    for program in (1, 2)
    for start, end in ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 3, 5), date(2026, 3, 6)))
]
FACTS = ("clicks", "claims", "orders", "refunds")


def _at(rng: random.Random, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).replace(tzinfo=None) + timedelta(
        minutes=rng.randrange(1440)
    )


class Funnel:
    """Twelve links over two programs (some in a group), then clicks, claims, orders and refunds in
    batches with growing ids."""

    def __init__(self, store: Store, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store = store
        self.last = dict.fromkeys(FACTS, 0)
        self.orders: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = [
            {
                "id": i,
                "program_id": 1 + i % 2,
                "member_id": 100 + i % 5,
                "code": f"L{i}",
                "sku": f"S{i % 3}",
                "group_id": None if i % 4 == 0 else 10 + i % 3,
                "hidden_coupon": i % 2 == 0,
            }
            for i in range(1, 13)
        ]
        load(store, "links", self.links)

    def _id(self, fact: str) -> int:
        self.last[fact] += 1
        return self.last[fact]

    def batch(self, count: int, days: list[date]) -> None:
        """``count`` clicks, a third as many claims and orders, refunds of a tenth of the orders so far."""
        rng = self.rng
        rows: dict[str, list[dict[str, Any]]] = {fact: [] for fact in FACTS}
        for _ in range(count):
            link, day = rng.choice(self.links), rng.choice(days)
            rows["clicks"].append(
                {"id": self._id("clicks"), "program_id": link["program_id"], "link_id": link["id"]}
                | {"member_id": link["member_id"], "clicked_at": _at(rng, day), "clicked_on": day}
                | {"human": rng.random() < 0.8}
            )
        for _ in range(count // 3):
            link, day = rng.choice(self.links), rng.choice(days)
            through = rng.random() < 0.8
            rows["claims"].append(
                {"id": self._id("claims"), "program_id": link["program_id"]}
                | {
                    "link_id": link["id"] if through else None,
                    "member_id": link["member_id"] if through else None,
                }
                | {"group_id": link["group_id"] if through else None, "customer": f"c{rng.randrange(20)}"}
                | {
                    "hidden_coupon": link["hidden_coupon"],
                    "sku": link["sku"],
                    "list_fen": 4990,
                    "group_fen": 2490,
                }
                | {"claimed_at": _at(rng, day), "claimed_on": day}
            )
            self._order(rows, link if through else None, rng.choice(days))
        for order in rng.sample(self.orders, len(self.orders) // 10):
            at = order["paid_at"] + timedelta(days=2)
            rows["refunds"].append(
                {"id": self._id("refunds"), "program_id": order["program_id"], "order_id": order["id"]}
                | {"amount_fen": rng.randint(1, 500), "refunded_at": at, "refunded_on": at.date()}
            )
        for fact, fact_rows in rows.items():
            if fact_rows:
                load(self.store, fact, fact_rows)

    def _order(self, rows: dict[str, list[dict[str, Any]]], link: dict[str, Any] | None, day: date) -> None:
        rng, at = self.rng, _at(self.rng, day)
        program = link["program_id"] if link else rng.choice((1, 2))
        member = link["member_id"] if link else rng.choice((None, 101))
        order: dict[str, Any] = {
            "id": self._id("orders"),
            "program_id": program,
            "customer": f"c{rng.randrange(20)}",
        }
        order |= {"member_id": member, "group_id": link["group_id"] if link else None, "event_id": None}
        order |= {"tier_code": None, "link_code": link["code"] if link else None, "channel": "organic"}
        order |= {"hidden_coupon": False, "paid_fen": rng.randint(500, 9000), "list_fen": 9990}
        order |= {"promotion_fen": 0, "coupon_fen": 0, "paid_at": at}
        order |= {"paid_us": int(at.replace(tzinfo=UTC).timestamp() * 1_000_000), "paid_on": day}
        rows["orders"].append(order)
        self.orders.append(order)

    def keep(self, marks: dict[str, int]) -> int:
        """Recompute what lies above ``marks``, as a refresh does; the days touched."""
        orders = {name: marks.get(name, 0) for name in rollups.MARKS}
        touched = rollups.recompute(self.store, marks=orders)
        return touched + sum(rollups.recount(self.store, fact, mark=marks[fact]) for fact in rollups.COUNTED)


def _rows(store: Store, sql: str, **params: Any) -> list[tuple[int, ...]]:
    return sorted(tuple(int(v) for v in row) for row in store.query(sql, **params))


def _same(store: Store) -> None:
    # Each statement costs chDB tens of milliseconds: on ClickHouse one program's month and the other's two
    # days are compared, on DuckDB all four spans.
    for span in SPANS if store.engine.dialect == "duckdb" else [SPANS[0], SPANS[3]]:
        for by in FUNNEL_KEYS:
            scan, kept = funnel_statement(by, kept=False), funnel_statement(by, kept=True)
            expected = _rows(store, scan, **span.params())
            assert _rows(store, kept, **span.params()) == expected, (span, by)
            assert all(sum(row[i] for row in expected) > 0 for i in (1, 2, 3)), (span, by)


def test_the_kept_days_answer_the_funnel_as_the_facts_do_after_late_facts(store: Store) -> None:
    funnel = Funnel(store, seed=20261204)
    march = [date(2026, 3, d) for d in range(1, 32)]
    funnel.batch(400, [date(2026, 2, 28), *march])
    assert funnel.keep(dict.fromkeys(FACTS, 0)) > 0
    _same(store)
    marks = dict(funnel.last)
    funnel.batch(60, [date(2026, 3, 5), date(2026, 4, 1)])
    assert funnel.keep(marks) > 0
    _same(store)
    # Nothing new: nothing recomputed, nothing moves; each fact is counted once.
    assert funnel.keep(dict(funnel.last)) == 0
    _same(store)
    for table, column, fact in (
        ("click_days", "clicks", "clicks WHERE human"),
        ("claim_days", "claims", "claims"),
        ("order_link_days", "orders", "orders"),
    ):
        ((kept,),) = store.query(f"SELECT sum({column}) FROM {table}")  # noqa: S608
        ((counted,),) = store.query(f"SELECT count(*) FROM {fact}")  # noqa: S608
        assert int(kept) == int(counted), table


@pytest.mark.parametrize("table", ["click_days", "claim_days", "order_link_days"])
def test_a_recomputation_killed_between_delete_and_insert_redoes_the_same_days(
    store: Store, table: str
) -> None:
    funnel = Funnel(store, seed=7)
    days = [date(2026, 3, d) for d in range(1, 11)]
    funnel.batch(200, days)
    funnel.keep(dict.fromkeys(FACTS, 0))
    marks = dict(funnel.last)
    funnel.batch(30, days[3:6])
    with dying_before_insert(store, table), pytest.raises(Killed):
        funnel.keep(marks)
    funnel.keep(marks)
    _same(store)

"""The kept clicks per day and link answer the funnel as the clicks themselves do, exactly, on DuckDB
and chDB: random links in two programs and groups, clicks by people and bots over several days,
more clicks arriving later (on old and new days), and a recomputation killed between its delete and
its insert."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from neigou.analytics import queries, rollup_queries, rollups
from neigou.analytics.extract import ensure_schema
from neigou.analytics.facts import BY_NAME
from neigou.analytics.reports import FUNNEL_KEYS, Span
from neigou.analytics.store import Store, open_store

ARROW = {
    "int": pa.int64(),
    "str": pa.string(),
    "date": pa.date32(),
    "ts": pa.timestamp("us"),
    "bool": pa.bool_(),
}
SPANS = [
    Span(program, start, end)
    for program in (1, 2)
    for start, end in ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 3, 5), date(2026, 3, 6)))
]


class Killed(Exception):
    """Stands for the process dying midway."""


@pytest.fixture(params=["duckdb", "chdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "chdb":
        pytest.importorskip("chdb")
    opened = open_store(f"{request.param}:///{tmp_path / request.param}")
    ensure_schema(opened)
    yield opened
    opened.close()


def _load(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    schema = pa.schema([(column.name, ARROW[column.kind]) for column in BY_NAME[table].columns])
    store.engine.load(table, pa.Table.from_pylist(rows, schema=schema))


class Clicks:
    """Twelve links over two programs (some in a group), then clicks in batches with growing ids."""

    def __init__(self, store: Store, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store = store
        self.last = 0
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
        _load(store, "links", self.links)

    def batch(self, count: int, days: list[date]) -> set[tuple[int, date]]:
        rows, touched = [], set()
        for _ in range(count):
            self.last += 1
            link = self.rng.choice(self.links)
            day = self.rng.choice(days)
            at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                minutes=self.rng.randrange(1440)
            )
            rows.append(
                {
                    "id": self.last,
                    "program_id": link["program_id"],
                    "link_id": link["id"],
                    "member_id": link["member_id"],
                    "clicked_at": at.replace(tzinfo=None),
                    "clicked_on": day,
                    "human": self.rng.random() < 0.8,
                }
            )
            touched.add((int(link["program_id"]), day))
        _load(self.store, "clicks", rows)
        return touched


def _rows(store: Store, sql: str, **params: Any) -> list[tuple[int, ...]]:
    return sorted(tuple(int(v) for v in row) for row in store.query(sql, **params))


def _same(store: Store) -> None:
    for span in SPANS:
        for by, (click_key, claim_key, order_key) in FUNNEL_KEYS.items():
            scan, kept = (
                queries.FUNNEL.format(
                    clicks=part.format(click_key=click_key), claim_key=claim_key, order_key=order_key
                )
                for part in (queries.FUNNEL_CLICKS, rollup_queries.FUNNEL_CLICKS)
            )
            expected = _rows(store, scan, **span.params())
            assert _rows(store, kept, **span.params()) == expected, (span, by)
            assert sum(row[1] for row in expected) > 0, (span, by)


def test_kept_clicks_answer_the_funnel_as_the_clicks_do_after_late_clicks(store: Store) -> None:
    clicks = Clicks(store, seed=20261204)
    march = [date(2026, 3, d) for d in range(1, 32)]
    first = clicks.batch(400, [date(2026, 2, 28), *march])
    assert rollups.recompute_clicks(store, mark=0) == len(first)
    _same(store)
    mark = clicks.last
    second = clicks.batch(60, [date(2026, 3, 5), date(2026, 4, 1)])
    assert rollups.recompute_clicks(store, mark=mark) == len(second)
    _same(store)
    # Nothing new: nothing recomputed, nothing moves; each day's clicks by people are counted once.
    assert rollups.recompute_clicks(store, mark=clicks.last) == 0
    _same(store)
    ((kept,),) = store.query("SELECT sum(clicks) FROM click_days")
    ((human,),) = store.query("SELECT count(*) FROM clicks WHERE human")
    assert int(kept) == int(human)


def test_a_click_recomputation_killed_between_delete_and_insert_redoes_the_same_days(store: Store) -> None:
    clicks = Clicks(store, seed=7)
    days = [date(2026, 3, d) for d in range(1, 11)]
    clicks.batch(200, days)
    rollups.recompute_clicks(store, mark=0)
    mark = clicks.last
    clicks.batch(30, days[3:6])
    run = store.run

    def dies_after_the_delete(sql: str, **params: Any) -> None:
        if sql.lstrip().startswith("INSERT INTO click_days"):
            raise Killed
        run(sql, **params)

    store.run = dies_after_the_delete  # type: ignore[method-assign]
    with pytest.raises(Killed):
        rollups.recompute_clicks(store, mark=mark)
    store.run = run  # type: ignore[method-assign]
    rollups.recompute_clicks(store, mark=mark)
    _same(store)

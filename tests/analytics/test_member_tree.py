"""The kept invite tree and last sales answer the fission report as the recursive walk over the facts
does, exactly, on DuckDB and chDB: a random tree in two programs (some invitees joined before their
inviter, some inviters copied after their invitees), orders sold by members over the months, more
members and orders arriving later, and a recomputation killed between its delete and its insert."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neigou.analytics import data_time, queries, rollup_queries, tree
from neigou.analytics.reports import month_span
from neigou.analytics.store import Store
from tests.analytics.stores import Killed, dying_before_insert, load

pytestmark = pytest.mark.no_database

SPANS = [month_span(program, period) for program in (1, 2) for period in ("2026-02", "2026-03", "2026-05")]
START = datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None)


class Network:
    """Members invited by earlier (or, now and then, later) members; orders they sold."""

    def __init__(self, store: Store, seed: int) -> None:
        self.rng = random.Random(seed)
        self.store = store
        self.members: dict[int, dict[str, Any]] = {}
        self.last_order = 0

    def members_batch(self, ids: list[int], promised: tuple[int, ...] = ()) -> None:
        """Members ``ids``, invited now and then by one of ``promised`` (copied in a later batch)."""
        rng, rows = self.rng, []
        for member_id in ids:
            program = 1 + member_id % 2
            same = [m["id"] for m in self.members.values() if m["program_id"] == program]
            same += [i for i in promised if 1 + i % 2 == program]
            inviter = rng.choice(same) if same and rng.random() < 0.85 else None
            joined = START + timedelta(days=rng.randrange(150), minutes=rng.randrange(1440))
            row = {"id": member_id, "program_id": program, "inviter_id": inviter}
            row |= {"joined_at": joined, "joined_on": joined.date()}
            self.members[member_id] = row
            rows.append(row)
        load(self.store, "members", rows)

    def orders_batch(self, count: int) -> None:
        rng, rows = self.rng, []
        for _ in range(count):
            self.last_order += 1
            member = rng.choice(list(self.members.values()))
            at = member["joined_at"] + timedelta(days=rng.randrange(70))
            order: dict[str, Any] = {
                "id": self.last_order,
                "program_id": member["program_id"],
                "customer": "c",
            }
            order |= {"member_id": member["id"], "group_id": None, "event_id": None, "tier_code": None}
            order |= {"link_code": None, "channel": "organic", "hidden_coupon": False, "paid_fen": 100}
            order |= {"list_fen": 100, "promotion_fen": 0, "coupon_fen": 0, "paid_at": at}
            rows.append(order | {"paid_us": 0, "paid_on": at.date()})
        load(self.store, "orders", rows)


def _same(store: Store) -> None:
    for span in SPANS:
        scan = sorted(
            tuple(int(v) for v in r)
            for r in store.query(queries.FISSION, **span.params(), as_of=data_time.as_of(store))
        )
        kept = sorted(
            tuple(int(v) for v in r)
            for r in store.query(rollup_queries.FISSION, **span.params(), as_of=data_time.as_of(store))
        )
        assert kept == scan, span


def _keep(network: Network, members_mark: int, orders_mark: int) -> tuple[int, int]:
    return (
        tree.recompute_tree(network.store, mark=members_mark),
        tree.recompute_sales(network.store, mark=orders_mark),
    )


def test_the_kept_tree_answers_fission_as_the_walk_does_after_late_members_and_orders(store: Store) -> None:
    network = Network(store, seed=20261204)
    # Members 1–60 but 5 and 7, some of them invited by 5 or 7, which are copied in the second batch
    # with 61–90.
    network.members_batch([i for i in range(1, 61) if i not in (5, 7)], promised=(5, 7))
    network.orders_batch(150)
    assert _keep(network, 0, 0) == (2, len({m["id"] for m in network.members.values()} & _sellers(store)))
    _same(store)
    assert max(int(r[0]) for r in store.query("SELECT level FROM member_tree")) > 2
    network.members_batch([5, 7, *range(61, 91)])
    network.orders_batch(40)
    orphans = [m for m in network.members.values() if m["inviter_id"] in (5, 7) and m["id"] <= 60]
    assert orphans
    assert _keep(network, 60, 150)[0] == 2
    _same(store)
    assert _keep(network, 90, 190) == (0, 0)
    _same(store)
    active = sum(
        int(r[4])
        for span in SPANS
        for r in store.query(rollup_queries.FISSION, **span.params(), as_of=data_time.as_of(store))
    )
    assert active > 0


def _sellers(store: Store) -> set[int]:
    return {int(r[0]) for r in store.query("SELECT DISTINCT member_id FROM orders")}


@pytest.mark.parametrize("table", ["member_tree", "member_sales"])
def test_a_tree_recomputation_killed_between_delete_and_insert_redoes_it(store: Store, table: str) -> None:
    network = Network(store, seed=7)
    network.members_batch(list(range(1, 41)))
    network.orders_batch(80)
    _keep(network, 0, 0)
    network.members_batch(list(range(41, 51)))
    network.orders_batch(20)
    with dying_before_insert(store, table), pytest.raises(Killed):
        _keep(network, 40, 80)
    _keep(network, 40, 80)
    _same(store)

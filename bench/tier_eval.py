"""Benchmark: monthly tier evaluation of a large program on PostgreSQL, against one hand-written
aggregate query over the same tables in the same run. Reports both times and their ratio.

    .venv/bin/python bench/tier_eval.py                   # 1,000,000 members, 5,000,000 orders
    .venv/bin/python bench/tier_eval.py --smoke           # 20,000 members (scripts/test)
    .venv/bin/python bench/tier_eval.py --members 200000

The data is generated set-based (``INSERT … SELECT … FROM generate_series``): one in ten members
joined in the evaluated month (March 2026) under a small set of busy inviters, half of the orders go
to a tenth of the members, one order in twenty is fully refunded. The baseline query computes the
same per-member figures (tier at the period's end, net orders and sales, recruits at or above each
tier) and hands every row to Python; the evaluation does that and decides, and the real run also
writes the changes. The changes found are checked against the baseline's figures.

Needs PostgreSQL (NEIGOU_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from scratch import scratch_postgres
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.actor import Actor
from neigou.kit.db import opened_database
from neigou.migrations.runner import upgrade
from neigou.tiers.service import evaluate

ADMIN_URL = os.environ.get("NEIGOU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACTOR = Actor(kind="cli", ref="bench", label="benchmark")
PERIOD = "2026-03"
SHANGHAI = ZoneInfo("Asia/Shanghai")
OLD = datetime(2025, 6, 1, tzinfo=SHANGHAI)
FEB = datetime(2026, 2, 1, tzinfo=SHANGHAI)
MARCH = START = datetime(2026, 3, 1, tzinfo=SHANGHAI)
END = datetime(2026, 4, 1, tzinfo=SHANGHAI)
AT = datetime(2026, 4, 2, tzinfo=UTC)
ROUNDS = 3

LADDER = """
INSERT INTO tiers (program_id, code, name, rank, share_bp, override_bp, upgrade) VALUES
 (1, 'super_member', '超级会员', 1, 2000, 500, NULL),
 (1, 'mentor', '导师', 2, 3000, 1000,
  '{"period": "month", "all": [{"metric": "direct_recruits", "gte": 3, "tier": "super_member"},
    {"metric": "orders", "gte": 10}], "keep": {"periods": 1, "all": [{"metric": "orders", "gte": 2}]}}'),
 (1, 'partner', '合伙人', 3, 4000, 1000,
  '{"period": "month", "all": [{"metric": "gmv_fen", "gte": 300000},
    {"metric": "direct_recruits", "gte": 1, "tier": "mentor"}]}')
"""

MEMBERS = """
INSERT INTO members (id, program_id, name, inviter_id, tier_code, joined_at)
SELECT i, 1, 'm' || i,
       CASE WHEN i <= 10 THEN NULL
            WHEN i % 10 = 0 THEN 1 + floor(random() * greatest(:n / 100, 1))::int
            ELSE 1 + floor(random() * (i - 1))::int END,
       CASE WHEN i % 50 = 1 THEN 'partner' WHEN i % 12 = 2 THEN 'mentor' ELSE 'super_member' END,
       CASE WHEN i % 10 = 0 THEN CAST(:march AS timestamptz) + floor(random() * 2678400) * interval '1 second'
            ELSE CAST(:old AS timestamptz) + (i % 86400) * interval '1 second' END
FROM generate_series(1, :n) AS i
"""

PERIODS = """
INSERT INTO member_tier_periods (member_id, tier_code, effective_from, reason)
SELECT id, tier_code, joined_at, 'joined' FROM members
"""

ORDERS = """
INSERT INTO orders (program_id, external_id, customer_ref_hash, member_id, attribution_basis, self_purchase,
                    paid_fen, refunded_fen, commission_fen, paid_at, commission_state, pricing, source, created_at)
SELECT 1, 'B' || j, 'c' || (j % 100000),
       CASE WHEN j % 2 = 0 THEN 1 + floor(random() * greatest(:n / 10, 1))::int
            ELSE 1 + floor(random() * :n)::int END,
       'link', false, 1000 + j % 20000,
       CASE WHEN j % 20 = 0 THEN 1000 + j % 20000 WHEN j % 20 = 1 THEN (1000 + j % 20000) / 2 ELSE 0 END,
       0,
       CASE WHEN random() < 0.2 THEN CAST(:feb AS timestamptz) + floor(random() * 2419200) * interval '1 second'
            ELSE CAST(:march AS timestamptz) + floor(random() * 2678400) * interval '1 second' END,
       'pending', '{}', 'import', now()
FROM generate_series(1, :orders) AS j
"""

BASELINE = """
WITH last AS (
  SELECT DISTINCT ON (p.member_id) p.member_id, p.tier_code
  FROM member_tier_periods p JOIN members m ON m.id = p.member_id
  WHERE m.program_id = 1 AND p.effective_from < :end
  ORDER BY p.member_id, p.effective_from DESC, p.id DESC
), held AS (
  SELECT m.id, coalesce(l.tier_code, m.tier_code) AS tier
  FROM members m LEFT JOIN last l ON l.member_id = m.id
  WHERE m.program_id = 1 AND m.joined_at < :end
), sales AS (
  SELECT member_id, count(*) FILTER (WHERE refunded_fen < paid_fen) AS n, sum(paid_fen - refunded_fen) AS gmv
  FROM orders
  WHERE program_id = 1 AND member_id IS NOT NULL AND paid_at >= :start AND paid_at < :end
  GROUP BY member_id
), rec AS (
  SELECT r.inviter_id,
         count(*) FILTER (WHERE h.tier IN ('super_member', 'mentor', 'partner')) AS super_plus,
         count(*) FILTER (WHERE h.tier IN ('mentor', 'partner')) AS mentor_plus
  FROM members r JOIN held h ON h.id = r.id
  WHERE r.program_id = 1 AND r.inviter_id IS NOT NULL AND r.joined_at >= :start AND r.joined_at < :end
  GROUP BY r.inviter_id
)
SELECT h.id, h.tier, coalesce(s.n, 0), coalesce(s.gmv, 0), coalesce(rec.super_plus, 0), coalesce(rec.mentor_plus, 0)
FROM held h LEFT JOIN sales s ON s.member_id = h.id LEFT JOIN rec ON rec.inviter_id = h.id
"""


def _generate(session: Session, members: int) -> None:
    session.execute(
        text(
            "INSERT INTO programs (id, organization_id, code, name, timezone, attribution_model,"
            " attribution_window_days, freeze_days, max_levels, self_purchase_commission, created_at)"
            " SELECT 1, id, 'bench', 'bench', 'Asia/Shanghai', 'last_click', 15, 7, 2, true,"
            " '2025-01-01T00:00:00Z' FROM organizations WHERE code = 'default'"
        )
    )
    session.execute(text(LADDER))
    session.execute(text("SELECT setseed(0.2026)"))
    session.execute(text(MEMBERS), {"n": members, "march": MARCH, "old": OLD})
    session.execute(text("SELECT setval(pg_get_serial_sequence('members', 'id'), :n)"), {"n": members})
    session.execute(text(PERIODS))
    session.execute(text(ORDERS), {"n": members, "orders": 5 * members, "march": MARCH, "feb": FEB})
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()


def _expected(rows: list[tuple[Any, ...]]) -> dict[str, int]:
    """Changes implied by the baseline's figures under the bench ladder."""
    counts = {"upgrade": 0, "demotion": 0}
    for _id, tier, orders, gmv, super_plus, mentor_plus in rows:
        to_partner = tier != "partner" and gmv >= 300_000 and mentor_plus >= 1
        if to_partner or (tier == "super_member" and super_plus >= 3 and orders >= 10):
            counts["upgrade"] += 1
        elif tier == "mentor" and orders < 2:
            counts["demotion"] += 1
    return counts


def _run(factory: sessionmaker[Session], members: int) -> None:
    """Generate, time the baseline and both evaluations, check them against each other, print."""
    started = time.perf_counter()
    with factory() as session:
        _generate(session, members)
    generate_s = time.perf_counter() - started
    with factory() as session:
        session.execute(text(BASELINE), {"start": START, "end": END}).fetchall()  # warm the cache
    # Alternate the two and keep each one's best time: the machine is shared.
    baseline_s = dry_s = float("inf")
    for _ in range(ROUNDS):
        with factory() as session:
            started = time.perf_counter()
            rows = [tuple(r) for r in session.execute(text(BASELINE), {"start": START, "end": END})]
            baseline_s = min(baseline_s, time.perf_counter() - started)
        with factory() as session:
            started = time.perf_counter()
            dry = evaluate(session, program_id=1, period_text=PERIOD, dry_run=True, actor=ACTOR, at=AT)
            dry_s = min(dry_s, time.perf_counter() - started)
    with factory() as session:
        started = time.perf_counter()
        real = evaluate(session, program_id=1, period_text=PERIOD, dry_run=False, actor=ACTOR, at=AT)
        session.commit()
        real_s = time.perf_counter() - started
    expected = _expected(rows)
    found = {k: sum(c.kind == k for c in real.changes) for k in ("upgrade", "demotion")}
    assert found == expected, (found, expected)
    assert dry.changes == real.changes
    assert real.members_evaluated == len(rows) == members
    print(f"members {members:,}, orders {5 * members:,} (generated in {generate_s:.1f} s)")
    print(f"changes: {found['upgrade']:,} upgrades, {found['demotion']:,} demotions")
    print(f"best of {ROUNDS}, alternating:")
    print(f"hand-written aggregate query (rows to Python): {baseline_s:.2f} s")
    print(f"evaluation, dry run:                           {dry_s:.2f} s")
    print(f"evaluation, recorded (writes and commit):      {real_s:.2f} s")
    print(f"ratio dry run / query: {dry_s / baseline_s:.1f}; recorded / query: {real_s / baseline_s:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="20,000 members, for the test script")
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema")
    args = parser.parse_args()
    members = 20_000 if args.smoke else args.members
    with scratch_postgres(ADMIN_URL, "neigou_bench", keep=args.keep) as url:
        upgrade(url)
        with opened_database(url) as factory:
            _run(factory, members)
    return 0


if __name__ == "__main__":
    sys.exit(main())

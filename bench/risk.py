"""Benchmark: the nightly risk scan over a program of 1,000,000 orders with every fraud pattern
planted, against hand-written SQL that finds the same patterns, in the same run. Reports precision
and recall per rule and the two times with their ratio (target: scan ≤ 2× the hand-written SQL).

    .venv/bin/python bench/risk.py                 # 1,000,000 orders, 50,000 members
    .venv/bin/python bench/risk.py --smoke         # 20,000 orders (scripts/test)
    .venv/bin/python bench/risk.py --orders 200000

The data is generated set-based (``INSERT … SELECT … FROM generate_series``). Background: orders
spread over March 2026 among all members (one in twenty of at most ¥5), coupon claims by visitors
holding one or two customer references, recruits joining through the month, a tenth of the orders
released by a settlement and one in fifty of those refunded after release (no two by one member, so no
background member refunds like an abuser), plausible group counts.
Planted, ``P = max(5, orders / 5000)`` of each: members with 12 orders of ¥3 within 44 minutes
(order_brushing), visitors claiming one coupon under 6 references (coupon_hoarding), buyers paying
with their upline's phone (shared_identity), inviters with 12 recruits joined 30 minutes apart who
never buy (invite_ring), members with 6 of 10 released orders refunded after release
(refund_abuse), implausible group counts (padded_group).

The scan is ``risk.service.scan`` with every rule (set-based context, pure rules, cases and holds
written, then rolled back so each round starts clean); the baseline is one hand-written PostgreSQL
query per rule (``RANGE … INTERVAL`` windows, ``count(DISTINCT …)``) whose rows go to Python.
Needs PostgreSQL (NEIGOU_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta

from scratch import scratch_postgres
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.actor import Actor
from neigou.kit.db import opened_database
from neigou.migrations.runner import upgrade
from neigou.programs.models import Program
from neigou.risk import service
from neigou.risk.models import CaseStatus, RiskCase

ADMIN_URL = os.environ.get("NEIGOU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACTOR = Actor(kind="cli", ref="bench", label="benchmark")
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
AS_OF = datetime(2026, 3, 31, tzinfo=UTC)
SINCE = AS_OF - timedelta(days=35)
ROUNDS = 3
DAY_S = 86400

SETUP = [
    "INSERT INTO programs (id, organization_id, code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at) VALUES (1, (SELECT id FROM organizations WHERE code = 'default'),"
    " 'bench', 'bench', 'Asia/Shanghai',"
    " 'last_click', 15, 7, 2, false, '2025-01-01T00:00:00Z')",
    "INSERT INTO coupon_templates (id, organization_id, name, kind, value, min_spend_fen, visibility, stacking,"
    " skus, total_quantity, claimed_quantity, per_customer_limit, starts_at, ends_at, created_at) VALUES (1,"
    " (SELECT id FROM organizations WHERE code = 'default'), 'hidden', 'amount_off',"
    " 500, 0, 'hidden', 'combinable', NULL, 100000000, 0, 1, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z',"
    " '2026-01-01T00:00:00Z')",
    # Members: ids 1..100 have no inviter; a fiftieth joined in March (recruits), the rest long ago.
    """INSERT INTO members (id, program_id, name, customer_ref_hash, customer_ref_masked, inviter_id, tier_code, joined_at)
    SELECT i, 1, 'm' || i, 'p' || i, '138****' || i,
           CASE WHEN i <= 100 THEN NULL ELSE 1 + floor(random() * (i - 1))::int END, 'super_member',
           CASE WHEN i % 50 = 0 THEN CAST(:march AS timestamptz) + floor(random() * 29 * 86400) * interval '1 second'
                ELSE timestamptz '2025-06-01T00:00:00Z' END
    FROM generate_series(1, :members) AS i""",
    "INSERT INTO settlements (id, program_id, as_of, orders, released_fen, created_at)"
    " VALUES (1, 1, '2026-03-12T00:00:00Z', 0, 0, '2026-03-12T00:00:00Z')",
    # Background orders: a twentieth of at most ¥5, a tenth released, one in fifty of those refunded after,
    # each by a different member (a prime stride), so no member of the background refunds like an abuser.
    """INSERT INTO orders (id, program_id, external_id, customer_ref_hash, member_id, attribution_basis, self_purchase,
        paid_fen, refunded_fen, commission_fen, paid_at, completed_at, commission_state, settlement_id, pricing,
        source, created_at)
    SELECT j, 1, 'o' || j, 'c' || (j % 200000),
           CASE WHEN j % 500 = 3 THEN 1 + (j / 500 * 7919) % :members ELSE 1 + floor(random() * :members)::int END,
           'link', false,
           CASE WHEN j % 20 = 0 THEN 100 + j % 400 ELSE 1000 + j % 20000 END,
           CASE WHEN j % 10 = 3 AND j % 500 = 3 THEN CASE WHEN j % 20 = 0 THEN 100 + j % 400 ELSE 1000 + j % 20000 END
                ELSE 0 END,
           (1000 + j % 20000) / 25,
           CASE WHEN j % 10 = 3 THEN CAST(:march AS timestamptz) + floor(random() * 4 * 86400) * interval '1 second'
                ELSE CAST(:march AS timestamptz) + floor(random() * 29 * 86400) * interval '1 second' END,
           CASE WHEN j % 10 = 3 THEN timestamptz '2026-03-05T00:00:00Z' END,
           CASE WHEN j % 10 = 3 THEN 'available' ELSE 'pending' END,
           CASE WHEN j % 10 = 3 THEN 1 END, '{}', 'import', now()
    FROM generate_series(1, :orders) AS j""",
    """INSERT INTO refunds (program_id, order_id, refund_id, amount_fen, reversed_fen, at)
    SELECT 1, id, 'r' || id, paid_fen, 0, timestamptz '2026-03-20T00:00:00Z' FROM orders WHERE refunded_fen > 0""",
    # Background claims: each visitor one or two references.
    """INSERT INTO coupon_claims (coupon_id, customer_ref_hash, customer_ref_masked, program_id, member_id, source,
        visitor_id, claimed_at)
    SELECT 1, 'h' || k, 'x', 1, 1 + k % :members, 'landing', 'v' || (k / 2 + k % 3),
           CAST(:march AS timestamptz) + floor(random() * 29 * 86400) * interval '1 second'
    FROM generate_series(1, :claims) AS k""",
    # Background group counts, all plausible.
    """INSERT INTO chat_groups (id, program_id, owner_member_id, name, platform, status, created_at, updated_at)
    SELECT g, 1, g, 'g' || g, 'wechat', 'active', now(), now() FROM generate_series(1, :groups) AS g""",
    """INSERT INTO group_counts (group_id, program_id, member_count, observed_at, recorded_at, source, recorded_by, review)
    SELECT g, 1, 200 + g % 100, CAST(:march AS timestamptz) + d * interval '1 day', now(), 'api', 'bench', 'ok'
    FROM generate_series(1, :groups) AS g, generate_series(0, 9) AS d""",
]

SEQUENCES = [
    "SELECT setval(pg_get_serial_sequence('members', 'id'), (SELECT max(id) FROM members))",
    "SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders))",
    "SELECT setval(pg_get_serial_sequence('chat_groups', 'id'), (SELECT max(id) FROM chat_groups))",
]

# Planted patterns, P of each, on disjoint member ranges starting at 101.
PLANT = [
    # order_brushing: members B = 101 .. 100+P, 12 orders of ¥3 four minutes apart.
    """INSERT INTO orders (program_id, external_id, customer_ref_hash, member_id, attribution_basis, self_purchase,
        paid_fen, refunded_fen, commission_fen, paid_at, commission_state, pricing, source, created_at)
    SELECT 1, 'br' || b || '-' || k, 'cb' || b || '-' || k, b, 'link', false, 300, 0, 12,
           CAST(:march AS timestamptz) + (b % 25) * interval '1 day' + k * interval '4 minutes', 'pending', '{}',
           'import', now()
    FROM generate_series(101, 100 + :p) AS b, generate_series(0, 11) AS k""",
    # shared_identity: members S = 101+P .. 100+2P, one order paid with the upline's phone.
    """INSERT INTO orders (program_id, external_id, customer_ref_hash, member_id, attribution_basis, self_purchase,
        paid_fen, refunded_fen, commission_fen, paid_at, commission_state, pricing, source, created_at)
    SELECT 1, 'sh' || m.id, 'p' || m.inviter_id, m.id, 'link', false, 8800, 0, 350,
           CAST(:march AS timestamptz) + (m.id % 25) * interval '1 day', 'pending', '{}', 'import', now()
    FROM members m WHERE m.id BETWEEN 101 + :p AND 100 + 2 * :p""",
    # invite_ring: inviters R = 101+2P .. 100+3P, 12 recruits 30 minutes apart who never buy.
    """INSERT INTO members (program_id, name, customer_ref_hash, customer_ref_masked, inviter_id, tier_code, joined_at)
    SELECT 1, 'ring', 'pr' || r || '-' || k, 'x', r, 'super_member',
           CAST(:march AS timestamptz) + (r % 25) * interval '1 day' + k * interval '30 minutes'
    FROM generate_series(101 + 2 * :p, 100 + 3 * :p) AS r, generate_series(0, 11) AS k""",
    # refund_abuse: members F = 101+3P .. 100+4P, 10 released orders, 6 refunded after release.
    """INSERT INTO orders (program_id, external_id, customer_ref_hash, member_id, attribution_basis, self_purchase,
        paid_fen, refunded_fen, commission_fen, paid_at, completed_at, commission_state, settlement_id, pricing,
        source, created_at)
    SELECT 1, 'ra' || f || '-' || k, 'cf' || f || '-' || k, f, 'link', false, 10000,
           CASE WHEN k < 6 THEN 10000 ELSE 0 END, 400, timestamptz '2026-03-02T00:00:00Z',
           timestamptz '2026-03-03T00:00:00Z', 'available', 1, '{}', 'import', now()
    FROM generate_series(101 + 3 * :p, 100 + 4 * :p) AS f, generate_series(0, 9) AS k""",
    """INSERT INTO refunds (program_id, order_id, refund_id, amount_fen, reversed_fen, at)
    SELECT 1, id, 'r' || id, paid_fen, 0, timestamptz '2026-03-21T00:00:00Z'
    FROM orders WHERE external_id LIKE 'ra%' AND refunded_fen > 0""",
    # coupon_hoarding: P visitors with one claim under each of 6 references.
    """INSERT INTO coupon_claims (coupon_id, customer_ref_hash, customer_ref_masked, program_id, member_id, source,
        visitor_id, claimed_at)
    SELECT 1, 'hh' || v || '-' || k, 'x', 1, 1, 'landing', 'hoard' || v,
           CAST(:march AS timestamptz) + v * interval '1 hour' + k * interval '1 minute'
    FROM generate_series(1, :p) AS v, generate_series(0, 5) AS k""",
    # padded_group: the groups of members G = 1 .. P report an implausible count.
    """INSERT INTO group_counts (group_id, program_id, member_count, observed_at, recorded_at, source, recorded_by,
        review, review_reason)
    SELECT g, 1, 900, CAST(:march AS timestamptz) + interval '12 days', now(), 'api', 'bench', 'needs_review',
           'implausible_jump'
    FROM generate_series(1, :p) AS g""",
]

BASELINE = {
    "order_brushing": """
        WITH small AS (
          SELECT member_id, paid_at FROM orders
          WHERE program_id = 1 AND member_id IS NOT NULL AND paid_fen <= 500 AND paid_at BETWEEN :since AND :as_of
        ), w AS (
          SELECT member_id, count(*) OVER (PARTITION BY member_id ORDER BY paid_at
                 RANGE BETWEEN CURRENT ROW AND INTERVAL '60 minutes' FOLLOWING) AS n FROM small
        )
        SELECT DISTINCT member_id FROM w WHERE n >= 10""",
    "coupon_hoarding": """
        SELECT visitor_id FROM coupon_claims
        WHERE program_id = 1 AND visitor_id IS NOT NULL AND claimed_at BETWEEN :since AND :as_of
        GROUP BY coupon_id, visitor_id HAVING count(DISTINCT customer_ref_hash) >= 5""",
    "shared_identity": """
        WITH ident AS (
          SELECT visitor_id, customer_ref_hash AS ref FROM link_visitors
          UNION SELECT visitor_id, customer_ref_hash FROM link_clicks
                WHERE program_id = 1 AND visitor_id IS NOT NULL AND customer_ref_hash IS NOT NULL
          UNION SELECT visitor_id, customer_ref_hash FROM coupon_claims WHERE program_id = 1 AND visitor_id IS NOT NULL
        ), devices AS (
          SELECT DISTINCT m.id AS member_id, o.ref FROM members m
          JOIN ident mine ON mine.ref = m.customer_ref_hash
          JOIN ident o ON o.visitor_id = mine.visitor_id AND o.ref <> mine.ref
          WHERE m.program_id = 1
        ), base AS (
          SELECT o.id, o.member_id, o.customer_ref_hash, s.inviter_id FROM orders o JOIN members s ON s.id = o.member_id
          WHERE o.program_id = 1 AND o.paid_at BETWEEN :since AND :as_of
        )
        SELECT DISTINCT b.member_id FROM base b JOIN members u ON u.id = b.inviter_id
          WHERE u.customer_ref_hash = b.customer_ref_hash
        UNION SELECT b.member_id FROM base b JOIN devices d ON d.member_id = b.member_id AND d.ref = b.customer_ref_hash
        UNION SELECT b.member_id FROM base b JOIN devices d ON d.member_id = b.inviter_id AND d.ref = b.customer_ref_hash""",
    "invite_ring": """
        WITH idle AS (
          SELECT r.inviter_id, r.joined_at FROM members r
          WHERE r.program_id = 1 AND r.inviter_id IS NOT NULL AND r.joined_at BETWEEN :since AND :as_of
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.member_id = r.id)
            AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.program_id = 1 AND o.customer_ref_hash = r.customer_ref_hash)
        ), w AS (
          SELECT inviter_id, count(*) OVER (PARTITION BY inviter_id ORDER BY joined_at
                 RANGE BETWEEN CURRENT ROW AND INTERVAL '24 hours' FOLLOWING) AS n FROM idle
        )
        SELECT DISTINCT inviter_id FROM w WHERE n >= 10""",
    "refund_abuse": """
        WITH per AS (
          SELECT o.member_id, count(*) AS released,
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id AND r.at >= s.as_of)) AS late
          FROM orders o JOIN settlements s ON s.id = o.settlement_id
          WHERE o.program_id = 1 AND o.member_id IS NOT NULL AND o.commission_state = 'available'
            AND o.paid_at BETWEEN :since AND :as_of
          GROUP BY o.member_id
        ), program AS (SELECT sum(late) * 10000 / greatest(sum(released), 1) AS bp FROM per)
        SELECT member_id FROM per, program
        WHERE released >= 5 AND late >= 3 AND late * 10000 / released >= greatest(2000, program.bp * 3)""",
    "padded_group": """
        SELECT g.owner_member_id FROM group_counts c JOIN chat_groups g ON g.id = c.group_id
        WHERE c.program_id = 1 AND c.review = 'needs_review'""",
}


def _generate(session: Session, n_orders: int) -> dict[str, set[str]]:
    members = max(n_orders // 20, 500)
    p = max(5, n_orders // 5000)
    values = {
        "members": members,
        "orders": n_orders,
        "claims": n_orders // 5,
        "groups": max(members // 10, p),
        "march": MARCH,
        "p": p,
    }
    session.execute(text("SELECT setseed(0.2026)"))
    for statement in SETUP + SEQUENCES + PLANT:
        session.execute(text(statement), values)
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()

    def ids(first: int) -> set[str]:
        return {str(i) for i in range(first, first + p)}

    return {
        "order_brushing": ids(101),
        "shared_identity": ids(101 + p),
        "invite_ring": ids(101 + 2 * p),
        "refund_abuse": ids(101 + 3 * p),
        "coupon_hoarding": {f"hoard{v}" for v in range(1, p + 1)},
        "padded_group": ids(1),
    }


def _found(session: Session) -> dict[str, set[str]]:
    """What the scan opened, per rule: members (visitors for hoarding)."""
    out: dict[str, set[str]] = {rule: set() for rule in BASELINE}
    for case in session.query(RiskCase).filter(RiskCase.status == CaseStatus.OPEN):
        key = case.subject.rsplit(":", 1)[1] if case.rule == "coupon_hoarding" else str(case.member_id)
        out[case.rule].add(key)
    return out


def _baseline(session: Session) -> dict[str, set[str]]:
    session.execute(text("SET LOCAL jit = off"))  # as the scan does: the estimates mislead JIT on both
    return {
        rule: {str(r[0]) for r in session.execute(text(sql), {"since": SINCE, "as_of": AS_OF})}
        for rule, sql in BASELINE.items()
    }


def _run(factory: sessionmaker[Session], n_orders: int) -> bool:
    started = time.perf_counter()
    with factory() as session:
        truth = _generate(session, n_orders)
    generate_s = time.perf_counter() - started
    with factory() as session:
        _baseline(session)  # warm the cache
    baseline_s = scan_s = float("inf")
    for _ in range(ROUNDS):
        with factory() as session:
            started = time.perf_counter()
            expected = _baseline(session)
            baseline_s = min(baseline_s, time.perf_counter() - started)
        with factory() as session:
            program = session.get(Program, 1)
            assert program is not None
            started = time.perf_counter()
            result = service.scan(session, program=program, as_of=AS_OF, actor=ACTOR, now=AS_OF)
            session.flush()
            scan_s = min(scan_s, time.perf_counter() - started)
            found = _found(session)
            session.rollback()
    print(f"orders {n_orders:,} (generated in {generate_s:.1f} s); cases opened {result.opened:,}")
    print(f"{'rule':<17} {'planted':>8} {'found':>6} {'precision':>10} {'recall':>7} {'baseline agrees':>16}")
    for rule, planted in truth.items():
        hits = found[rule] & planted
        precision = len(hits) / len(found[rule]) if found[rule] else 1.0
        recall = len(hits) / len(planted)
        agree = "yes" if found[rule] == expected[rule] else f"no ({len(expected[rule])})"
        print(
            f"{rule:<17} {len(planted):>8} {len(found[rule]):>6} {precision:>10.3f} {recall:>7.3f} {agree:>16}"
        )
    ratio = scan_s / baseline_s
    print(f"best of {ROUNDS}, alternating:")
    print(f"hand-written SQL, one query per rule (rows to Python): {baseline_s:.2f} s")
    print(f"nightly scan, every rule (cases and holds written):    {scan_s:.2f} s")
    print(f"ratio scan / hand-written SQL: {ratio:.2f} (target ≤ 2)")
    return all(found[r] == expected[r] for r in BASELINE)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="20,000 orders, for the test script")
    parser.add_argument("--keep", action="store_true", help="keep the scratch schema")
    args = parser.parse_args()
    n_orders = 20_000 if args.smoke else args.orders
    with scratch_postgres(ADMIN_URL, "neigou_bench_risk", keep=args.keep) as url:
        upgrade(url)
        with opened_database(url) as factory:
            agreed = _run(factory, n_orders)
    return 0 if agreed else 1


if __name__ == "__main__":
    sys.exit(main())

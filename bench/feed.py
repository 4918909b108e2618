"""Benchmark: a group owner's feed and a day's posts on PostgreSQL, against hand-written baselines
measured in the same run. Reports the times and their ratios.

    .venv/bin/python bench/feed.py            # 300 live campaigns × 10 products, 400,000 links, 4,000,000 clicks, 200,000 orders
    .venv/bin/python bench/feed.py --smoke    # a twentieth of that

The feed reads the live campaigns of the member's program, their items, products and coupons, and each
campaign's clicks and orders through its links, then prices, estimates and ranks every item. Its
baseline is one hand-written query returning the same rows (items with price, rate, boost, coupon and
traffic), handed to Python. The posts benchmark makes one post for each of 20 groups with 10 products
(200 share links, 20 posts, 200 post links, one audit entry); its baseline inserts the same 200 links
and 20 posts with two multi-row INSERTs. Times are the best of three.

Needs PostgreSQL (NEIGOU_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/postgres);
a throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

from scratch import scratch_postgres
from sqlalchemy import text
from sqlalchemy.orm import Session

from neigou.feed import posts as posts_module
from neigou.feed.models import Slot
from neigou.feed.posts import create_posts
from neigou.feed.service import feed_items
from neigou.kit.actor import Actor
from neigou.kit.clock import not_before_now
from neigou.kit.db import opened_database
from neigou.migrations.runner import upgrade
from neigou.programs.service import require_member

ADMIN_URL = os.environ.get("NEIGOU_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACTOR = Actor(kind="member", ref="1", label="bench owner")
AT = datetime(2026, 3, 24, 4, 0, tzinfo=UTC)
ROUNDS = 3
GROUPS = 20
SKUS_PER_POST = 10

SETUP = [
    "INSERT INTO programs (id, organization_id, code, name, timezone, attribution_model, attribution_window_days, freeze_days,"
    " max_levels, self_purchase_commission, created_at) VALUES (1, (SELECT id FROM organizations WHERE code = 'default'),"
    " 'bench', 'bench', 'Asia/Shanghai',"
    " 'last_click', 15, 7, 2, true, '2025-01-01T00:00:00Z')",
    "INSERT INTO tiers (program_id, code, name, rank, share_bp, override_bp) VALUES"
    " (1, 'super_member', '超级会员', 1, 2000, 500)",
    "INSERT INTO members (id, program_id, name, tier_code, joined_at)"
    " SELECT j, 1, 'm' || j, 'super_member', '2025-06-01T00:00:00Z' FROM generate_series(1, 1000) AS j",
    "SELECT setval(pg_get_serial_sequence('members', 'id'), 1000)",
    "INSERT INTO chat_groups (program_id, owner_member_id, name, platform, status, created_at, updated_at)"
    " SELECT 1, 1 + (j - 1) / 20, 'g' || j, 'wechat', 'active', now(), now() FROM generate_series(1, 20000) AS j",
    "INSERT INTO products (organization_id, sku, title, price_fen, commission_rate_bp, active, created_at,"
    " updated_at) SELECT (SELECT id FROM organizations WHERE code = 'default'), 'SKU-' || j, '商品 ' || j,"
    " 990 + (j * 37) % 20000, 500 + (j * 13) % 2500, j % 50 <> 0, now(), now()"
    " FROM generate_series(1, :products) AS j",
    "INSERT INTO coupon_templates (organization_id, name, kind, value, min_spend_fen, visibility, stacking, skus,"
    " total_quantity, claimed_quantity, per_customer_limit, starts_at, ends_at, created_at)"
    " SELECT (SELECT id FROM organizations WHERE code = 'default'), 'c' || j, 'amount_off', 100 + j % 900, 0, 'hidden', 'combinable', NULL, 1000, j % 7 * 100, 1,"
    " :at - interval '3 days', :at + interval '3 days', now() FROM generate_series(1, :campaigns) AS j",
    # half the campaigns live at AT, half ended a week before
    "INSERT INTO campaigns (program_id, name, coupon_id, commission_boost_bp, starts_at, ends_at, created_by,"
    " created_at) SELECT 1, 'campaign ' || j, CASE WHEN j % 3 = 0 THEN NULL ELSE 1 + j % :campaigns END,"
    " (j % 5) * 100, CASE WHEN j % 2 = 0 THEN :at - (j % 72) * interval '1 hour' ELSE :at - interval '14 days' END,"
    " CASE WHEN j % 2 = 0 THEN :at + interval '2 days' ELSE :at - interval '7 days' END, 'bench', now()"
    " FROM generate_series(1, 2 * :campaigns) AS j",
    "INSERT INTO campaign_items (campaign_id, product_id, sku, position)"
    " SELECT c, p.id, p.sku, k FROM generate_series(1, 2 * :campaigns) AS c, generate_series(0, 9) AS k"
    " JOIN LATERAL (SELECT id, sku FROM products WHERE id = 1 + ((c * 10 + k) % :products)) AS p ON true",
    "INSERT INTO share_links (code, program_id, member_id, product_id, sku, group_id, campaign_id, active,"
    " created_at, updated_at) SELECT 'L' || j, 1, 1 + j % 1000, 1 + j % :products, 'SKU-' || (1 + j % :products),"
    " 1 + j % 20000, 1 + j % (2 * :campaigns), true, :at - interval '2 days', :at - interval '2 days'"
    " FROM generate_series(1, :links) AS j",
    "INSERT INTO link_clicks (ref, link_id, program_id, member_id, clicked_at, visitor_id, ua_class)"
    " SELECT 'k' || j, 1 + j % :links, 1, 1, :at - interval '1 day', NULL, CASE WHEN j % 10 = 0 THEN 'bot'"
    " ELSE 'wechat' END FROM generate_series(1, :clicks) AS j",
    "INSERT INTO orders (program_id, external_id, customer_ref_hash, link_code, member_id, attribution_basis,"
    " self_purchase, paid_fen, refunded_fen, commission_fen, paid_at, commission_state, pricing, source, created_at)"
    " SELECT 1, 'o' || j, 'c' || j, 'L' || (1 + (j * 7) % :links), 1, 'link', false, 2490, 0, 100,"
    " :at - interval '1 day', 'pending', '{}', 'import', now() FROM generate_series(1, :orders) AS j",
]

BASELINE = """
WITH traffic AS (
  SELECT s.campaign_id, count(c.id) FILTER (WHERE c.ua_class <> 'bot') AS clicks
  FROM share_links s JOIN link_clicks c ON c.link_id = s.id
  WHERE s.campaign_id IN (SELECT id FROM campaigns WHERE program_id = 1 AND starts_at <= :at AND ends_at > :at)
  GROUP BY s.campaign_id
), sold AS (
  SELECT s.campaign_id, count(o.id) AS orders
  FROM share_links s JOIN orders o ON o.link_code = s.code AND o.program_id = s.program_id
  WHERE s.campaign_id IN (SELECT id FROM campaigns WHERE program_id = 1 AND starts_at <= :at AND ends_at > :at)
  GROUP BY s.campaign_id
)
SELECT c.id, i.sku, p.title, p.price_fen, p.commission_rate_bp, c.commission_boost_bp, k.value,
       coalesce(t.clicks, 0), coalesce(s.orders, 0)
FROM campaigns c
JOIN campaign_items i ON i.campaign_id = c.id
JOIN products p ON p.id = i.product_id AND p.active
LEFT JOIN coupon_templates k ON k.id = c.coupon_id
LEFT JOIN traffic t ON t.campaign_id = c.id
LEFT JOIN sold s ON s.campaign_id = c.id
WHERE c.program_id = 1 AND c.starts_at <= :at AND c.ends_at > :at
"""


def _best(run: Callable[[], object]) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(ROUNDS):
        started = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - started)
    return best, out


def _generate(session: Session, *, campaigns: int, links: int, clicks: int, orders: int) -> None:
    params = {"campaigns": campaigns, "products": campaigns * 10, "links": links, "clicks": clicks,
              "orders": orders, "at": AT}  # fmt: skip
    for statement in SETUP:
        session.execute(text(statement), params)
    session.commit()
    session.execute(text("ANALYZE"))
    session.commit()


def run(*, campaigns: int, links: int, clicks: int, orders: int) -> None:
    with scratch_postgres(ADMIN_URL, "neigou_bench_feed") as url:
        upgrade(url)
        with opened_database(url) as factory:
            started = time.perf_counter()
            with factory() as session:
                _generate(session, campaigns=campaigns, links=links, clicks=clicks, orders=orders)
            print(f"generated {campaigns} live campaigns, {links:,} links, {clicks:,} clicks, {orders:,} orders"
                  f" in {time.perf_counter() - started:.1f} s")  # fmt: skip

            def baseline() -> object:
                with factory() as session:
                    return session.execute(text(BASELINE), {"at": AT}).all()

            def feed() -> object:
                with factory() as session:
                    return feed_items(session, member=require_member(session, 1), at=AT)

            base_time, rows = _best(baseline)
            feed_time, items = _best(feed)
            assert isinstance(rows, list)
            assert isinstance(items, list)
            print(f"feed: baseline query {base_time * 1000:.0f} ms ({len(rows)} rows), "
                  f"feed {feed_time * 1000:.0f} ms ({len(items)} items), ratio {feed_time / base_time:.2f}")  # fmt: skip
            skus = [i.sku for i in items[:SKUS_PER_POST]]

            def insert_baseline() -> object:
                with factory() as session:
                    session.execute(
                        text(
                            "INSERT INTO share_links (code, program_id, member_id, product_id, sku, group_id, campaign_id,"
                            " active, created_at, updated_at) SELECT 'B' || left(md5(random()::text), 12), 1, 1, p.id, p.sku, g,"
                            " NULL, true, now(), now() FROM generate_series(1, :groups) AS g,"
                            " (SELECT id, sku FROM products WHERE sku = ANY(:skus)) AS p"
                        ),
                        {"groups": GROUPS, "skus": skus},
                    )
                    session.execute(
                        text(
                            "INSERT INTO group_posts (program_id, member_id, group_id, text, slot, scheduled_at, delivery,"
                            " status, attempts, created_at) SELECT 1, 1, g, 'x', 'now', now(), 'task', 'to_copy', 0, now()"
                            " FROM generate_series(1, :groups) AS g"
                        ),
                        {"groups": GROUPS},
                    )
                    session.rollback()
                return None

            # The generated world lives on its day: posts are built from the feed at the later of their
            # time and now (a past time means now), so the posts' clock reads that day.
            assert hasattr(posts_module, "not_before_now"), "the posts' clock moved: pin it where it is read"
            posts_module.not_before_now = partial(not_before_now, now=AT)

            def posts() -> object:
                with factory() as session:
                    made = create_posts(
                        session,
                        member=require_member(session, 1),
                        group_ids=list(range(1, GROUPS + 1)),
                        skus=skus,
                        slot=Slot.NOW,
                        at=AT,
                        base_url="https://neigou.example",
                        actor=ACTOR,
                    )
                    session.rollback()
                    return made

            insert_time, _ = _best(insert_baseline)
            posts_time, made = _best(posts)
            assert isinstance(made, list)
            assert len(made) == GROUPS
            print(f"posts ({GROUPS} groups × {len(skus)} products): baseline inserts {insert_time * 1000:.0f} ms, "
                  f"posts {posts_time * 1000:.0f} ms, ratio {posts_time / insert_time:.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="a twentieth of the full size")
    args = parser.parse_args()
    scale = 20 if args.smoke else 1
    run(campaigns=300 // scale, links=400_000 // scale, clicks=4_000_000 // scale, orders=200_000 // scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())

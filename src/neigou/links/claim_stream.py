"""Claims written behind the stock gate: the gate's script takes the unit and appends the claim to a
Redis stream in one step; ``ClaimWriter`` stores the stream in batches, as clicks are stored.

A batch costs a few statements whatever its size: one INSERT of the claims that skips ids already
stored (a redelivered entry is stored once), one upsert of the customers' counters, one UPDATE per
coupon of its claimed count, the claim touches of the batch's links in one ``record_touches``, and
the audit entries. A claim's id is made from its stream id (``kit.streams.id_from_stream``), so the
shopper is answered with the id the row will carry.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_ignoring_duplicates, table_of, upsert_adding
from neigou.kit.jobs import job
from neigou.kit.settings import get_settings
from neigou.kit.streams import Entry, StreamWriter, id_from_stream
from neigou.links.click_stream import namespace
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim, ShareLink, TouchKind
from neigou.links.touches import NewTouch, identify_visitor, record_touches
from neigou.offers.models import CouponTemplate

GROUP = "neigou-claim-writers"
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
COUPONS = table_of(CouponTemplate)


def claim_id(stream_id: str) -> int:
    """The id of the claim recorded under a stream id."""
    return id_from_stream(stream_id, ID_EPOCH_MS)


def pack(values: dict[str, Any], actor: Actor) -> str:
    """A claim's stream entry: its column values (time in ISO 8601) and who claimed."""
    return json.dumps(
        {
            **values,
            "source": values["source"].value,
            "claimed_at": values["claimed_at"].isoformat(),
            "actor": [actor.kind, actor.ref, actor.label],
        },
        separators=(",", ":"),
    )


def rows_of(entries: list[Entry]) -> list[dict[str, Any]]:
    """Claim rows (with the actor beside them) from stream entries."""
    rows = []
    for entry_id, fields in entries:
        row = json.loads(fields[b"c"])
        row["id"] = claim_id(entry_id.decode())
        row["source"] = ClaimSource(row["source"])
        row["claimed_at"] = datetime.fromisoformat(row["claimed_at"])
        rows.append(row)
    return rows


def store(session: Session, rows: list[dict[str, Any]]) -> int:
    """Store a batch of claims; returns how many were new."""
    if not rows:
        return 0
    columns = [{k: v for k, v in r.items() if k != "actor"} for r in rows]
    new_ids = {row[0] for row in insert_ignoring_duplicates(session, CouponClaim, columns, returning=["id"])}
    new = [r for r in rows if r["id"] in new_ids]
    if not new:
        return 0
    per_coupon = Counter(r["coupon_id"] for r in new)
    per_customer = Counter((r["coupon_id"], r["customer_ref_hash"]) for r in new)
    upsert_adding(
        session,
        ClaimCounter,
        [{"coupon_id": c, "customer_ref_hash": h, "claimed": n} for (c, h), n in per_customer.items()],
        key=("coupon_id", "customer_ref_hash"),
        add="claimed",
    )
    session.execute(
        update(COUPONS)
        .where(COUPONS.c.id == bindparam("coupon"))
        .values(claimed_quantity=COUPONS.c.claimed_quantity + bindparam("units")),
        [{"coupon": c, "units": n} for c, n in per_coupon.items()],
    )
    _touches(session, new)
    for r in new:
        kind, ref, label = r["actor"]
        audit.record(
            session,
            actor=Actor(kind=kind, ref=ref, label=label),
            action="coupon.claim",
            entity="coupon",
            entity_id=r["coupon_id"],
            after={
                "claim_id": r["id"],
                "customer": r["customer_ref_masked"],
                "link_id": r["link_id"],
                "request_id": None,
            },
            at=r["claimed_at"],
        )
    return len(new)


def _touches(session: Session, claims: list[dict[str, Any]]) -> None:
    link_ids = {r["link_id"] for r in claims if r["link_id"] is not None}
    links = (
        {
            link.id: link
            for link in session.scalars(select(ShareLink).where(ShareLink.id.in_(sorted(link_ids))))
        }
        if link_ids
        else {}
    )
    touches: list[NewTouch] = []
    for r in claims:
        if r["visitor_id"] is not None:
            touches += identify_visitor(
                session,
                visitor_id=r["visitor_id"],
                customer_ref_hash=r["customer_ref_hash"],
                customer_ref_masked=r["customer_ref_masked"],
                at=r["claimed_at"],
            )
        link = links.get(r["link_id"])
        if link is not None:
            touches.append(
                NewTouch(
                    link.program_id,
                    r["customer_ref_hash"],
                    link,
                    TouchKind.CLAIM,
                    f"claim:{r['id']}",
                    r["claimed_at"],
                )
            )
    record_touches(session, touches)


def store_entries(session: Session, entries: list[Entry]) -> int:
    """A batch of stream entries into the database."""
    return store(session, rows_of(entries))


class ClaimWriter(StreamWriter):
    """Moves claims from the gate's stream into the database."""

    def __init__(
        self, client: redis.Redis, key: str, factory: sessionmaker[Session], *, name: str | None = None
    ) -> None:
        super().__init__(client, key, GROUP, factory, store_entries, name=name, batch=1000)


@job("links.drain_claim_stream", cron={"minute": "*/5"})
def drain_claim_stream(session: Session, _payload: dict[str, Any], _at: datetime) -> None:
    """Move claims from the Redis stream into the database (a safety net: web processes consume continuously)."""
    settings = get_settings()
    if not settings.redis_url:
        return
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    client = redis.Redis.from_url(settings.redis_url)
    try:
        key = f"{namespace(settings.database_url)}:claims"
        ClaimWriter(client, key, factory, name="scheduled-drain").drain()
    finally:
        client.close()

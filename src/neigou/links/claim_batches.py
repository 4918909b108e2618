"""A batch of claims into the database: what the claim writer (``links.claim_stream``) stores from the
gate's stream, and what the demo's traffic stores directly.

A batch costs a few statements whatever its size: the customers' locks (one statement,
``privacy.repository.lock_customers``), one INSERT of the claims that skips ids already stored (a
redelivered entry is stored once), one read of the customers' counters and their coupons' limits,
one upsert of the counters, one UPDATE per coupon of its claimed count, the claim touches of the
batch's links in one ``record_touches``, and one insert of the audit entries; then the marketing
consent a claim carries is announced (``crm.capture`` adds the shopper to the member's book under the
batch's locks, so an opt-out at the same moment is honoured).
On PostgreSQL a large batch's claims, counters and audit entries go by COPY (``kit.bulk``): the writer
shares the web process's interpreter lock with the claims it stores, so its Python work per claim is
kept to a few microseconds.

The per-customer limit is checked here too, for the batch at once (as the database's stock CHECK
checks the stock): a claim that would take a customer past the coupon's ``per_customer_limit``, counting
the customer's stored claims and the batch's earlier ones, is not stored (its row inserted is deleted
in the same transaction); the rest of the batch is stored. What the writer does with such a claim is
``links.claim_stream``'s.

A claim taken before its shopper's opt-out and stored only after it (still in the stream, or a dead
letter replayed) is stored as the opt-out left their claims (``_erased_meanwhile``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import (
    STAGE_FROM,
    binary_types,
    copy_ignoring_duplicates,
    insert_ignoring_duplicates,
    table_of,
    upsert_adding,
)
from neigou.kit.dead_letters import EntryRefused
from neigou.kit.ids import ERASED, new_tombstone
from neigou.kit.pg_arrays import one_of
from neigou.links.consent import announce_consent
from neigou.links.models import ClaimCounter, CouponClaim, ShareLink, TouchKind
from neigou.links.touches import NewTouch, identify_visitor, record_touches
from neigou.offers.models import CouponTemplate
from neigou.privacy import repository as privacy

COUPONS = table_of(CouponTemplate)
CLAIM_COLUMNS = (
    "id",
    "coupon_id",
    "customer_ref_hash",
    "customer_ref_masked",
    "link_id",
    "program_id",
    "member_id",
    "group_id",
    "request_id",
    "source",
    "visitor_id",
    "claimed_at",
)
_SOURCE = CLAIM_COLUMNS.index("source")
_CLAIM_TYPES = binary_types(table_of(CouponClaim), CLAIM_COLUMNS)
# A row's key marking a claim stored erased (``_erased_meanwhile``): it makes no touch.
ERASED_ROW = "erased"
PAST_LIMIT = "per_customer_limit"  # the dead letters' reason for a claim past its coupon's limit


def past_limit() -> EntryRefused:
    """Why a claim past its coupon's per-customer limit is not stored (the dead letter's reason)."""
    return EntryRefused(PAST_LIMIT, "the claim passes its coupon's per-customer limit")


def store(session: Session, rows: list[dict[str, Any]]) -> int:
    """Store a batch of claims; returns how many were new. A claim past its coupon's per-customer
    limit refuses the whole batch (``past_limit``): a dead letter replayed stays one."""
    stored, past = store_within_limits(session, rows)
    if past:
        raise past_limit()
    return stored


def store_within_limits(session: Session, rows: list[dict[str, Any]]) -> tuple[int, set[int]]:
    """Store a batch of claims but those past their coupon's per-customer limit: (how many were new,
    the ids of the claims refused for the limit, not stored)."""
    if not rows:
        return 0, set()
    rows = list({r["id"]: r for r in rows}.values())  # an entry delivered twice in the batch counts once
    # Before any write of these customers (claims, counters, visitors, touches): taken after one, the
    # lock could wait on an opt-out that waits on that write's row.
    privacy.lock_customers(session, {r["customer_ref_hash"] for r in rows})
    rows = _erased_meanwhile(session, rows)
    new_ids = _insert_claims(session, rows)
    new = [r for r in rows if r["id"] in new_ids]
    past = _past_limits(session, new)
    if past:
        session.execute(delete(CouponClaim).where(one_of(session, CouponClaim.id, sorted(past), "BIGINT")))
        new = [r for r in new if r["id"] not in past]
    if not new:
        return 0, past
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
    audit.record_many(
        session,
        action="coupon.claim",
        entity="coupon",
        entries=(
            (
                Actor(*r["actor"]),
                r["coupon_id"],
                {
                    "claim_id": r["id"],
                    "customer": r["customer_ref_masked"],
                    "link_id": r["link_id"],
                    "request_id": None,
                },
                r["claimed_at"],
            )
            for r in new
        ),
    )
    _consents(session, new)
    return len(new), past


def _erased_meanwhile(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, those taken before their shopper's opt-out (of their program or of all) and stored only
    now (still in the stream when it ran, or a dead letter replayed) as the opt-out left its claims:
    under a tombstone of their own (one per shopper in the batch, so their counters add up), masked
    ``已注销``, without the cookie; they make no touch, no visitor linkage and no customer of the
    consent they carried (``ERASED_ROW``). A claim's organization is its coupon's, as in the erasure's
    tenant scope: another organization's opt-out of every program does not cover it. Asked under the
    batch's customer locks."""
    coupons = select(CouponTemplate.id, CouponTemplate.organization_id).where(
        CouponTemplate.id.in_(sorted({r["coupon_id"] for r in rows}))
    )
    organizations: dict[int, int] = dict(session.execute(coupons).all())

    def taken(r: dict[str, Any]) -> privacy.Taken:
        return (organizations.get(r["coupon_id"]), r["program_id"], r["customer_ref_hash"], r["claimed_at"])

    found = privacy.opted_out_since(session, {taken(r) for r in rows})
    if not found and all(r["customer_ref_masked"] != ERASED for r in rows):
        return rows
    tombstones: dict[str, str] = {}
    kept: list[dict[str, Any]] = []
    for r in rows:
        if r["customer_ref_masked"] == ERASED:  # a dead letter the opt-out rewrote
            kept.append({**r, ERASED_ROW: True})
        elif taken(r) in found:
            tombstone = tombstones.setdefault(r["customer_ref_hash"], new_tombstone())
            erased = {"customer_ref_hash": tombstone, "customer_ref_masked": ERASED, "visitor_id": None}
            kept.append({**r, **erased, "consent": None, ERASED_ROW: True})
        else:
            kept.append(r)
    return kept


def _past_limits(session: Session, new: list[dict[str, Any]]) -> set[int]:
    """The ids of the new claims past their coupon's per-customer limit, in one statement for the
    batch: a customer's claims of a coupon count on from the customer's stored counter in the
    stream's order (the gate's), and those beyond the limit are refused. The gate refuses them before
    they are answered; this holds when its counter started without claims it had answered."""
    if not new:
        return set()
    customers = sorted({r["customer_ref_hash"] for r in new})
    found = session.execute(
        select(
            CouponTemplate.id,
            CouponTemplate.per_customer_limit,
            ClaimCounter.customer_ref_hash,
            ClaimCounter.claimed,
        )
        .outerjoin(
            ClaimCounter,
            and_(
                ClaimCounter.coupon_id == CouponTemplate.id,
                one_of(session, ClaimCounter.customer_ref_hash, customers, "VARCHAR"),
            ),
        )
        .where(CouponTemplate.id.in_(sorted({r["coupon_id"] for r in new})))
    ).all()
    limits = {coupon_id: limit for coupon_id, limit, _, _ in found}
    held = Counter({(coupon_id, ref): n for coupon_id, _, ref, n in found if ref is not None})
    past: set[int] = set()
    for r in sorted(new, key=lambda r: r["id"]):
        mine = (r["coupon_id"], r["customer_ref_hash"])
        if held[mine] >= limits[mine[0]]:
            past.add(r["id"])
        else:
            held[mine] += 1
    return past


def _insert_claims(session: Session, rows: list[dict[str, Any]]) -> set[int]:
    """The claim rows whose id is not stored yet, inserted; returns their ids. A large batch on
    PostgreSQL is one binary COPY (a multi-row INSERT costs the driver a parse of every placeholder)."""
    if session.connection().dialect.name == "postgresql" and len(rows) >= STAGE_FROM:
        values = [[r[c] for c in CLAIM_COLUMNS] for r in rows]
        for v in values:
            v[_SOURCE] = v[_SOURCE].value  # the stored text of the enum
        inserted = copy_ignoring_duplicates(
            session, "coupon_claims", CLAIM_COLUMNS, values, unique=("id",), types=_CLAIM_TYPES
        )
    else:
        columns = [{c: r[c] for c in CLAIM_COLUMNS} for r in rows]
        inserted = insert_ignoring_duplicates(session, CouponClaim, columns, returning=["id"])
    return {row[0] for row in inserted}


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
    # A visitor's linkage records the organization it identified itself to: the coupon's.
    coupon_ids = sorted({r["coupon_id"] for r in claims if r["visitor_id"] is not None})
    organizations: dict[int, int] = {}
    if coupon_ids:
        query = select(CouponTemplate.id, CouponTemplate.organization_id).where(
            CouponTemplate.id.in_(coupon_ids)
        )
        organizations = {int(coupon): int(org) for coupon, org in session.execute(query)}
    touches: list[NewTouch] = []
    for r in claims:
        if r["visitor_id"] is not None and r["coupon_id"] in organizations:
            touches += identify_visitor(
                session,
                visitor_id=r["visitor_id"],
                customer_ref_hash=r["customer_ref_hash"],
                customer_ref_masked=r["customer_ref_masked"],
                organization_id=organizations[r["coupon_id"]],
                at=r["claimed_at"],
                program_id=r["program_id"],
            )
        link = links.get(r["link_id"])
        if link is not None and not r.get(ERASED_ROW):
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
    record_touches(session, touches, locked=True)


def _consents(session: Session, claims: list[dict[str, Any]]) -> None:
    """Announce the marketing consent given with the batch's claims through a member's link: the
    customer book (``crm.capture``) adds the shoppers under the locks taken above, so an opt-out at the
    same moment either comes first and is found, or waits and erases them."""
    for r in claims:
        consent = r.get("consent")
        if consent is None or r["member_id"] is None or r["program_id"] is None:
            continue
        announce_consent(
            session,
            program_id=r["program_id"],
            member_id=r["member_id"],
            link_id=r["link_id"],
            customer_ref_hash=r["customer_ref_hash"],
            customer_ref_masked=r["customer_ref_masked"],
            via="claim",
            consented_at=consent.at,
            source=consent.source,
            at=r["claimed_at"],
        )

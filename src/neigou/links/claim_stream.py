"""Claims written behind the stock gate: the gate's script takes the unit and appends the claim to a
Redis stream in one step; ``ClaimWriter`` stores the stream in batches, as clicks are stored.

A batch costs a few statements whatever its size: the customers' locks (one statement,
``privacy.repository.lock_customers``), one INSERT of the claims that skips ids already stored (a
redelivered entry is stored once), one read of the customers' counters and their coupons' limits,
one upsert of the counters, one UPDATE per coupon of its claimed count, the claim touches of the
batch's links in one ``record_touches``, and one insert of the audit entries; then the marketing
consent a claim carries is announced (``crm.capture`` adds the shopper to the member's book under the
batch's locks, so an opt-out at the same moment is honoured).
On PostgreSQL a large batch's claims, counters and audit entries go by COPY (``kit.bulk``): the writer
shares the web process's interpreter lock with the claims it stores, so its Python work per claim is
kept to a few microseconds. A claim's id is made from its stream id (``kit.streams.id_from_stream``),
so the shopper is answered with the id the row will carry.

The per-customer limit is checked here too, for the batch at once (as the database's stock CHECK
checks the stock): a claim that would take a customer past the coupon's ``per_customer_limit``, counting
the customer's stored claims and the batch's earlier ones, is not stored (its row inserted is deleted
in the same transaction) and goes to the dead letters at once, reason ``per_customer_limit`` (logged as
``stream.entry_dead_lettered`` and counted as every dead letter); the rest of the batch is stored. The
gate refuses such a claim before answering it; this catches one its counter let through. That claim
took a unit in the gate's counters (the coupon's and the customer's) that no stored claim holds: once
the batch is committed, the script that moves the claim deletes those counters (bumping their epochs:
a seed read before is not set, ``gate_scripts``), so the next claim seeds them exactly again
(``links.gate_seeds``, which does not count such dead letters). Its shopper was answered ``taken``
before the writer ran: the move keeps its refusal (``refusal_of``) for the later reads.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from pydantic_core import to_json
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

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
from neigou.kit.dead_letters import EntryRefused, give_up_or_keep
from neigou.kit.jobs import job
from neigou.kit.pg_arrays import one_of
from neigou.kit.settings import settings_of
from neigou.kit.streams import AckHook, Entry, StreamWriter, id_from_stream
from neigou.links.click_stream import namespace
from neigou.links.consent import GivenConsent, announce_consent
from neigou.links.gate_scripts import REFUSAL_HOOK, STOCK_EPOCH, counter_keys, epoch_field
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim, ShareLink, TouchKind
from neigou.links.touches import NewTouch, identify_visitor, record_touches
from neigou.offers.models import CouponTemplate
from neigou.privacy import repository as privacy

GROUP = "neigou-claim-writers"
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
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
PAST_LIMIT = "per_customer_limit"  # the dead letters' reason for a claim past its coupon's limit
# A claim moved to the dead letters for ``PAST_LIMIT`` leaves its refusal under ``refusal_key`` for a
# week, and its counters deleted, in the move's own script (``gate_scripts.REFUSAL_HOOK``): a later
# read of the claim (the landing page) answers the refusal, and no crash can come between the move and
# the deletion.
REFUSAL_KEPT_SECONDS = 7 * 24 * 3600


def claim_id(stream_id: str) -> int:
    """The id of the claim recorded under a stream id."""
    return id_from_stream(stream_id, ID_EPOCH_MS)


def pack(values: dict[str, Any], actor: Actor, consent: GivenConsent | None = None) -> bytes:
    """A claim's stream entry: its column values (time in ISO 8601), who claimed and the marketing
    consent given with it, as JSON written by pydantic's serializer (a quarter of the standard
    library's time per claim)."""
    given = (consent.at, consent.source) if consent is not None else None
    return to_json({**values, "actor": (actor.kind, actor.ref, actor.label), "consent": given})


def rows_of(entries: list[Entry]) -> list[dict[str, Any]]:
    """Claim rows (with the actor beside them) from stream entries."""
    rows = []
    for entry_id, fields in entries:
        row = json.loads(fields[b"c"])
        row["id"] = claim_id(entry_id.decode())
        row["source"] = ClaimSource(row["source"])
        row["claimed_at"] = datetime.fromisoformat(row["claimed_at"])
        if given := row.get("consent"):
            row["consent"] = GivenConsent(datetime.fromisoformat(given[0]), given[1])
        rows.append(row)
    return rows


def refusal_key(gate_namespace: str, claim: int) -> str:
    """Where the refusal of a claim answered ``taken`` and refused by the writer is kept."""
    return f"{gate_namespace}:claim:{claim}:refused"


def refusal_of(
    client: redis.Redis, gate_namespace: str, claim: int, coupon_id: int | None = None
) -> str | None:
    """The refusal code of a claim the gate answered ``taken`` and the writer refused (``limit_reached``,
    the gate's own code for it), else None (stored, still in the stream, or unknown); with ``coupon_id``,
    only a refusal kept as ``<code>:<coupon id>`` (an older one kept without its coupon is no one's)."""
    found = client.get(refusal_key(gate_namespace, claim))
    if not isinstance(found, bytes):
        return None
    code, _, coupon = found.decode().partition(":")
    return code if coupon_id is None or coupon == str(coupon_id) else None


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


def store_entries(session: Session, entries: list[Entry]) -> int:
    """A batch of stream entries into the database."""
    return store(session, rows_of(entries))


class ClaimWriter(StreamWriter):
    """Moves claims from the gate's stream into the database."""

    def __init__(
        self, client: redis.Redis, key: str, factory: sessionmaker[Session], *, name: str | None = None
    ) -> None:
        super().__init__(client, key, GROUP, factory, store_entries, name=name, batch=1000)

    def _store_batch(self, entries: list[Entry]) -> None:
        """Store the batch but its claims past their coupon's per-customer limit, which are moved to
        the dead letters at once (reason ``per_customer_limit``); then acknowledge the others."""
        rows = rows_of(entries)
        with self.factory() as session, session.begin():
            stored, past = store_within_limits(session, rows)
        if past:
            self._set_aside_past([(e, r) for e, r in zip(entries, rows, strict=True) if r["id"] in past])
        if kept := [e for e, r in zip(entries, rows, strict=True) if r["id"] not in past]:
            self.acknowledge(kept)
        self.stored += stored

    def _set_aside_past(self, refused: list[tuple[Entry, dict[str, Any]]]) -> None:
        """Move claims past their limit to the dead letters at once; the move's own script, only when it
        moved the claim, keeps the claim's refusal (``refusal_key``: the gate's ``limit_reached``) and
        deletes the gate's counters that count it (its coupon's and customer's, never the stock cap),
        bumping their epochs: the next claim of each seeds it again from the database and the stream,
        and a seed read before the move is not set (``gate_scripts``)."""
        gate_namespace = self.key.removesuffix(":claims")  # the stream is ``StockGate.claims_stream``
        with self.factory() as session:
            coupons = {
                coupon_id: (created_at, ends_at)
                for coupon_id, created_at, ends_at in session.execute(
                    select(CouponTemplate.id, CouponTemplate.created_at, CouponTemplate.ends_at).where(
                        CouponTemplate.id.in_(sorted({r["coupon_id"] for _, r in refused}))
                    )
                )
            }
        for entry, r in refused:
            keys = [refusal_key(gate_namespace, r["id"])]
            args: list[bytes | str] = [f"limit_reached:{r['coupon_id']}", str(REFUSAL_KEPT_SECONDS)]
            if (found := coupons.get(r["coupon_id"])) is not None:  # a coupon deleted since has no counters
                stock, customer, _cap, epochs = counter_keys(
                    gate_namespace, r["coupon_id"], found[0], r["customer_ref_hash"]
                )
                keys += [stock, customer, epochs]
                expire = int((found[1] + timedelta(days=1)).timestamp())
                args += [STOCK_EPOCH, epoch_field(r["customer_ref_hash"]), str(expire)]
            hook = AckHook(REFUSAL_HOOK, tuple(keys), _fixed(args))
            give_up_or_keep(
                self.client,
                self.key,
                self.group,
                entry,
                past_limit(),
                consumer=self.name,
                max_deliveries=1,
                hook=hook,
            )


def _fixed(args: list[bytes | str]) -> Callable[[Entry], list[bytes | str]]:
    """A hook's arguments, the same whatever the entry."""
    return lambda _entry: args


@job("links.drain_claim_stream", cron={"minute": "*/5"}, own_transactions=True)
def drain_claim_stream(session: Session, _payload: dict[str, Any], _at: datetime) -> None:
    """Move claims from the Redis stream into the database (a safety net: web processes consume
    continuously). Each batch is its own transaction on another connection, so the job's key is
    committed first (``own_transactions``: on SQLite it would hold the write lock the batches wait for)."""
    settings = settings_of(session)
    if (redis_url := settings.redis_client_url) is None:
        return
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{namespace(settings.database_url)}:claims"
        ClaimWriter(client, key, factory, name="scheduled-drain").drain()
    finally:
        client.close()

"""Claims written behind the stock gate: the gate's script takes the unit and appends the claim to a
Redis stream in one step; ``ClaimWriter`` stores the stream in batches, as clicks are stored.

A batch is stored by ``links.claim_batches`` (a few statements whatever its size). A claim's id is
made from its stream id (``kit.streams.id_from_stream``), so the shopper is answered with the id the row
will carry.

A claim that would take a customer past its coupon's ``per_customer_limit`` (``claim_batches`` checks it
for the batch at once, as the database's stock CHECK checks the stock) is not stored and goes to the
dead letters at once, reason ``per_customer_limit`` (logged as
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
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

import redis
from pydantic_core import to_json
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.actor import Actor
from neigou.kit.dead_letters import give_up_or_keep, rewrite
from neigou.kit.ids import ERASED
from neigou.kit.jobs import job
from neigou.kit.settings import settings_of
from neigou.kit.streams import AckHook, Entry, StreamWriter, id_from_stream, namespace
from neigou.links.claim_batches import past_limit, store, store_within_limits
from neigou.links.consent import GivenConsent
from neigou.links.gate_scripts import REFUSAL_HOOK, STOCK_EPOCH, counter_keys, epoch_field
from neigou.links.models import ClaimSource
from neigou.offers.models import CouponTemplate

GROUP = "neigou-claim-writers"
ID_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
# A claim moved to the dead letters for ``claim_batches.PAST_LIMIT`` leaves its refusal under
# ``refusal_key`` for a week, and its counters deleted, in the move's own script
# (``gate_scripts.REFUSAL_HOOK``): a later read of the claim (the landing page) answers the refusal,
# and no crash can come between the move and the deletion.
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


def store_entries(session: Session, entries: list[Entry]) -> int:
    """A batch of stream entries into the database."""
    return store(session, rows_of(entries))


def erase_dead_letters(
    client: redis.Redis,
    key: str,
    *,
    customer: str,
    tombstone: str,
    program_id: int | None,
    coupon_ids: Collection[int] | None = None,
) -> int:
    """Rewrite the claim stream's dead letters of a shopper who opted out (of ``program_id``; None: of
    all, of the coupons ``coupon_ids`` when given, an organization's, else of every coupon) as the
    opt-out left their claims (``privacy.service``): under the tombstone, masked ``已注销``, without the
    cookie and the consent; how many. A replay stores them so (``claim_batches``: a claim masked so
    makes no touch)."""

    def erased(fields: dict[bytes, bytes]) -> dict[bytes, bytes] | None:
        try:
            row = json.loads(fields[b"c"])
        except (KeyError, ValueError):
            return None
        if not isinstance(row, dict) or row.get("customer_ref_hash") != customer:
            return None
        if program_id is not None and row.get("program_id") != program_id:
            return None
        if coupon_ids is not None and row.get("coupon_id") not in coupon_ids:
            return None
        row.update(customer_ref_hash=tombstone, customer_ref_masked=ERASED, visitor_id=None, consent=None)
        return {**fields, b"c": to_json(row)}

    return rewrite(client, key, erased)


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
    continuously): those in the stream when it starts, for 45 s at most (``drain_backlog``). Each batch is its own transaction on another connection, so the job's key is
    committed first (``own_transactions``: on SQLite it would hold the write lock the batches wait for)."""
    settings = settings_of(session)
    if (redis_url := settings.redis_client_url) is None:
        return
    factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    client = redis.Redis.from_url(redis_url)
    try:
        key = f"{namespace(settings.database_url)}:claims"
        ClaimWriter(client, key, factory, name="scheduled-drain").drain_backlog()
    finally:
        client.close()

"""Where the stock gate's counters start when Redis has none (``links.stock_gate``, ``gate_scripts``).

A counter is missing the first time a coupon or a customer of it is seen, and whenever Redis lost it:
restarted without persistence, the key evicted, or the deployment ran without Redis while claims
were stored (also claims stored through the request, keyed or without the gate). The gate's script
then asks for seeds instead of guessing (and sets them only under the counters' epochs they were read
under, ``gate_scripts``), and they are read here, fresh from the database: the
coupon's ``claimed_quantity`` (never the terms cached in-process, which may predate claims stored
since) and the customer's ``ClaimCounter`` row, in one statement, read unscoped (a counter is the
deployment's, whichever caller's request seeds it).

Claims answered by the gate but not stored yet are in the claim stream (or its dead letters) and in
neither count. When the coupon's counter is the one missing, the stream and its dead letters are
read first and their claims of the coupon (and of the customer) that the same statement does not
find stored are added: read in that order, a claim the writer stores meanwhile is counted once
(stored, or still in the stream), never missed; a dead letter refused for the coupon's per-customer
limit is not counted (never stored, it holds no unit: the claim writer deletes the counters that
counted it). When only the customer's counter is missing (a new customer, the common case: one
primary-key read, no stream scan) the stream is not read: a customer's key lost alone (evicted)
while that customer's claims wait in the stream (usually under a second; longer while no writer
runs) starts without them, and the claim writer keeps any claim past the customer's limit out of the
database (``links.claim_stream``). Claims lost with the stream itself (Redis restarted without
persistence) were never stored and count nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import redis
from sqlalchemy import ColumnElement, bindparam, func, literal, select
from sqlalchemy.orm import Session

from neigou.kit.dead_letters import letters
from neigou.kit.scoping import unscoped
from neigou.kit.streams import Entry
from neigou.links.claim_batches import PAST_LIMIT
from neigou.links.claim_stream import claim_id
from neigou.links.models import ClaimCounter, CouponClaim
from neigou.offers.models import CouponTemplate

if TYPE_CHECKING:  # ``links.stock_gate`` reads its seeds here
    from neigou.links.stock_gate import Seeder, StockGate

_PAGE = 1000


def seeder(session: Session, gate: StockGate, coupon_id: int, customer_ref_hash: str) -> Seeder:
    """The seeds of a claim's counters, read in the claim's session when the gate asks."""

    def seeds(with_stream: bool) -> tuple[int, int]:
        stream = gate.claims_stream if with_stream else None
        return read(session, gate.client, stream, coupon_id, customer_ref_hash)

    return seeds


def read(
    session: Session, client: redis.Redis, stream: str | None, coupon_id: int, customer_ref_hash: str
) -> tuple[int, int]:
    """(the coupon's claims, the customer's claims of it): stored, plus those in ``stream`` (and its
    dead letters) not stored yet when a stream is given."""
    coupon_ids: list[int] = []
    customer_ids: list[int] = []
    if stream is not None:
        for entry_id, fields in _entries(client, stream):
            claim = json.loads(fields[b"c"])
            if claim.get("coupon_id") == coupon_id:
                coupon_ids.append(claim_id(entry_id.decode()))
                if claim.get("customer_ref_hash") == customer_ref_hash:
                    customer_ids.append(coupon_ids[-1])
    query = select(
        select(CouponTemplate.claimed_quantity).where(CouponTemplate.id == coupon_id).scalar_subquery(),
        select(ClaimCounter.claimed)
        .where(ClaimCounter.coupon_id == coupon_id, ClaimCounter.customer_ref_hash == customer_ref_hash)
        .scalar_subquery(),
        _stored(coupon_ids, "coupon_ids"),
        _stored(customer_ids, "customer_ids"),
    )
    with unscoped(session):  # the counter serves every caller: never a count filtered to one's scope
        stored, mine, stored_of_coupon, stored_of_customer = session.execute(query).one()
    return (
        (stored or 0) + len(coupon_ids) - stored_of_coupon,
        (mine or 0) + len(customer_ids) - stored_of_customer,
    )


def _entries(client: redis.Redis, stream: str) -> Iterator[Entry]:
    """The stream's entries, then its dead letters' (each under its entry's id in the stream) but those
    refused for their coupon's per-customer limit: never stored, they hold no unit."""
    start = "-"
    while True:
        found: list[Entry] = client.xrange(stream, start, "+", count=_PAGE)  # type: ignore[assignment]
        yield from found
        if len(found) < _PAGE:
            break
        start = "(" + found[-1][0].decode()
    for letter in letters(client, stream):
        if letter.reason != PAST_LIMIT:
            yield letter.entry


def _stored(ids: list[int], name: str) -> ColumnElement[int]:
    """How many of these claims are stored (ids written into the statement: a backlog's thousands
    would pass the drivers' limit on parameters)."""
    if not ids:
        return literal(0)
    chosen = CouponClaim.id.in_(bindparam(name, ids, expanding=True, literal_execute=True))
    return select(func.count()).select_from(CouponClaim).where(chosen).scalar_subquery()

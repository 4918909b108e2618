"""One claim read back by its id (``GET /api/v1/coupons/{id}/claims/{claim}``): a claim taken behind
the gate is answered 201 before the claim writer stores it, and the writer may still refuse it (past
the customer's limit, ``claim_stream``); this read tells the caller which it came to.

Read in this order: the claim stream first (still queued), then the database (stored), then the
refusal the writer keeps (``claim_stream.refusal_of``). The writer stores a claim before it deletes its
entry, and keeps a refusal in the script that deletes it, so a claim leaving the stream between the
reads is found by the next one, never missed."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy.orm import Session

from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.links import claim_stream, claims
from neigou.links.models import CouponClaim
from neigou.links.stock_gate import StockGate
from neigou.offers.models import CouponTemplate


class ClaimState(enum.StrEnum):
    """Where a claim is: written to the database, or still waiting in the claim stream."""

    STORED = "stored"
    QUEUED = "queued"


@dataclass(frozen=True, slots=True)
class ReadClaim:
    """A claim as read back, stored or queued."""

    id: int
    coupon_id: int
    customer_ref_masked: str
    link_id: int | None
    member_id: int | None
    claimed_at: datetime
    state: ClaimState


def read_claim(
    session: Session, gate: StockGate | None, coupon_id: int, claim_id: int, *, refusals: bool = True
) -> ReadClaim:
    """The claim ``claim_id`` of the coupon (in the caller's organization, as the session is scoped):
    404 ``coupon_not_found`` | ``claim_not_found``; a claim the writer refused answers that refusal,
    409 with the gate's code, as the landing page shows it (``claims.refused_behind``). A refusal keeps
    no member, so a caller who may see only their own members' claims reads it (``refusals=False``)
    as an id no claim has: 404 ``claim_not_found``, never another shopper's outcome."""
    if session.get(CouponTemplate, coupon_id) is None:
        raise NotFound(Message("This coupon does not exist."), code="coupon_not_found")
    queued = _queued(gate, claim_id) if gate is not None else None
    if queued is not None and queued["coupon_id"] == coupon_id:
        return _read(queued, ClaimState.QUEUED)
    stored = session.get(CouponClaim, claim_id)
    if stored is not None and stored.coupon_id == coupon_id:
        return _read({field: getattr(stored, field) for field in _FIELDS}, ClaimState.STORED)
    if refusals and (refused := claims.refused_behind(gate, claim_id, coupon_id)) is not None:
        raise refused
    raise NotFound(Message("This claim does not exist."), code="claim_not_found")


def _queued(gate: StockGate, claim_id: int) -> dict[str, Any] | None:
    """The claim's entry in the claim stream, as a claim row, if it is still there; None when Redis does
    not answer (or refuses the entry id): the database and the kept refusal are read next."""
    ms, seq = divmod(claim_id, 65_536)  # ``claim_stream.claim_id`` read backwards
    entry_id = f"{ms + claim_stream.ID_EPOCH_MS}-{seq}"
    try:
        found: list[Any] = gate.client.xrange(gate.claims_stream, entry_id, entry_id, count=1)  # type: ignore[assignment]
    except redis.RedisError:
        return None
    return claim_stream.rows_of(found)[0] if found else None


_FIELDS = ("id", "coupon_id", "customer_ref_masked", "link_id", "member_id", "claimed_at")


def _read(row: dict[str, Any], state: ClaimState) -> ReadClaim:
    return ReadClaim(**{field: row[field] for field in _FIELDS}, state=state)

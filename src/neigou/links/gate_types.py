"""What the stock gate (``links.stock_gate``) knows of a coupon and answers about a claim."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import CouponVisibility


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a claim needs to know about a coupon, held in-process for ``stock_gate.TERMS_TTL_SECONDS``:
    a burst of claims reads its coupon once per process instead of once per attempt. The database's
    conditional UPDATEs stay the authority, so a stale copy can refuse late, never oversell."""

    id: int
    organization_id: int
    visibility: CouponVisibility
    starts_at: datetime
    ends_at: datetime
    total_quantity: int
    claimed_quantity: int
    per_customer_limit: int
    created_at: datetime
    live: bool = True
    paused: bool = False

    @classmethod
    def of(cls, coupon: CouponTemplate) -> CouponTerms:
        return cls(
            id=coupon.id,
            organization_id=coupon.organization_id,
            visibility=coupon.visibility,
            starts_at=coupon.starts_at,
            ends_at=coupon.ends_at,
            total_quantity=coupon.total_quantity,
            claimed_quantity=coupon.claimed_quantity,
            per_customer_limit=coupon.per_customer_limit,
            created_at=coupon.created_at,
            live=coupon.live,
            paused=coupon.paused,
        )


class GateAnswer(enum.StrEnum):
    """What the gate says about one claim."""

    TAKEN = "taken"
    LIMIT_REACHED = "limit_reached"
    SOLD_OUT = "sold_out"


@dataclass(frozen=True)
class GateKeys:
    """The two counters a claim touches, the coupon's stock cap and its counters' epochs."""

    stock: str
    customer: str
    cap: str
    epochs: str

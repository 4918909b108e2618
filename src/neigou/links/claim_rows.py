"""A coupon claim's rows: the customer's counter, the claim and the coupon's stock, by conditional
statements in the claim's transaction; and the refusals a claim answers with their stable codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from neigou.kit.bulk import table_of
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.links.gate_types import CouponTerms
from neigou.links.models import ClaimCounter, ClaimSource, CouponClaim, ShareLink
from neigou.offers.models import CouponTemplate

_REFUSALS = {
    "sold_out": Message("This coupon is sold out."),
    "limit_reached": Message("This customer holds as many of this coupon as allowed."),
    "link_required": Message("This coupon can only be claimed through a share link that carries it."),
    "not_active": Message("This coupon is not open for claims at this time."),
    "link_disabled": Message("This share link has been disabled."),
}


def refused(code: str) -> Conflict:
    """The 409 of a claim that cannot be made, with its stable code."""
    return Conflict(_REFUSALS[code], code=code)


def take(
    session: Session,
    *,
    coupon: CouponTemplate | CouponTerms,
    customer_ref_hash: str,
    customer_ref_masked: str,
    link: ShareLink | None,
    request_id: str | None,
    source: ClaimSource,
    visitor_id: str | None,
    at: datetime,
) -> CouponClaim:
    """The database side in three Core statements: the customer's counter (one upsert that raises it
    only below the limit), the claim row, then the coupon's stock by conditional UPDATE last, so the
    coupon's row, which every claim of a burst waits for, is locked only until the commit."""
    counters = table_of(ClaimCounter)
    dialect = session.connection().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(counters)
    mine = session.execute(
        upsert.values(coupon_id=coupon.id, customer_ref_hash=customer_ref_hash, claimed=1)
        .on_conflict_do_update(
            index_elements=["coupon_id", "customer_ref_hash"],
            set_={"claimed": counters.c.claimed + 1},
            where=counters.c.claimed < coupon.per_customer_limit,
        )
        .returning(counters.c.claimed)
    ).first()
    if mine is None:
        raise refused("limit_reached")
    values = {
        "coupon_id": coupon.id,
        "customer_ref_hash": customer_ref_hash,
        "customer_ref_masked": customer_ref_masked,
        "link_id": link.id if link else None,
        "program_id": link.program_id if link else None,
        "member_id": link.member_id if link else None,
        "group_id": link.group_id if link else None,
        "request_id": request_id,
        "source": source,
        "visitor_id": visitor_id,
        "claimed_at": at,
    }
    claim_id = session.execute(insert(CouponClaim).values(**values).returning(CouponClaim.id)).scalar_one()
    stock = session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == coupon.id, CouponTemplate.claimed_quantity < CouponTemplate.total_quantity
        )
        .values(claimed_quantity=CouponTemplate.claimed_quantity + 1)
        .execution_options(synchronize_session=False)
    )
    if rowcount_of(stock) == 0:
        raise refused("sold_out")
    return CouponClaim(id=claim_id, **values)


def rowcount_of(result: Any) -> int:
    return int(result.rowcount)

"""Promotions: validated against the catalog and audited."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.db import get_or_404
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.offers.coupons_service import require_skus, require_window
from neigou.offers.models import Promotion
from neigou.offers.offer_schemas import EventPriceIn, PromotionCreate
from neigou.programs.scope import owner_for_write

PRICES = "params.prices"
"""Where a promotion's event prices are sent: an object of prices by sku."""


def require_priced_in_scope(priced: Sequence[str], skus: Collection[str] | None) -> None:
    """An event price is for one of the promotion's skus (any sku when it names none); else 422
    ``price_out_of_scope``, naming the entries of ``params.prices`` (their places in the object sent),
    never their skus."""
    if skus is None:
        return
    outside = [index for index, sku in enumerate(priced) if sku not in skus]
    if outside:
        raise Invalid(
            Message(
                "{field}[{index}] prices a sku outside the promotion's skus.", field=PRICES, index=outside[0]
            ),
            code="price_out_of_scope",
            extra={"field": PRICES, "indexes": outside},
        )


def create_promotion(
    session: Session, *, data: PromotionCreate, actor: Actor, at: datetime | None = None
) -> Promotion:
    """Add a promotion; its skus and event-priced skus must be in the catalog."""
    require_window(data.starts_at, data.ends_at)
    organization_id, merchant_id = owner_for_write(session, data.merchant_id)
    skus = require_skus(session, organization_id, data.skus)
    params = data.params.model_dump(mode="json")
    if isinstance(data.params, EventPriceIn):
        require_skus(session, organization_id, data.params.prices, field=PRICES)
        require_priced_in_scope(list(data.params.prices), skus)
    promotion = Promotion(
        organization_id=organization_id,
        merchant_id=merchant_id,
        name=data.name,
        kind=data.kind,
        params=params,
        skus=skus,
        priority=data.priority,
        exclusive=data.exclusive,
        starts_at=ensure_aware(data.starts_at),
        ends_at=ensure_aware(data.ends_at),
        created_at=at or utcnow(),
    )
    session.add(promotion)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="promotion.create",
        entity="promotion",
        entity_id=promotion.id,
        after=data.model_dump(mode="json"),
    )
    return promotion


def require_promotion(session: Session, promotion_id: int) -> Promotion:
    """The promotion or a 404."""
    return get_or_404(
        session,
        Promotion,
        promotion_id,
        code="promotion_not_found",
        detail=Message("This promotion does not exist."),
    )

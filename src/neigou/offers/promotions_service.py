"""Promotions: validated against the catalog and audited."""

from __future__ import annotations

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


def create_promotion(
    session: Session, *, data: PromotionCreate, actor: Actor, at: datetime | None = None
) -> Promotion:
    """Add a promotion; its skus and event-priced skus must be in the catalog."""
    require_window(data.starts_at, data.ends_at)
    skus = require_skus(session, data.skus)
    params = data.params.model_dump(mode="json")
    if isinstance(data.params, EventPriceIn):
        priced = require_skus(session, data.params.prices) or []
        outside = sorted(set(priced) - set(skus)) if skus is not None else []
        if outside:
            raise Invalid(
                Message("Event prices for {skus} lie outside the promotion's skus.", skus=", ".join(outside)),
                code="price_out_of_scope",
                extra={"skus": outside},
            )
    organization_id, merchant_id = owner_for_write(session, data.merchant_id)
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

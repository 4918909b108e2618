"""Coupon templates: validated against the catalog and audited. Claims come later, from this stock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.offers import repository as repo
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_rules import BP_SCALE, CouponKind, CouponVisibility
from neigou.offers.offer_schemas import CouponCreate
from neigou.offers.review import hold_coupon, under_review
from neigou.programs.scope import is_merchant, owner_for_write


def require_window(starts_at: datetime, ends_at: datetime) -> None:
    """An offer must end after it starts."""
    if ends_at <= starts_at:
        raise Invalid(Message("ends_at must be after starts_at."), code="invalid_window")


def require_skus(
    session: Session, organization_id: int, skus: Iterable[str] | None, *, field: str = "skus"
) -> list[str] | None:
    """The skus, de-duplicated and sorted, once every one is in the organization's catalog (else 422
    unknown_sku, naming the entries of ``field`` by their places in the list or object sent, never
    their skus)."""
    if skus is None:
        if is_merchant(session):
            raise Invalid(Message("A merchant's offer names its skus."), code="skus_required")
        return None
    given = list(skus)
    wanted = sorted(set(given))
    known = set(repo.existing_skus(session, organization_id, wanted))
    missing = [index for index, sku in enumerate(given) if sku not in known]
    if missing:
        refusal = Message("{field}[{index}] names no product.", field=field, index=missing[0])
        extra: dict[str, object] = {"field": field, "indexes": missing}
        if is_merchant(session):
            # Another merchant's sku does not exist for this one.
            raise NotFound(refusal, code="product_not_found", extra=extra)
        raise Invalid(refusal, code="unknown_sku", extra=extra)
    return wanted


def create_coupon(
    session: Session, *, data: CouponCreate, actor: Actor, at: datetime | None = None
) -> CouponTemplate:
    """Add a coupon template with its stock; hidden ones will be claimable only through a share link."""
    require_window(data.starts_at, data.ends_at)
    if data.kind is CouponKind.PERCENT_OFF and data.value > BP_SCALE:
        raise Invalid(
            Message("A percent_off value is in basis points, at most 10000 (100%)."),
            code="invalid_percent",
        )
    if data.kind is CouponKind.AMOUNT_OFF and data.cap_fen is not None:
        raise Invalid(Message("cap_fen only limits percent_off coupons."), code="cap_not_allowed")
    organization_id, merchant_id = owner_for_write(session, data.merchant_id)
    skus = require_skus(session, organization_id, data.skus)
    at = at or utcnow()
    coupon = CouponTemplate(
        organization_id=organization_id,
        merchant_id=merchant_id,
        name=data.name,
        kind=data.kind,
        value=data.value,
        cap_fen=data.cap_fen,
        min_spend_fen=data.min_spend_fen,
        visibility=data.visibility,
        stacking=data.stacking,
        skus=skus,
        total_quantity=data.total_quantity,
        claimed_quantity=0,
        per_customer_limit=data.per_customer_limit,
        starts_at=ensure_aware(data.starts_at),
        ends_at=ensure_aware(data.ends_at),
        created_at=at,
    )
    session.add(coupon)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="coupon.create",
        entity="coupon",
        entity_id=coupon.id,
        after=data.model_dump(mode="json"),
    )
    if under_review(session):
        hold_coupon(session, coupon, actor=actor, at=at)
    return coupon


def require_coupon(session: Session, coupon_id: int, *, see_hidden: bool) -> CouponTemplate:
    """The coupon or a 404; a hidden coupon, or one not live (under review), is a 404 to whoever
    may not see hidden coupons."""
    coupon = repo.get_coupon(session, coupon_id)
    if coupon is None or (
        not see_hidden and (coupon.visibility is CouponVisibility.HIDDEN or not coupon.live)
    ):
        raise NotFound(Message("This coupon does not exist."), code="coupon_not_found")
    return coupon

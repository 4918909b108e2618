"""Publishing a campaign: checked whole before anything is written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.campaigns import repository as repo
from neigou.campaigns.models import Campaign, CampaignItem
from neigou.campaigns.schemas import CampaignCreate, CampaignOut
from neigou.kit.actor import Actor
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.scoping import current_scope
from neigou.offers import repository as offers
from neigou.offers.models import Brand
from neigou.offers.review import require_live
from neigou.programs.scope import is_merchant
from neigou.programs.service import require_program

BP = 10_000


def require_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign or a 404."""
    campaign = repo.get_campaign(session, campaign_id)
    if campaign is None:
        raise NotFound(
            Message("Campaign {campaign_id} does not exist.", campaign_id=campaign_id),
            code="campaign_not_found",
        )
    return campaign


def _check(session: Session, data: CampaignCreate) -> None:
    if data.ends_at <= data.starts_at:
        raise Invalid(Message("A campaign must end after it starts."), code="invalid_window")
    duplicates = sorted({s for s in data.skus if data.skus.count(s) > 1})
    if duplicates:
        raise Invalid(
            Message("Sku {skus} is listed twice.", skus=", ".join(duplicates)), code="duplicate_sku"
        )
    products = offers.products_by_sku(session, data.skus)
    missing = [s for s in data.skus if s not in products]
    if missing and is_merchant(session):
        # Another merchant's sku, or the organization's own, does not exist for a merchant.
        raise NotFound(
            Message("Product {sku!r} does not exist.", sku=missing[0]),
            code="product_not_found",
            extra={"skus": missing},
        )
    if missing:
        raise Invalid(Message("Unknown sku {sku}.", sku=", ".join(missing)), code="unknown_sku")
    if data.brand_id is not None and session.get(Brand, data.brand_id) is None:
        raise Invalid(Message("Unknown brand {brand_id}.", brand_id=data.brand_id), code="unknown_brand")
    too_high = [s for s in data.skus if products[s].commission_rate_bp + data.commission_boost_bp > BP]
    if too_high:
        raise Invalid(
            Message(
                "The boost would take the commission rate of {skus} above 100%.", skus=", ".join(too_high)
            ),
            code="boost_too_high",
        )
    if data.coupon_id is None:
        return
    coupon = offers.get_coupon(session, data.coupon_id)
    if coupon is None:
        raise Invalid(Message("Unknown coupon {coupon_id}.", coupon_id=data.coupon_id), code="unknown_coupon")
    require_live(coupon)
    # A campaign's coupon may cover some of its products only; covering none is a mistake.
    uncovered = [s for s in data.skus if coupon.skus is not None and s not in coupon.skus]
    if len(uncovered) == len(data.skus):
        raise Invalid(
            Message(
                "Coupon {coupon_id} does not cover {sku}.", coupon_id=coupon.id, sku=", ".join(uncovered)
            ),
            code="coupon_not_for_sku",
        )


def create_campaign(session: Session, *, data: CampaignCreate, actor: Actor, at: datetime) -> Campaign:
    """Publish a campaign; every sku must exist and the coupon must cover at least one of them."""
    require_program(session, data.program_id)
    _check(session, data)
    products = offers.products_by_sku(session, data.skus)
    scope = current_scope(session)
    campaign = Campaign(
        program_id=data.program_id,
        merchant_id=scope.merchant_id if scope is not None else None,
        name=data.name,
        brand_id=data.brand_id,
        coupon_id=data.coupon_id,
        commission_boost_bp=data.commission_boost_bp,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        copy=data.copy_text,
        created_by=actor.label[:80],
        created_at=at,
    )
    session.add(campaign)
    session.flush()
    session.add_all(
        CampaignItem(campaign_id=campaign.id, product_id=products[sku].id, sku=sku, position=n)
        for n, sku in enumerate(data.skus)
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign.create",
        entity="campaign",
        entity_id=campaign.id,
        after={
            "name": data.name,
            "skus": data.skus,
            "boost_bp": data.commission_boost_bp,
            "merchant_id": campaign.merchant_id,
        },
        at=at,
    )
    return campaign


def campaigns_out(session: Session, campaigns: list[Campaign]) -> list[CampaignOut]:
    """API views of campaigns with their skus (one query for the page's items)."""
    items = repo.items_of(session, [c.id for c in campaigns])
    return [
        CampaignOut(
            id=c.id,
            program_id=c.program_id,
            merchant_id=c.merchant_id,
            name=c.name,
            skus=[i.sku for i in items[c.id]],
            brand_id=c.brand_id,
            coupon_id=c.coupon_id,
            commission_boost_bp=c.commission_boost_bp,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            copy_text=c.copy,
            created_at=c.created_at,
        )
        for c in campaigns
    ]

"""Publishing and editing a campaign: checked whole before anything is written."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.campaigns import repository as repo
from neigou.campaigns.models import Campaign, CampaignItem
from neigou.campaigns.schemas import CampaignCreate, CampaignOut, CampaignUpdate
from neigou.kit.actor import Actor
from neigou.kit.errors import Conflict, Invalid, NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.instants import DEFAULT_SKEW
from neigou.kit.places import first_repeat
from neigou.kit.scoping import current_scope, unscoped
from neigou.offers import repository as offers
from neigou.offers.models import Brand
from neigou.offers.review import require_live, under_review
from neigou.programs.repository import organization_of
from neigou.programs.scope import is_merchant
from neigou.programs.service import require_program

BP = 10_000


def require_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    """The campaign or a 404; ``lock`` holds its row until commit (an edit follows: see
    :func:`update_campaign`)."""
    campaign = repo.get_campaign(session, campaign_id, lock=lock)
    if campaign is None:
        raise NotFound(
            Message("This campaign does not exist."),
            code="campaign_not_found",
        )
    return campaign


def _no_product(skus: list[str], missing: list[str], *, merchant: bool) -> ProblemError:
    """The refusal of the skus of ``skus`` that name no product, by their places; to a merchant, another
    merchant's sku or the organization's own does not exist (404)."""
    indexes = [index for index, sku in enumerate(skus) if sku in missing]
    detail = Message("{field}[{index}] names no product.", field="skus", index=indexes[0])
    extra: dict[str, Any] = {"field": "skus", "indexes": indexes}
    if merchant:
        return NotFound(detail, code="product_not_found", extra=extra)
    return Invalid(detail, code="unknown_sku", extra=extra)


def _check(
    session: Session,
    data: CampaignCreate,
    *,
    merchant_id: int | None,
    kept_coupon: int | None = None,
    terms_fixed: bool = False,
) -> None:
    """``data`` as a whole, for a campaign of ``merchant_id`` (None: the organization's). ``kept_coupon``
    is the coupon an edited campaign already has: kept, it is read by the program's organization, not
    under the editor's scope (an operator's coupon stays on a merchant's campaign the merchant edits).
    ``terms_fixed``: a started campaign's products and boost, unchanged (:func:`terms_locked`), are not
    checked again against today's catalog (a rate raised since would refuse every edit, ending it early
    too); its window and coupon still are."""
    if data.ends_at <= data.starts_at:
        raise Invalid(Message("A campaign must end after it starts."), code="invalid_window")
    if (repeat := first_repeat(data.skus)) is not None:
        raise Invalid(
            Message("{field}[{index}] repeats an entry listed before it.", field="skus", index=repeat),
            code="duplicate_sku",
        )
    # The program's organization's catalog, also for a platform administrator (no scope).
    organization_id = organization_of(session, data.program_id)
    products = offers.products_by_sku(session, data.skus, organization_id=organization_id)
    missing = [s for s in data.skus if s not in products]
    if missing and not terms_fixed:
        raise _no_product(data.skus, missing, merchant=is_merchant(session))
    brand = session.get(Brand, data.brand_id) if data.brand_id is not None else None
    if data.brand_id is not None and (brand is None or brand.organization_id != organization_id):
        raise Invalid(Message("{field} names no brand.", field="brand_id"), code="unknown_brand")
    too_high = [
        i
        for i, s in enumerate(data.skus)
        if not terms_fixed and products[s].commission_rate_bp + data.commission_boost_bp > BP
    ]
    if too_high:
        raise Invalid(
            Message(
                "The boost would take the commission rate of {field}[{index}] above 100%.",
                field="skus",
                index=too_high[0],
            ),
            code="boost_too_high",
            extra={"field": "skus", "indexes": too_high},
        )
    if data.coupon_id is None:
        return
    kept = data.coupon_id == kept_coupon
    with unscoped(session) if kept else nullcontext():
        coupon = offers.coupons_by_id(session, [data.coupon_id], organization_id=organization_id).get(
            data.coupon_id
        )
    if coupon is None:
        raise Invalid(Message("{field} names no coupon.", field="coupon_id"), code="unknown_coupon")
    require_live(coupon)
    if not kept and merchant_id is not None and coupon.merchant_id != merchant_id:
        # A merchant's campaign carries that merchant's coupon only (to a merchant, another's is unknown).
        raise Invalid(
            Message(
                "{field} names a coupon of another owner than the campaign's merchant.", field="coupon_id"
            ),
            code="coupon_of_other_merchant",
        )
    # A campaign's coupon may cover some of its products only; covering none is a mistake.
    uncovered = [i for i, s in enumerate(data.skus) if coupon.skus is not None and s not in coupon.skus]
    if len(uncovered) == len(data.skus):
        raise Invalid(
            Message(
                "Coupon {coupon_id} covers none of the products in {field}.",
                coupon_id=coupon.id,
                field="skus",
            ),
            code="coupon_not_for_sku",
            extra={"field": "skus", "indexes": uncovered},
        )


def _boost_reviewed(session: Session, *, boost_bp: int, before_bp: int, added: bool) -> None:
    """A merchant whose organization reviews merchants' changes sets no boost and raises none, nor
    brings a product under a boost (409 ``boost_needs_review``): the boost adds to the commission the
    orders through the campaign pay, which that merchant changes only through an operator's review
    (``offers.review.hold_rate``). Lowering it, or keeping it, is the merchant's to do."""
    if boost_bp == 0 or (boost_bp <= before_bp and not added) or not under_review(session):
        return
    raise Conflict(
        Message(
            "Your organization reviews merchants' commission changes: an operator sets or raises a "
            "campaign's commission boost."
        ),
        code="boost_needs_review",
        extra={"field": "commission_boost_bp"},
    )


def _in_window(data: CampaignCreate, at: datetime) -> None:
    """A new campaign ends after now and starts now at the earliest (a clock a little behind ours
    aside), as an edit of one that has not started: one backdated would be live from a past moment."""
    if data.ends_at <= at:
        raise Invalid(Message("A campaign cannot end in the past."), code="ends_in_past")
    if data.starts_at < at - DEFAULT_SKEW:
        raise Invalid(Message("A campaign cannot start in the past."), code="starts_in_past")


def create_campaign(session: Session, *, data: CampaignCreate, actor: Actor, at: datetime) -> Campaign:
    """Publish a campaign; every sku must exist and the coupon must cover at least one of them."""
    require_program(session, data.program_id)
    scope = current_scope(session)
    _check(session, data, merchant_id=scope.merchant_id if scope is not None else None)
    _in_window(data, at)
    _boost_reviewed(session, boost_bp=data.commission_boost_bp, before_bp=0, added=True)
    products = offers.products_by_sku(
        session, data.skus, organization_id=organization_of(session, data.program_id)
    )
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
        created_by=actor.stored_label,
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


def _dump(campaign: Campaign, skus: list[str]) -> dict[str, Any]:
    return {
        "name": campaign.name,
        "skus": skus,
        "coupon_id": campaign.coupon_id,
        "boost_bp": campaign.commission_boost_bp,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat(),
        "copy": campaign.copy,
    }


def terms_locked(campaign: Campaign, at: datetime) -> bool:
    """Whether the campaign's boost and products are fixed at ``at`` (server time): from its start on,
    orders may be paid through it, and one reported later (a retried webhook, an import, a platform's
    feed) is priced by the campaign as it stands then (``campaigns.repository.boost_terms``), so a
    change would reach back to orders paid before it. The API and the console forms both ask this."""
    return campaign.starts_at <= at


def _locked_terms(data: CampaignUpdate, old_skus: list[str], campaign: Campaign) -> list[str]:
    """The fixed terms ``data`` would change (sending the same ones is no change)."""
    changed = []
    if data.commission_boost_bp is not None and data.commission_boost_bp != campaign.commission_boost_bp:
        changed.append("commission_boost_bp")
    if data.skus is not None and data.skus != old_skus:
        changed.append("skus")
    return changed


def _editable(campaign: Campaign, data: CampaignUpdate, old_skus: list[str], at: datetime) -> None:
    """An ended campaign is history; a started one keeps its start, its boost and its products
    (:func:`terms_locked`), and may end earlier (now at the earliest, not in the past) or later."""
    if campaign.ends_at <= at:
        raise Conflict(
            Message("Campaign {campaign_id} has ended and can no longer be edited.", campaign_id=campaign.id),
            code="campaign_ended",
        )
    if not terms_locked(campaign, at):
        # Not started: it may move, but not into the past (a clock a little behind ours aside).
        if data.ends_at is not None and data.ends_at <= at:
            raise Invalid(Message("A campaign cannot end in the past."), code="ends_in_past")
        if data.starts_at is not None and data.starts_at < at - DEFAULT_SKEW:
            raise Invalid(
                Message("A campaign that has not started cannot start in the past."), code="starts_in_past"
            )
        return
    if data.starts_at is not None and data.starts_at != campaign.starts_at:
        raise Conflict(
            Message(
                "Campaign {campaign_id} has started: its start can no longer move.", campaign_id=campaign.id
            ),
            code="campaign_started",
        )
    if changed := _locked_terms(data, old_skus, campaign):
        raise Conflict(
            Message(
                "Campaign {campaign_id} has started and orders may be paid through it: its commission "
                "boost and its products stay as published. It can still end earlier (now at the "
                "earliest) or later.",
                campaign_id=campaign.id,
            ),
            code="terms_locked",
            extra={"fields": changed},
        )
    if data.ends_at is not None and data.ends_at < at:
        raise Invalid(
            Message("A campaign that has started can end now at the earliest, not in the past."),
            code="ends_in_past",
        )


def _merged(campaign: Campaign, skus: list[str], data: CampaignUpdate) -> CampaignCreate:
    """The campaign as it would be after the change, in the shape creation checks."""
    sent = data.model_fields_set
    return CampaignCreate.model_validate(
        {
            "program_id": campaign.program_id,
            "name": data.name if data.name is not None else campaign.name,
            "skus": data.skus if data.skus is not None else skus,
            "brand_id": campaign.brand_id,
            "coupon_id": data.coupon_id if "coupon_id" in sent else campaign.coupon_id,
            "commission_boost_bp": (
                data.commission_boost_bp
                if data.commission_boost_bp is not None
                else campaign.commission_boost_bp
            ),
            "starts_at": data.starts_at or campaign.starts_at,
            "ends_at": data.ends_at or campaign.ends_at,
            "copy": data.copy_text if "copy_text" in sent else campaign.copy,
        }
    )


def _same_merchant(session: Session, campaign: Campaign, skus: list[str]) -> None:
    """A merchant's campaign holds that merchant's products only, whoever edits it."""
    if campaign.merchant_id is None:
        return
    products = offers.products_by_sku(
        session, skus, organization_id=organization_of(session, campaign.program_id)
    )
    others = [i for i, s in enumerate(skus) if products[s].merchant_id != campaign.merchant_id]
    if others:
        raise Invalid(
            Message(
                "{field}[{index}] names a product of another merchant than the campaign's.",
                field="skus",
                index=others[0],
            ),
            code="sku_of_other_merchant",
            extra={"field": "skus", "indexes": others},
        )


def update_campaign(
    session: Session, *, campaign: Campaign, data: CampaignUpdate, actor: Actor, at: datetime
) -> Campaign:
    """Change a campaign's name, copy, boost, window, coupon or products, checked like a new one;
    an ended campaign is refused (409 ``campaign_ended``), and so are a started one's start (409
    ``campaign_started``), boost or products (409 ``terms_locked``). ``campaign`` is read locked
    (``require_campaign(lock=True)``): two edits at once then run one after the other, the second
    reading the first's skus, so the campaign ends with one request's list, never their union."""
    old_skus = [i.sku for i in repo.items_of(session, [campaign.id])[campaign.id]]
    _editable(campaign, data, old_skus, at)
    merged = _merged(campaign, old_skus, data)
    # Started: its products and boost are as published (``_editable`` refused any change to them).
    fixed = terms_locked(campaign, at)
    _check(
        session, merged, merchant_id=campaign.merchant_id, kept_coupon=campaign.coupon_id, terms_fixed=fixed
    )
    if not fixed:
        _same_merchant(session, campaign, merged.skus)
    _boost_reviewed(
        session,
        boost_bp=merged.commission_boost_bp,
        before_bp=campaign.commission_boost_bp,
        added=bool(set(merged.skus) - set(old_skus)),
    )
    before = _dump(campaign, old_skus)
    campaign.name = merged.name
    campaign.coupon_id = merged.coupon_id
    campaign.commission_boost_bp = merged.commission_boost_bp
    campaign.starts_at = merged.starts_at
    campaign.ends_at = merged.ends_at
    campaign.copy = merged.copy_text
    if merged.skus != old_skus:
        repo.delete_items(session, campaign.id)
        products = offers.products_by_sku(
            session, merged.skus, organization_id=organization_of(session, campaign.program_id)
        )
        session.add_all(
            CampaignItem(campaign_id=campaign.id, product_id=products[sku].id, sku=sku, position=n)
            for n, sku in enumerate(merged.skus)
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign.update",
        entity="campaign",
        entity_id=campaign.id,
        before=before,
        after=_dump(campaign, merged.skus),
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

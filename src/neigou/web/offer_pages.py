"""The coupon and promotion forms both consoles share: the organization's console (``/console``) and
the merchant portal (``/console/merchant``) create and edit offers the same way and differ only in
their addresses, their menu and the create form's defaults. Every value is typed as people read it:
money in yuan, rates in percent, times in the deployment's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.errors import ProblemError
from neigou.offers import coupons_service as coupons
from neigou.offers import forms, offer_edit
from neigou.offers import promotions_service as promotions
from neigou.offers.amounts import bp_to_percent_text, fen_to_yuan_text
from neigou.offers.models import CouponTemplate, Promotion
from neigou.offers.offer_rules import CouponKind, PromotionKind
from neigou.web.form_pages import default_timezone, place, refusal
from neigou.web.pages import render

Kind = Literal["coupon", "promotion"]
FORM_TIME = "%Y-%m-%dT%H:%M"
# A refusal of a change of stock (``offers.offer_edit``, ``links.stock_gate``) shown by the stock field.
STOCK_REFUSALS = {"quantity_below_claimed": "total_quantity", "stock_unconfirmed": "total_quantity"}


@dataclass(frozen=True)
class OfferConsole:
    """Where one console's offer pages live: ``/console`` with the console's menu, or the merchant
    portal with its own (``nav``)."""

    prefix: str
    nav: str | None = None

    def list_url(self, kind: Kind) -> str:
        return f"{self.prefix}/{kind}s"


def _render(
    request: Request,
    principal: Principal,
    console: OfferConsole,
    *,
    template: str,
    values: dict[str, str],
    errors: list[forms.FieldError] | None,
    **extra: object,
) -> HTMLResponse:
    return render(
        request,
        template,
        status_code=422 if errors else 200,
        principal=principal,
        nav=console.nav,
        values=values,
        errors=errors or [],
        timezone=default_timezone(request),
        **extra,
    )


def new_form(
    request: Request,
    principal: Principal,
    console: OfferConsole,
    *,
    kind: Kind,
    values: dict[str, str],
    errors: list[forms.FieldError] | None = None,
) -> HTMLResponse:
    """The create form of a coupon or a promotion, empty (``values``: the defaults) or refused."""
    return _render(
        request,
        principal,
        console,
        template=f"console/offers/{kind}_form.html",
        values=values,
        errors=errors,
        action=f"{console.list_url(kind)}/new",
    )


def create(
    request: Request,
    session: Session,
    principal: Principal,
    console: OfferConsole,
    *,
    kind: Kind,
    values: dict[str, str],
) -> Response:
    """Create the coupon or promotion typed into the form, or show the form again with every error."""
    timezone = default_timezone(request)
    try:
        if kind == "coupon":
            coupons.create_coupon(
                session, data=forms.coupon_input(values, timezone=timezone), actor=principal.actor
            )
        else:
            data = forms.promotion_input(values, timezone=timezone)
            promotions.create_promotion(session, data=data, actor=principal.actor)
    except forms.FormInvalid as exc:
        return new_form(request, principal, console, kind=kind, values=values, errors=exc.errors)
    except ProblemError as exc:
        return new_form(request, principal, console, kind=kind, values=values, errors=refusal(session, exc))
    return RedirectResponse(console.list_url(kind), status_code=303)


def _local(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime(FORM_TIME)


def _status(row: CouponTemplate | Promotion, now: datetime) -> str:
    return "ended" if row.ends_at <= now else "paused" if row.paused else "active"


def coupon_values(coupon: CouponTemplate, timezone: str, now: datetime) -> dict[str, str]:
    """A stored coupon as its edit form shows it."""
    by_percent = coupon.kind is CouponKind.PERCENT_OFF
    return {
        "name": coupon.name,
        "value": bp_to_percent_text(coupon.value) if by_percent else fen_to_yuan_text(coupon.value),
        "cap_yuan": fen_to_yuan_text(coupon.cap_fen) if coupon.cap_fen is not None else "",
        "min_spend_yuan": fen_to_yuan_text(coupon.min_spend_fen),
        "visibility": coupon.visibility.value,
        "total_quantity": str(coupon.total_quantity),
        "ends_at": _local(coupon.ends_at, timezone),
        "status": _status(coupon, now),
    }


def promotion_values(promotion: Promotion, timezone: str, now: datetime) -> dict[str, str]:
    """A stored promotion as its edit form shows it (the kind's terms in yuan and percent)."""
    params = promotion.params
    values = {
        "name": promotion.name,
        "ends_at": _local(promotion.ends_at, timezone),
        "status": _status(promotion, now),
    }
    if promotion.kind is PromotionKind.QUANTITY_DISCOUNT:
        values["min_quantity"] = str(params["min_quantity"])
        values["pay_rate_percent"] = bp_to_percent_text(params["pay_rate_bp"])
    elif promotion.kind is PromotionKind.SPEND_THRESHOLD_OFF:
        values["min_spend_yuan"] = fen_to_yuan_text(params["min_spend_fen"])
        values["off_yuan"] = fen_to_yuan_text(params["off_fen"])
    else:
        values["event_prices"] = "\n".join(
            f"{sku}={fen_to_yuan_text(fen)}" for sku, fen in params["prices"].items()
        )
    return values


def _offer(session: Session, kind: Kind, offer_id: int) -> CouponTemplate | Promotion:
    if kind == "coupon":
        return coupons.require_coupon(session, offer_id, see_hidden=True)
    return promotions.require_promotion(session, offer_id)


def _terms_open(session: Session, offer: CouponTemplate | Promotion, now: datetime) -> bool:
    """Whether the offer's promised terms may still change (nothing claimed or ordered with them)."""
    if isinstance(offer, CouponTemplate):
        return not offer_edit.coupon_used(session, offer)
    return offer.starts_at > now


def edit_form(
    request: Request,
    session: Session,
    principal: Principal,
    console: OfferConsole,
    *,
    kind: Kind,
    offer_id: int,
    values: dict[str, str] | None = None,
    errors: list[forms.FieldError] | None = None,
) -> HTMLResponse:
    """The edit form of an offer: its current values, or the reader's refused ones with the errors."""
    now = utcnow()
    offer = _offer(session, kind, offer_id)
    timezone = default_timezone(request)
    shown = coupon_values(offer, timezone, now) if isinstance(offer, CouponTemplate) else None
    if isinstance(offer, Promotion):
        shown = promotion_values(offer, timezone, now)
    return _render(
        request,
        principal,
        console,
        template=f"console/offers/{kind}_edit.html",
        values=values if values is not None else shown or {},
        errors=errors,
        offer=offer,
        terms_open=_terms_open(session, offer, now),
        action=f"{console.list_url(kind)}/{offer_id}/edit",
        back=console.list_url(kind),
    )


def save(
    request: Request,
    session: Session,
    principal: Principal,
    console: OfferConsole,
    *,
    kind: Kind,
    offer_id: int,
    values: dict[str, str],
) -> Response:
    """Apply the edit form, or show it again with the reader's values and every error in place."""
    timezone = default_timezone(request)
    offer = _offer(session, kind, offer_id)
    with_terms = _terms_open(session, offer, utcnow())
    try:
        if isinstance(offer, CouponTemplate):
            data = forms.coupon_update_input(
                values, kind=offer.kind, timezone=timezone, with_terms=with_terms
            )
            offer_edit.update_coupon(session, coupon_id=offer_id, data=data, actor=principal.actor)
            # The claim gate confirms a lowering of stock at the commit (``links.stock_gate``): committed
            # here, a refusal then (503 ``stock_unconfirmed``) is shown by the stock field as one before
            # (a change of terms refused so, 503 ``terms_unconfirmed``, above the form).
            session.commit()
        else:
            change = forms.promotion_update_input(
                values, kind=offer.kind, timezone=timezone, with_terms=with_terms
            )
            offer_edit.update_promotion(session, promotion_id=offer_id, data=change, actor=principal.actor)
    except forms.FormInvalid as exc:
        return edit_form(
            request,
            session,
            principal,
            console,
            kind=kind,
            offer_id=offer_id,
            values=values,
            errors=exc.errors,
        )
    except ProblemError as exc:
        errors = place(refusal(session, exc), STOCK_REFUSALS)
        return edit_form(
            request, session, principal, console, kind=kind, offer_id=offer_id, values=values, errors=errors
        )
    return RedirectResponse(console.list_url(kind), status_code=303)

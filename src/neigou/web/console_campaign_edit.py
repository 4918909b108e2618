"""Console form that edits a campaign that has not ended: its name, products, coupon, boost (typed in
percent), window (typed in the program's time zone) and selling copy. A started campaign keeps its
start; refusals are shown beside their fields with what was typed kept."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.campaigns import service
from neigou.campaigns.models import Campaign
from neigou.campaigns.schemas import CampaignUpdate
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.i18n import Message
from neigou.offers import repository as offers
from neigou.offers.amounts import AmountError, bp_to_percent_text, local_to_utc, percent_to_bp
from neigou.offers.forms import FieldError, sku_list
from neigou.programs.service import require_program
from neigou.web.form_pages import FormDep, fields, refusal
from neigou.web.pages import local_time, render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1
LOCAL = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> holds
# The form field a refusal of the service concerns, by its code.
FIELD_OF = {
    "unknown_sku": "skus",
    "duplicate_sku": "skus",
    "product_not_found": "skus",
    "sku_of_other_merchant": "skus",
    "boost_too_high": "boost_percent",
    "unknown_coupon": "coupon_id",
    "coupon_under_review": "coupon_id",
    "coupon_not_for_sku": "coupon_id",
    "campaign_started": "starts_at",
    "invalid_window": "ends_at",
    "ends_in_past": "ends_at",
}
SCHEMA_FIELDS = {"copy": "copy_text", "commission_boost_bp": "boost_percent"}
_INVALID = {
    "name": Message("Give the campaign a name (up to 120 characters)."),
    "skus": Message("List 1 to 100 skus, separated by commas or one per line."),
    "copy_text": Message("The selling copy is up to 1000 characters."),
    "coupon_id": Message("Pick a coupon from the list."),
}


def _values(session: Session, campaign: Campaign, zone: str) -> dict[str, str]:
    shown = service.campaigns_out(session, [campaign])[0]
    return {
        "name": shown.name,
        "skus": "\n".join(shown.skus),
        "coupon_id": str(shown.coupon_id or ""),
        "boost_percent": bp_to_percent_text(shown.commission_boost_bp),
        "starts_at": local_time(shown.starts_at, zone, LOCAL),
        "ends_at": local_time(shown.ends_at, zone, LOCAL),
        "copy_text": shown.copy_text or "",
    }


def _form(
    request: Request,
    session: Session,
    principal: Principal,
    campaign: Campaign,
    *,
    values: dict[str, str],
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utcnow()
    coupons = offers.list_coupons(session, visibility=None, active_at=None, limit=200, offset=0)
    current = offers.get_coupon(session, campaign.coupon_id) if campaign.coupon_id else None
    if current is not None and current.id not in {c.id for c in coupons}:
        coupons.append(current)  # saving the form must never drop a coupon the list did not show
    return render(
        request,
        "console/campaigns/edit.html",
        status_code=status_code,
        principal=principal,
        campaign=campaign,
        program=require_program(session, campaign.program_id),
        coupons=coupons,
        started=campaign.starts_at <= now,
        ended=campaign.ends_at <= now,
        values=values,
        errors=errors or [],
    )


@router.get("/console/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def edit_campaign(
    request: Request, campaign_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The campaign form, filled in (an ended campaign is shown without a save button)."""
    campaign = service.require_campaign(session, min(campaign_id, MAX_ID))
    zone = require_program(session, campaign.program_id).timezone
    return _form(request, session, principal, campaign, values=_values(session, campaign, zone))


def _changes(
    values: dict[str, str], shown: dict[str, str], zone: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API body of what was typed; a time is sent only when it was changed, so that a started
    campaign's start (shown to the minute) is never moved by saving the form."""
    errors: list[FieldError] = []
    coupon = (values.get("coupon_id") or "").strip()
    body: dict[str, Any] = {
        "name": (values.get("name") or "").strip(),
        "skus": sku_list(values.get("skus")) or [],
        "copy": (values.get("copy_text") or "").strip() or None,
        "coupon_id": int(coupon) if coupon.isdigit() and len(coupon) <= 18 else None,
    }
    if coupon and body["coupon_id"] is None:
        errors.append(FieldError("coupon_id", "validation_error", _INVALID["coupon_id"]))
    try:
        body["commission_boost_bp"] = percent_to_bp(values.get("boost_percent") or "0")
    except AmountError as exc:
        errors.append(FieldError("boost_percent", exc.code, exc.message))
    for name in ("starts_at", "ends_at"):
        typed = (values.get(name) or "").strip()
        if typed == shown[name]:
            continue
        try:
            body[name] = local_to_utc(typed, zone)
        except AmountError as exc:
            errors.append(FieldError(name, exc.code, exc.message))
    return body, errors


@router.post("/console/campaigns/{campaign_id}/edit", response_model=None)
def update_campaign(
    request: Request, campaign_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save the campaign (audited), or show the form again with each error beside its field."""
    campaign = service.require_campaign(session, min(campaign_id, MAX_ID))
    zone = require_program(session, campaign.program_id).timezone
    values = fields(form)
    body, errors = _changes(values, _values(session, campaign, zone), zone)
    data: CampaignUpdate | None = None
    try:
        data = CampaignUpdate.model_validate(body)
    except ValidationError as exc:
        wrong = dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        errors += [
            FieldError(f, "validation_error", _INVALID.get(f, Message("Check this field.")))
            for f in (SCHEMA_FIELDS.get(w, w) for w in wrong)
        ]
    if errors or data is None:
        return _form(request, session, principal, campaign, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            service.update_campaign(session, campaign=campaign, data=data, actor=principal.actor, at=utcnow())
    except ProblemError as exc:
        refused = [
            FieldError(FIELD_OF.get(e.code, e.field), e.code, e.message) for e in refusal(session, exc)
        ]
        campaign = service.require_campaign(session, campaign_id)
        return _form(
            request, session, principal, campaign, values=values, errors=refused, status_code=exc.status
        )
    return RedirectResponse(f"/console/campaigns?program={campaign.program_id}", status_code=303)

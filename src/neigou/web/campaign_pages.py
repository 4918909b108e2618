"""The campaign forms the organization's console (``/console``) and the merchant portal
(``/console/merchant``) share: both create and edit a campaign the way the API does, through the
same service under the session's scope (a merchant reaches its own campaigns, skus and coupons
only), and differ only in their addresses and menu. The boost is typed in percent, times in the
program's time zone; refusals are shown beside their fields with what was typed kept. The coupon is
typed or picked: typing part of a name or an id asks ``{prefix}/campaigns/coupon-options`` for the
coupons of the program's organization that match (a merchant's own only, by the session's scope), so
any coupon can be picked however many there are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.service import Principal
from neigou.campaigns import service
from neigou.campaigns.models import Campaign
from neigou.campaigns.schemas import CampaignCreate, CampaignUpdate
from neigou.kit.clock import utcnow
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.offers import repository as offers
from neigou.offers.amounts import AmountError, bp_to_percent_text, local_to_utc, percent_to_bp
from neigou.offers.forms import FieldError, sku_list
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_program
from neigou.web.form_pages import default_timezone, refusal
from neigou.web.pages import local_time, render

MAX_ID = 2**63 - 1
PICKER_SIZE = 50  # coupons offered in the coupon picker before anything is typed
MATCHES = 20  # coupons suggested for what is typed in the coupon field
LOCAL = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> holds
# The form fields a started campaign keeps (``campaigns.service.terms_locked``).
LOCKED_FIELDS = ("starts_at", "skus", "boost_percent")
# The form field a refusal of the service concerns, by its code.
FIELD_OF = {
    "program_not_found": "program_id",
    "unknown_brand": "brand_id",
    "unknown_sku": "skus",
    "duplicate_sku": "skus",
    "product_not_found": "skus",
    "sku_of_other_merchant": "skus",
    "boost_too_high": "boost_percent",
    "boost_needs_review": "boost_percent",
    "unknown_coupon": "coupon_id",
    "coupon_under_review": "coupon_id",
    "coupon_not_for_sku": "coupon_id",
    "campaign_started": "starts_at",
    "terms_locked": "boost_percent",  # or beside the first fixed field the edit changed: ``_placed``
    "invalid_window": "ends_at",
    "ends_in_past": "ends_at",
    "starts_in_past": "starts_at",
    "coupon_of_other_merchant": "coupon_id",
}
SCHEMA_FIELDS = {"copy": "copy_text", "commission_boost_bp": "boost_percent"}
_INVALID = {
    "name": Message("Give the campaign a name (up to 120 characters)."),
    "skus": Message("List 1 to 100 skus, separated by commas or one per line."),
    "copy_text": Message("The selling copy is up to 1000 characters."),
    "coupon_id": Message("Pick a coupon from the list."),
    "program_id": Message("Pick a program from the list."),
    "brand_id": Message("Pick a brand from the list."),
}


@dataclass(frozen=True)
class CampaignConsole:
    """Where one console's campaign forms live: ``/console`` with the console's menu (``nav`` None),
    or the merchant portal with its own."""

    prefix: str
    nav: str | None = None

    @property
    def list_url(self) -> str:
        return f"{self.prefix}/campaigns"

    def back(self, campaign: Campaign) -> str:
        """Where a saved form goes: the list (the operators' list opens on the campaign's program)."""
        return self.list_url if self.nav else f"{self.list_url}?program={campaign.program_id}"


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
    console: CampaignConsole,
    *,
    campaign: Campaign | None,
    values: dict[str, str],
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The create form (``campaign`` None: a program to pick) or a campaign's edit form. A started
    campaign's start, boost and products are read-only, as the service decides
    (``campaigns.service.terms_locked``), and shown as stored whatever was typed into them."""
    now = utcnow()
    program = require_program(session, campaign.program_id) if campaign else None
    locked = campaign is not None and service.terms_locked(campaign, now)
    if campaign is not None and program is not None and locked:
        stored = _values(session, campaign, program.timezone)
        values = {**values, **{name: stored[name] for name in LOCKED_FIELDS}}
    listed = [] if campaign else programs.list_programs(session)
    # The program whose coupons are offered: the campaign's, else the one picked (or shown first).
    shown = program or next((p for p in listed if str(p.id) == values.get("program_id")), None)
    shown = shown or (listed[0] if listed else None)
    coupons = offers.find_coupons(session, shown.organization_id, "", limit=PICKER_SIZE) if shown else []
    picked_id = _id((values.get("coupon_id") or "").strip().lstrip("#"))
    picked = offers.get_coupon(session, picked_id) if picked_id is not None else None
    if picked is not None and shown is not None and picked.organization_id == shown.organization_id:
        if picked.id not in {c.id for c in coupons}:
            coupons.append(picked)  # the coupon typed or saved is always named
    else:
        picked = None
    return render(
        request,
        "console/campaigns/edit.html",
        status_code=status_code,
        principal=principal,
        nav=console.nav,
        campaign=campaign,
        program=program,
        programs=listed,
        brands=offers.list_brands(session),
        coupons=coupons,
        picked=picked,
        options_url=f"{console.list_url}/coupon-options",
        started=locked,
        ended=campaign is not None and campaign.ends_at <= now,
        values=values,
        errors=errors or [],
        action=f"{console.list_url}/{campaign.id}/edit" if campaign else f"{console.list_url}/new",
        back=console.back(campaign) if campaign else console.list_url,
    )


def coupon_options(request: Request, session: Session, *, program_id: int, typed: str) -> HTMLResponse:
    """The coupon field's suggestions (``<option>``s its datalist swaps in as the user types): up to
    ``MATCHES`` coupons of the program's organization (of a merchant's caller, its own only) whose
    name holds what was typed or whose id it is; a program the caller cannot see is a 404."""
    program = require_program(session, min(program_id, MAX_ID))
    coupons = offers.find_coupons(session, program.organization_id, typed, limit=MATCHES)
    return render(request, "console/campaigns/_coupon_options.html", coupons=coupons)


def _id(typed: str | None) -> int | None:
    return whole_number(typed or "")


def _body(
    values: dict[str, str], shown: dict[str, str] | None, zone: str
) -> tuple[dict[str, Any], list[FieldError]]:
    """The API body of what was typed. When editing (``shown``: the stored values), a time is sent
    only when it was changed, so that a started campaign's start (shown to the minute) is never moved
    by saving the form."""
    errors: list[FieldError] = []
    coupon = (values.get("coupon_id") or "").strip().lstrip("#")
    body: dict[str, Any] = {
        "name": (values.get("name") or "").strip(),
        "skus": sku_list(values.get("skus")) or [],
        "copy": (values.get("copy_text") or "").strip() or None,
        "coupon_id": _id(coupon),
    }
    if coupon and body["coupon_id"] is None:
        errors.append(FieldError("coupon_id", "validation_error", _INVALID["coupon_id"]))
    try:
        body["commission_boost_bp"] = percent_to_bp((values.get("boost_percent") or "").strip() or "0")
    except AmountError as exc:
        errors.append(FieldError("boost_percent", exc.code, exc.message))
    for name in ("starts_at", "ends_at"):
        typed = (values.get(name) or "").strip()
        if shown is not None and typed == shown[name]:
            continue
        try:
            body[name] = local_to_utc(typed, zone)
        except AmountError as exc:
            errors.append(FieldError(name, exc.code, exc.message))
    return body, errors


def _invalid(exc: ValidationError) -> list[FieldError]:
    wrong = dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"])
    return [
        FieldError(f, "validation_error", _INVALID.get(f, Message("Check this field.")))
        for f in (SCHEMA_FIELDS.get(w, w) for w in wrong)
    ]


def _placed(session: Session, exc: ProblemError) -> list[FieldError]:
    """The refusal's messages beside the fields they concern, after rolling back what was written
    (``terms_locked`` beside the first fixed field the edit changed)."""
    fields = exc.extra.get("fields") if exc.code == "terms_locked" else None
    first = SCHEMA_FIELDS.get(fields[0], fields[0]) if isinstance(fields, list) and fields else None
    return [
        FieldError(first or FIELD_OF.get(e.code, e.field), e.code, e.message) for e in refusal(session, exc)
    ]


def new_form(
    request: Request,
    session: Session,
    principal: Principal,
    console: CampaignConsole,
    *,
    program_id: int | None = None,
) -> HTMLResponse:
    """The empty create form (no boost), on ``program_id`` when one is given."""
    values = {"boost_percent": "0", "program_id": str(program_id or "")}
    return _form(request, session, principal, console, campaign=None, values=values)


def _program(session: Session, typed: str) -> Program | FieldError:
    """The program picked, or the error beside its field: a program that does not exist or that the
    caller's scope does not reach is the API's 404 ``program_not_found``, anything else not an id."""
    program_id = _id(typed)
    if program_id is None:
        return FieldError("program_id", "validation_error", _INVALID["program_id"])
    try:
        return require_program(session, program_id)
    except NotFound as exc:
        return FieldError("program_id", exc.code, exc.detail)


def create(
    request: Request,
    session: Session,
    principal: Principal,
    console: CampaignConsole,
    *,
    values: dict[str, str],
) -> Response:
    """Publish the campaign typed into the form, or show the form again with every error in place:
    422 as the API answers a malformed body, or, when the program is all that is wrong, 404
    ``program_not_found`` as the API answers an unknown program."""

    def again(errors: list[FieldError], status_code: int = 422) -> HTMLResponse:
        return _form(
            request,
            session,
            principal,
            console,
            campaign=None,
            values=values,
            errors=errors,
            status_code=status_code,
        )

    picked = _program(session, values.get("program_id") or "")
    program = picked if isinstance(picked, Program) else None
    body, errors = _body(values, None, program.timezone if program else default_timezone(request))
    if isinstance(picked, FieldError):
        errors.append(picked)
    brand = (values.get("brand_id") or "").strip()
    if brand and _id(brand) is None:
        errors.append(FieldError("brand_id", "validation_error", _INVALID["brand_id"]))
    data: CampaignCreate | None = None
    try:
        data = CampaignCreate.model_validate(
            {**body, "program_id": program.id if program else 0, "brand_id": _id(brand)}
        )
    except ValidationError as exc:
        errors += [e for e in _invalid(exc) if e.field not in {f.field for f in errors}]
    if errors or data is None:
        missing = all(e.code == "program_not_found" for e in errors)
        return again(errors, 404 if errors and missing else 422)
    try:
        with session.begin_nested():
            made = service.create_campaign(session, data=data, actor=principal.actor, at=utcnow())
    except ProblemError as exc:
        return again(_placed(session, exc), exc.status)
    return RedirectResponse(console.back(made), status_code=303)


def edit_form(
    request: Request, session: Session, principal: Principal, console: CampaignConsole, campaign_id: int
) -> HTMLResponse:
    """The campaign form, filled in (an ended campaign is shown without a save button); a campaign
    the caller's scope does not reach is a 404."""
    campaign = service.require_campaign(session, min(campaign_id, MAX_ID))
    zone = require_program(session, campaign.program_id).timezone
    values = _values(session, campaign, zone)
    return _form(request, session, principal, console, campaign=campaign, values=values)


def save(
    request: Request,
    session: Session,
    principal: Principal,
    console: CampaignConsole,
    *,
    campaign_id: int,
    values: dict[str, str],
) -> Response:
    """Save the campaign (audited), or show the form again with each error beside its field and
    nothing written (409 ``campaign_ended`` / ``campaign_started`` as the API answers)."""
    campaign = service.require_campaign(session, min(campaign_id, MAX_ID), lock=True)
    zone = require_program(session, campaign.program_id).timezone
    body, errors = _body(values, _values(session, campaign, zone), zone)
    data: CampaignUpdate | None = None
    try:
        data = CampaignUpdate.model_validate(body)
    except ValidationError as exc:
        errors += _invalid(exc)
    if errors or data is None:
        return _form(
            request,
            session,
            principal,
            console,
            campaign=campaign,
            values=values,
            errors=errors,
            status_code=422,
        )
    try:
        with session.begin_nested():
            service.update_campaign(session, campaign=campaign, data=data, actor=principal.actor, at=utcnow())
    except ProblemError as exc:
        refused = _placed(session, exc)
        campaign = service.require_campaign(session, campaign_id)
        return _form(
            request,
            session,
            principal,
            console,
            campaign=campaign,
            values=values,
            errors=refused,
            status_code=exc.status,
        )
    return RedirectResponse(console.back(campaign), status_code=303)

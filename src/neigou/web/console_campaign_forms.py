"""Console forms that publish a campaign and edit one that has not ended: its program and brand (on
creation only), name, products, coupon, boost (typed in percent), window (typed in the program's time
zone) and selling copy; the coupon field asks ``/console/campaigns/coupon-options`` for the coupons
that match what is typed. A started campaign keeps its start; refusals are all shown at once beside their
fields with what was typed kept (``web.campaign_pages``, shared with the merchant portal)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.deps import SessionDep
from neigou.web import campaign_pages
from neigou.web.campaign_pages import CampaignConsole
from neigou.web.form_pages import FormDep, fields

router = APIRouter(include_in_schema=False)
CONSOLE = CampaignConsole(prefix="/console")


@router.get("/console/campaigns/new", response_class=HTMLResponse)
def new_campaign(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """An empty campaign form, on the program the list was showing (``program``) if any."""
    return campaign_pages.new_form(request, session, principal, CONSOLE, program_id=program)


@router.get("/console/campaigns/coupon-options", response_class=HTMLResponse)
def coupon_options(
    request: Request,
    session: SessionDep,
    _principal: ConsoleOperator,
    program_id: Annotated[int, Query(ge=1, le=2**62)],
    coupon_id: Annotated[str, Query(max_length=120)] = "",
) -> HTMLResponse:
    """The coupon field's suggestions: the program's coupons matching what was typed."""
    return campaign_pages.coupon_options(request, session, program_id=program_id, typed=coupon_id)


@router.post("/console/campaigns/new", response_model=None)
def create_campaign(
    request: Request, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Publish the campaign (audited) and go to its program's campaigns, or show the form again with
    every error."""
    return campaign_pages.create(request, session, principal, CONSOLE, values=fields(form))


@router.get("/console/campaigns/{campaign_id}/edit", response_class=HTMLResponse)
def edit_campaign(
    request: Request, campaign_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The campaign form, filled in (an ended campaign is shown without a save button)."""
    return campaign_pages.edit_form(request, session, principal, CONSOLE, campaign_id)


@router.post("/console/campaigns/{campaign_id}/edit", response_model=None)
def update_campaign(
    request: Request, campaign_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save the campaign (audited), or show the form again with each error beside its field."""
    return campaign_pages.save(
        request, session, principal, CONSOLE, campaign_id=campaign_id, values=fields(form)
    )

"""The merchant portal's campaigns (选品库): the merchant's own campaigns, searchable, by window and
paged, and the create and edit forms the operators' console uses (``web.campaign_pages``). A merchant
may do here what the campaigns API lets it do and no more: publish and edit campaigns of its own skus
(with its own coupons) in its organization's programs; the session's scope hides every other
merchant's campaign (404), and merchants' campaigns go live without review, as through the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from neigou.auth.dependencies import ConsoleMerchant, console_merchant
from neigou.campaigns import repository as campaigns_repo
from neigou.campaigns import service
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.programs import repository as programs
from neigou.web import campaign_pages
from neigou.web.campaign_form_routes import add_form_routes
from neigou.web.campaign_pages import CampaignConsole
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
NAV = "console/merchant/_nav.html"
PORTAL = CampaignConsole(prefix="/console/merchant", nav=NAV)


@router.get("/console/merchant/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleMerchant,
    query: ListQueryDep,
    state: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """The merchant's campaigns, newest start first: searchable by name, sortable, by window, paged."""
    now = utcnow()
    window = state if state in campaigns_repo.STATES else None
    listing = fetch(
        session,
        request,
        campaigns_repo.campaigns_statement(program_id=None, state=window, at=now),
        query,
        sorts=campaigns_repo.SORTS,
        default_sort="-starts",
        search=campaigns_repo.SEARCH,
    )
    in_programs = programs.list_programs(session)
    return render(
        request,
        "console/merchant/campaigns.html",
        principal=principal,
        nav=NAV,
        campaigns=listing,
        rows=service.campaigns_out(session, list(listing.rows)),
        zones={p.id: p.timezone for p in in_programs},
        names={p.id: p.name for p in in_programs},
        filters={"state": window or ""},
        now=now,
    )


@router.get("/console/merchant/campaigns/new", response_class=HTMLResponse)
def new_campaign(request: Request, session: SessionDep, principal: ConsoleMerchant) -> HTMLResponse:
    """An empty campaign form: a program of the organization, the merchant's skus and coupons."""
    return campaign_pages.new_form(request, session, principal, PORTAL)


# The coupon suggestions, publishing and editing, as in the operators' console (the session's scope
# keeps them to the merchant's own campaigns, skus and coupons: another merchant's campaign is a 404).
add_form_routes(router, PORTAL, console_merchant)

"""Console forms that publish a campaign and edit one that has not ended: its program and brand (on
creation only), name, products, coupon, boost (typed in percent), window (typed in the program's time
zone) and selling copy; the coupon field asks ``/console/campaigns/coupon-options`` for the coupons
that match what is typed. A started campaign keeps its start; refusals are all shown at once beside their
fields with what was typed kept (``web.campaign_pages`` and ``web.campaign_form_routes``, shared with the
merchant portal)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from neigou.auth.dependencies import ConsoleOperator, console_operator
from neigou.kit.deps import SessionDep
from neigou.web import campaign_pages
from neigou.web.campaign_form_routes import add_form_routes
from neigou.web.campaign_pages import CampaignConsole

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


# The coupon suggestions, publishing and editing, as in the merchant portal.
add_form_routes(router, CONSOLE, console_operator)

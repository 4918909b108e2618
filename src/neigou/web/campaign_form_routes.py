"""The campaign form routes the organization's console (``/console``) and the merchant portal
(``/console/merchant``) share, below each one's ``{prefix}/campaigns``: the coupon field's suggestions,
publishing a campaign, and editing one. Each reads the posted form and answers through
``web.campaign_pages``; the consoles differ only in their addresses, menu and who may sign in.

This module leaves annotations unpostponed: a route's caller (``Caller``) is a dependency chosen per
console when the routes are added, and FastAPI reads it from the route's signature."""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.web import campaign_pages
from neigou.web.campaign_pages import CampaignConsole
from neigou.web.form_pages import FormDep, fields


def add_form_routes(router: APIRouter, console: CampaignConsole, caller: Callable[..., Principal]) -> None:
    """Add to ``router`` the shared form routes of ``console``, open to the principals ``caller``
    (the console's authenticator) lets in."""
    Caller = Annotated[Principal, Depends(caller)]  # noqa: N806 (a type, named as one)

    @router.get(f"{console.list_url}/coupon-options", response_class=HTMLResponse)
    def coupon_options(
        request: Request,
        session: SessionDep,
        _principal: Caller,
        program_id: Annotated[int, Query(ge=1, le=2**62)],
        coupon_id: Annotated[str, Query(max_length=120)] = "",
    ) -> HTMLResponse:
        """The coupon field's suggestions: the program's coupons (a merchant's own only) matching
        what was typed."""
        return campaign_pages.coupon_options(request, session, program_id=program_id, typed=coupon_id)

    @router.post(f"{console.list_url}/new", response_model=None)
    def create_campaign(request: Request, session: SessionDep, principal: Caller, form: FormDep) -> Response:
        """Publish the campaign (audited) and go back to the campaigns, or show the form again with
        every error."""
        return campaign_pages.create(request, session, principal, console, values=fields(form))

    @router.get(f"{console.list_url}/{{campaign_id}}/edit", response_class=HTMLResponse)
    def edit_campaign(
        request: Request, campaign_id: int, session: SessionDep, principal: Caller
    ) -> HTMLResponse:
        """The campaign form, filled in (an ended campaign is shown without a save button; one the
        caller's scope does not reach is a 404)."""
        return campaign_pages.edit_form(request, session, principal, console, campaign_id)

    @router.post(f"{console.list_url}/{{campaign_id}}/edit", response_model=None)
    def save_campaign(
        request: Request, campaign_id: int, session: SessionDep, principal: Caller, form: FormDep
    ) -> Response:
        """Save the campaign (audited), or show the form again with each error beside its field."""
        return campaign_pages.save(
            request, session, principal, console, campaign_id=campaign_id, values=fields(form)
        )

"""The coupon and promotion form routes the organization's console (``/console``) and the merchant
portal (``/console/merchant``) share, below each one's ``{prefix}/coupons`` and ``{prefix}/promotions``:
the create form and creating, the edit form and saving. Each reads the posted form and answers through
``web.offer_pages``; the consoles differ only in their addresses, menu, the create forms' defaults and
who may sign in (the merchant's session scope keeps the portal to its own shop and skus).

This module leaves annotations unpostponed: a route's caller (``Caller``) is a dependency chosen per
console when the routes are added, and FastAPI reads it from the route's signature; so is the offer's
id, whose path parameter is named after the kind (``{coupon_id}``, ``{promotion_id}``)."""

from collections.abc import Callable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response

from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.web import offer_pages
from neigou.web.form_pages import FormDep, fields
from neigou.web.offer_pages import Kind, OfferConsole

KINDS: tuple[Kind, ...] = ("coupon", "promotion")


def add_offer_form_routes(
    router: APIRouter,
    console: OfferConsole,
    caller: Callable[..., Principal],
    *,
    defaults: Mapping[Kind, Mapping[str, str]],
) -> None:
    """Add to ``router`` the coupon and promotion form routes of ``console``, open to the principals
    ``caller`` (the console's authenticator) lets in; an empty create form shows ``defaults[kind]``."""
    for kind in KINDS:
        _add_kind_routes(router, console, caller, kind=kind, defaults=dict(defaults[kind]))


def _add_kind_routes(
    router: APIRouter,
    console: OfferConsole,
    caller: Callable[..., Principal],
    *,
    kind: Kind,
    defaults: dict[str, str],
) -> None:
    Caller = Annotated[Principal, Depends(caller)]  # noqa: N806 (a type, named as one)
    OfferId = Annotated[int, Path(alias=f"{kind}_id")]  # noqa: N806 (a type, named as one)
    list_url = console.list_url(kind)

    @router.get(f"{list_url}/new", response_class=HTMLResponse, name=f"new_{kind}")
    def new_form(request: Request, principal: Caller) -> HTMLResponse:
        """An empty create form with the console's defaults."""
        return offer_pages.new_form(request, principal, console, kind=kind, values=dict(defaults))

    @router.post(f"{list_url}/new", response_model=None, name=f"create_{kind}")
    def create(request: Request, session: SessionDep, principal: Caller, form: FormDep) -> Response:
        """Create the coupon or promotion (on the caller's skus), or show the form again with every
        error."""
        return offer_pages.create(request, session, principal, console, kind=kind, values=fields(form))

    @router.get(f"{list_url}/{{{kind}_id}}/edit", response_class=HTMLResponse, name=f"edit_{kind}")
    def edit_form(
        request: Request, offer_id: OfferId, session: SessionDep, principal: Caller
    ) -> HTMLResponse:
        """The edit form: name, end, stock, running state; the terms until first claimed or opened
        (a merchant's new terms may wait for the operator's review; an offer the caller's scope does
        not reach is a 404)."""
        return offer_pages.edit_form(request, session, principal, console, kind=kind, offer_id=offer_id)

    @router.post(f"{list_url}/{{{kind}_id}}/edit", response_model=None, name=f"save_{kind}")
    def save(
        request: Request, offer_id: OfferId, session: SessionDep, principal: Caller, form: FormDep
    ) -> Response:
        """Save the changes, or show the form again with every error in place."""
        return offer_pages.save(
            request, session, principal, console, kind=kind, offer_id=offer_id, values=fields(form)
        )

"""Console screens of a program's settings: withdrawal terms (in yuan and percent) and the shops'
integrations, each created with its two secrets shown once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.integrations import service as integrations
from neigou.integrations.schemas import IntegrationBody
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.i18n import Message
from neigou.kit.money import parse_percent, parse_yuan, yuan_text
from neigou.kit.paging import Page
from neigou.kit.sealed import Sealer
from neigou.ledger import payouts
from neigou.ledger import repository as ledger
from neigou.ledger.payout_rules import PayoutRules
from neigou.offers.amounts import bp_to_percent_text
from neigou.offers.forms import FieldError
from neigou.programs.service import require_program
from neigou.web import once
from neigou.web.form_pages import FormRefused, attempt
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}  # a page that shows secrets is never cached
MAX_FEN = 100_000_000  # ¥1,000,000: past any withdrawal term a program sets
INTEGRATIONS_SHOWN = 100


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    program_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    program = require_program(session, program_id)
    rules = payouts.rules_of(ledger.payout_settings(session, program_id))
    values = {
        "min_withdrawal": yuan_text(rules.min_withdrawal_fen),
        "fee_fixed": yuan_text(rules.fee_fixed_fen),
        "fee_percent": bp_to_percent_text(rules.fee_bp),
    }
    shops = integrations.page_of_program(session, program_id, Page(limit=INTEGRATIONS_SHOWN, offset=0))
    response = render(
        request,
        "console/settings/index.html",
        status_code=status_code,
        principal=principal,
        program=program,
        rules=rules,
        integrations=shops.items,
        integrations_total=shops.total,
        **({"payout_values": values, "payout_errors": [], "shop_values": {}, "shop_errors": []} | extra),
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/console/programs/{program_id}/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    done: str | None = None,
    shown: Annotated[str | None, Query(max_length=once.SLOT_MAX)] = None,
) -> HTMLResponse:
    """A program's withdrawal terms and integrations; after an integration is created (``shown``), its
    secrets this once, or that they are no longer visible."""
    if shown is None:
        return _page(request, session, principal, program_id, done=done)
    path = _settings_path(program_id)
    created = once.take(request, path, shown)
    extra = {"created": created} if created else {"secrets_gone": True}
    response = _page(request, session, principal, program_id, done=done, **extra)
    once.forget(request, response, path)
    return response


def _settings_path(program_id: int) -> str:
    return f"/console/programs/{program_id}/settings"


@router.post("/console/programs/{program_id}/payout-settings", response_model=None)
def save_payout_settings(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    min_withdrawal: Annotated[str, Form(max_length=20)],
    fee_fixed: Annotated[str, Form(max_length=20)] = "0",
    fee_percent: Annotated[str, Form(max_length=20)] = "0",
) -> Response:
    """Save the withdrawal terms typed in yuan and percent; a wrong field is shown in place, nothing saved."""
    require_program(session, program_id)
    values = {"min_withdrawal": min_withdrawal, "fee_fixed": fee_fixed, "fee_percent": fee_percent}
    minimum, fixed = parse_yuan(min_withdrawal), parse_yuan(fee_fixed or "0")
    rate = parse_percent(fee_percent or "0")
    errors = [
        *([_yuan_error("min_withdrawal")] if minimum is None or minimum > MAX_FEN else []),
        *([_yuan_error("fee_fixed")] if fixed is None or fixed > MAX_FEN else []),
        *([_PERCENT] if rate is None else []),
    ]
    if errors or minimum is None or fixed is None or rate is None:
        return _page(
            request,
            session,
            principal,
            program_id,
            status_code=422,
            payout_values=values,
            payout_errors=errors,
        )
    rules = PayoutRules(min_withdrawal_fen=minimum, fee_fixed_fen=fixed, fee_bp=rate)
    done = attempt(
        session,
        lambda: payouts.set_payout_rules(
            session, program_id=program_id, rules=rules, actor=principal.actor, at=utcnow()
        ),
    )
    if isinstance(done, FormRefused):
        return _page(
            request,
            session,
            principal,
            program_id,
            status_code=done.status,
            payout_values=values,
            payout_errors=done.errors,
        )
    return RedirectResponse(f"{_settings_path(program_id)}?done=payout_saved", status_code=303)


def _yuan_error(field: str) -> FieldError:
    return FieldError(
        field, "invalid_amount", Message("An amount in yuan, at most two decimals, e.g. 10 or 9.90.")
    )


_PERCENT = FieldError("fee_percent", "percent_out_of_range", Message("A percentage from 0 to 100, e.g. 0.6."))
_SHOP = {
    "name": Message("Give the shop a name (up to 120 characters)."),
    "outbound_url": Message("A web address starting with https:// or http://."),
}


@router.post("/console/programs/{program_id}/integrations", response_class=HTMLResponse, response_model=None)
def create_integration(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    name: Annotated[str, Form(max_length=200)],
    outbound_url: Annotated[str, Form(max_length=600)] = "",
) -> HTMLResponse | RedirectResponse:
    """Register a shop and redirect to the settings page, which shows its inbound and outbound
    secrets this once: reloading it registers nothing."""
    require_program(session, program_id)
    values = {"name": name, "outbound_url": outbound_url}
    try:
        body = IntegrationBody(name=name, outbound_url=outbound_url.strip() or None)
    except ValidationError as exc:
        wrong = dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        errors = [FieldError(f, "invalid_value", _SHOP.get(f, Message("Check this field."))) for f in wrong]
        return _page(
            request, session, principal, program_id, status_code=422, shop_values=values, shop_errors=errors
        )
    shop = attempt(
        session,
        lambda: integrations.create(
            session,
            program_id=program_id,
            data=body,
            sealer=Sealer.from_settings(request.app.state.settings),
            allow_private=request.app.state.settings.outbound_allow_private,
            actor=principal.actor,
            at=utcnow(),
        ),
        placed={"unsendable_url": "outbound_url", "address_not_allowed": "outbound_url"},
    )
    if isinstance(shop, FormRefused):
        return _page(
            request,
            session,
            principal,
            program_id,
            status_code=shop.status,
            shop_values=values,
            shop_errors=shop.errors,
        )
    return once.redirect_showing(
        request,
        _settings_path(program_id),
        {
            "id": shop.row.id,
            "name": shop.row.name,
            "inbound_secret": shop.inbound_secret,
            "outbound_secret": shop.outbound_secret,
        },
    )

"""Console screens of members: add one to a program, a member's card with their invite link, and the
corrections an operator makes (tier, inviter)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.network.endpoints import recruiting_link
from neigou.offers.amounts import AmountError, local_to_utc
from neigou.offers.forms import FieldError
from neigou.programs import inviters, service
from neigou.programs import repository as programs
from neigou.programs.schemas import MemberCreate
from neigou.programs.service import require_member, require_program
from neigou.tiers.manual import override_tier
from neigou.web.form_pages import FormRefused, attempt
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


def _member_id(text: str) -> int | None:
    """A member id typed into a form ("" is none; anything else that is not a number is refused later)."""
    text = text.strip().lstrip("#")
    return whole_number(text)


_NAME = FieldError("name", "invalid_name", Message("Give the member a name (up to 120 characters)."))
_INVITER = FieldError("inviter_id", "invalid_integer", Message("A member ID is a number, e.g. 12."))
PLACED = {  # refusals shown beside the field they are about
    "inviter_not_in_program": "inviter_id",
    "member_not_found": "inviter_id",
    "self_invite": "inviter_id",
    "invite_loop": "inviter_id",
    "inviter_change_in_future": "effective_from",
    "inviter_change_too_early": "effective_from",
    "inviter_change_before_priced_orders": "effective_from",
    "unknown_tier": "tier",
    "tier_unchanged": "tier",
}


def _new_form(
    request: Request,
    session: Session,
    principal: Principal,
    program_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "console/members/new.html",
        status_code=status_code,
        principal=principal,
        program=require_program(session, program_id),
        tiers=programs.list_tiers(session, program_id),
        values=values or {},
        errors=errors or [],
    )


@router.get("/console/programs/{program_id}/members/new", response_class=HTMLResponse)
def new_member(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The form to add a member."""
    return _new_form(request, session, principal, program_id)


@router.post("/console/programs/{program_id}/members", response_model=None)
def create_member(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    name: Annotated[str, Form(max_length=200)],
    tier: Annotated[str, Form(max_length=40)] = "",
    inviter_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Add a member (starting tier, inviter); a refused one says why in place and writes nothing."""
    values = {"name": name, "tier": tier, "inviter_id": inviter_id}
    require_program(session, program_id)
    inviter = _member_id(inviter_id)
    errors = [_INVITER] if inviter_id.strip() and inviter is None else []
    try:
        data = MemberCreate(name=name.strip(), tier=tier or None, inviter_id=inviter)
    except ValidationError:
        errors.insert(0, _NAME)
    if errors:
        return _new_form(
            request, session, principal, program_id, values=values, errors=errors, status_code=422
        )
    member = attempt(
        session,
        lambda: service.create_member(
            session,
            program_id=program_id,
            data=data,
            secret_key=request.app.state.settings.secret_key,
            actor=principal.actor,
        ),
        placed=PLACED,
    )
    if isinstance(member, FormRefused):
        return _new_form(
            request,
            session,
            principal,
            program_id,
            values=values,
            errors=member.errors,
            status_code=member.status,
        )
    return RedirectResponse(f"/console/members/{member.id}?done=created", status_code=303)


def _card(
    request: Request,
    session: Session,
    principal: Principal,
    member_id: int,
    *,
    done: str | None = None,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    member = require_member(session, member_id)
    names = programs.member_names(session, [member.inviter_id])
    return render(
        request,
        "console/members/detail.html",
        status_code=status_code,
        principal=principal,
        member=member,
        program=require_program(session, member.program_id),
        tiers=programs.list_tiers(session, member.program_id),
        inviter_name=names.get(member.inviter_id or 0),
        recruits=programs.direct_recruit_counts(session, [member.id]).get(member.id, 0),
        invite=recruiting_link(request, member),
        done=done,
        values=values or {},
        errors=errors or [],
    )


@router.get("/console/members/{member_id}", response_class=HTMLResponse)
def member_card(
    request: Request, member_id: int, session: SessionDep, principal: ConsoleOperator, done: str | None = None
) -> HTMLResponse:
    """A member: tier, inviter, recruits, their invite link, and the corrections an operator may make."""
    return _card(request, session, principal, member_id, done=done)


@router.post("/console/members/{member_id}/tier", response_model=None)
def change_tier(
    request: Request,
    *,
    member_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    tier: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Put the member on another tier from now on (kept in their tier history with the reason)."""
    done = attempt(
        session,
        lambda: override_tier(
            session,
            member_id=member_id,
            tier_code=tier,
            note=reason.strip(),
            actor=principal.actor,
            at=utcnow(),
        ),
        placed=PLACED,
    )
    if isinstance(done, FormRefused):
        values = {"tier": tier, "reason": reason}
        return _card(
            request, session, principal, member_id, values=values, errors=done.errors, status_code=done.status
        )
    return RedirectResponse(f"/console/members/{member_id}?done=tier", status_code=303)


@router.post("/console/members/{member_id}/inviter", response_model=None)
def change_inviter(
    request: Request,
    *,
    member_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    inviter_id: Annotated[str, Form(max_length=20)] = "",
    effective_from: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Put the member under another inviter (or none) from the time typed in the program's time zone
    (empty: now): an operator's correction, audited."""
    values = {"inviter_id": inviter_id, "effective_from": effective_from}
    inviter = _member_id(inviter_id)
    errors = [_INVITER] if inviter_id.strip() and inviter is None else []
    at = None
    if effective_from.strip():
        zone = require_program(session, require_member(session, member_id).program_id).timezone
        try:
            at = local_to_utc(effective_from, zone)
        except AmountError as exc:
            errors.append(FieldError("effective_from", exc.code, exc.message))
    if errors:
        return _card(request, session, principal, member_id, values=values, errors=errors, status_code=422)
    done = attempt(
        session,
        lambda: inviters.change_inviter(
            session, member_id=member_id, inviter_id=inviter, actor=principal.actor, at=at
        ),
        placed=PLACED,
    )
    if isinstance(done, FormRefused):
        return _card(
            request, session, principal, member_id, values=values, errors=done.errors, status_code=done.status
        )
    return RedirectResponse(f"/console/members/{member_id}?done=inviter", status_code=303)

"""Console form that edits a chat group: its name, its id on the platform, whether it is archived
(archived groups keep their history but leave compliance and alerts) and its owner (handed over to
another member of the program: typing part of a name or an id asks the server for the members that
match, ``/console/groups/{id}/owner-options``, so any member of a large program can be picked)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.groups import service
from neigou.groups.models import Group, GroupStatus
from neigou.groups.schemas import GroupUpdate
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.field_errors import OWN_FIELD_ERRORS
from neigou.kit.i18n import Message
from neigou.offers.forms import FieldError
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.web.form_pages import FormDep, fields, refusal
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1
PICKER_SIZE = 50  # members offered in the owner picker before anything is typed
MATCHES = 20  # members suggested for what is typed in the owner field
OWNER_CODES = {"member_not_found", "owner_not_in_program", "owner_not_joined", "group_name_taken"}


def _form(
    request: Request,
    session: Session,
    principal: Principal,
    group: Group,
    *,
    values: dict[str, str],
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "console/groups/edit.html",
        status_code=status_code,
        principal=principal,
        group=group,
        program=require_program(session, group.program_id),
        owner_name=programs.member_names(session, [group.owner_member_id]).get(group.owner_member_id, ""),
        members=programs.list_members(session, group.program_id, limit=PICKER_SIZE, offset=0),
        statuses=[s.value for s in GroupStatus],
        values=values,
        errors=errors or [],
    )


@router.get("/console/groups/{group_id}/edit", response_class=HTMLResponse)
def edit_group(
    request: Request, group_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The group form, filled in."""
    group = service.require_group(session, min(group_id, MAX_ID))
    values = {
        "name": group.name,
        "external_id": group.external_id or "",
        "status": group.status.value,
        "owner_member_id": str(group.owner_member_id),
    }
    return _form(request, session, principal, group, values=values)


@router.get("/console/groups/{group_id}/owner-options", response_class=HTMLResponse)
def owner_options(
    request: Request,
    group_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    owner_member_id: Annotated[str, Query(max_length=120)] = "",
) -> HTMLResponse:
    """The owner field's suggestions (``<option>``s its datalist swaps in as the operator types): up
    to ``MATCHES`` members of the group's program whose name holds what was typed or whose id it is."""
    group = service.require_group(session, min(group_id, MAX_ID))
    members = programs.find_members(session, group.program_id, owner_member_id, limit=MATCHES)
    return render(request, "console/groups/_owner_options.html", members=members)


_INVALID = {
    "name": Message("Give the group a name (up to 120 characters)."),
    "external_id": Message("The platform's group id is up to 120 characters."),
    "status": Message("Choose active or archived."),
    "owner_member_id": Message("Pick a member of the program, or type a member id."),
}


@router.post("/console/groups/{group_id}/edit", response_model=None)
def update_group(
    request: Request, group_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save the group (audited), or show the form again with each error beside its field."""
    group = service.require_group(session, min(group_id, MAX_ID))
    values = fields(form)
    owner = (values.get("owner_member_id") or "").strip().lstrip("#")
    sent = {
        "name": (values.get("name") or "").strip(),
        "status": values.get("status") or None,
        "owner_member_id": owner or None,
    }
    written = values.get("external_id") or ""
    stored = group.external_id or ""
    if written != stored and written.strip() != stored.strip():  # the stored id sent back stays unchecked
        sent["external_id"] = written.strip() or None
    try:
        data = GroupUpdate.model_validate(sent).checked(group.external_id)
    except ValidationError as exc:
        # Each field once, with the product's own message where its rule has one (a blank external id).
        wrong = {str(e["loc"][0]): str(e["type"]) for e in reversed(exc.errors()) if e["loc"]}
        errors = [
            FieldError(f, kind, OWN_FIELD_ERRORS[kind])
            if kind in OWN_FIELD_ERRORS
            else FieldError(f, "validation_error", _INVALID.get(f, Message("Check this field.")))
            for f, kind in wrong.items()
        ]
        return _form(request, session, principal, group, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            service.update_group(session, group=group, data=data, actor=principal.actor)
    except ProblemError as exc:
        errors = [
            FieldError("owner_member_id" if e.code in OWNER_CODES else e.field, e.code, e.message)
            for e in refusal(session, exc)
        ]
        return _form(request, session, principal, group, values=values, errors=errors, status_code=exc.status)
    back = f"/console/programs/{group.program_id}/groups?view=groups&group={group.id}"
    return RedirectResponse(back, status_code=303)

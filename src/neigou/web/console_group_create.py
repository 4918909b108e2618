"""Console form that registers a chat group for one of a program's members (the owner).

The form is one panel of the groups page, so a refusal goes back to that page (its code and what was
typed in the query) rather than rendering the whole page from here."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.groups import service
from neigou.groups.models import GroupPlatform
from neigou.groups.schemas import GroupCreate
from neigou.kit.deps import SessionDep
from neigou.kit.ids import whole_number
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.web.form_pages import FormRefused, attempt

router = APIRouter(include_in_schema=False)


@router.post("/console/programs/{program_id}/groups")
def create_group(
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    owner_member_id: Annotated[str, Form(max_length=20)],
    name: Annotated[str, Form(max_length=200)],
    platform: Annotated[GroupPlatform, Form()] = GroupPlatform.WECHAT,
) -> RedirectResponse:
    """Register a group for a member of this program; back on the groups list, found by its name, or with
    the reason it was refused (and what was typed) above the form."""
    require_program(session, program_id)
    back = f"/console/programs/{program_id}/groups?"
    typed = {"view": "groups", "owner": owner_member_id, "name": name, "platform": platform.value}
    digits = owner_member_id.strip().lstrip("#")
    owner_id = whole_number(digits)
    owner = programs.get_member(session, owner_id) if owner_id is not None else None
    if owner is None or owner.program_id != program_id:
        return RedirectResponse(back + urlencode(typed | {"error": "owner_not_in_program"}), status_code=303)
    try:
        data = GroupCreate(name=name.strip() or name, platform=platform)
    except ValidationError:  # the name breaks the schema (empty, too long)
        return RedirectResponse(back + urlencode(typed | {"error": "invalid_name"}), status_code=303)
    group = attempt(
        session,
        lambda: service.create_group(session, data=data, owner_member_id=owner.id, actor=principal.actor),
    )
    if isinstance(group, FormRefused):
        return RedirectResponse(back + urlencode(typed | {"error": group.errors[0].code}), status_code=303)
    found = {"view": "groups", "q": group.name, "created": group.id}
    return RedirectResponse(back + urlencode(found), status_code=303)

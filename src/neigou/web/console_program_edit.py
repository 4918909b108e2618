"""Console form that edits a program's profile and rules: name, time zone, attribution, freeze,
paid levels, self-purchase commission (the code never changes; the ladder has its own page)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.i18n import Message
from neigou.offers.forms import FieldError
from neigou.programs import service
from neigou.programs.models import AttributionModel, Program
from neigou.programs.schemas import ProgramUpdate
from neigou.web.console_home import TIMEZONES
from neigou.web.form_pages import FormDep, fields, place, refusal
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1
_INVALID = {
    "name": Message("Give the program a name (up to 120 characters)."),
    "attribution": Message("Pick an attribution model and a window of 1 to 365 days."),
    "freeze_days": Message("0 to 365 days."),
    "max_levels": Message("The seller plus at most two uplines are paid: the legal limit."),
}
# A depth the stored ladder does not fit is refused beside the paid levels.
_PLACED = {"shares_exceed_pool": "max_levels", "override_without_levels": "max_levels"}


def _form(
    request: Request,
    program: Program,
    principal: Principal,
    *,
    values: dict[str, str],
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    zones = TIMEZONES if program.timezone in TIMEZONES else (program.timezone, *TIMEZONES)
    return render(
        request,
        "console/program_edit.html",
        status_code=status_code,
        principal=principal,
        program=program,
        values=values,
        errors=errors or [],
        timezones=zones,
        models=[m.value for m in AttributionModel],
    )


@router.get("/console/programs/{program_id}/edit", response_class=HTMLResponse)
def edit_program(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """The program form, filled in."""
    program = service.require_program(session, min(program_id, MAX_ID))
    values = {
        "name": program.name,
        "timezone": program.timezone,
        "attribution_model": program.attribution_model.value,
        "window_days": str(program.attribution_window_days),
        "freeze_days": str(program.freeze_days),
        "max_levels": str(program.max_levels),
        "self_purchase": "on" if program.self_purchase_commission else "",
    }
    return _form(request, program, principal, values=values)


def _whole(text: str | None) -> str | None:
    return (text or "").strip() or None


@router.post("/console/programs/{program_id}/edit", response_model=None)
def update_program(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save the program (audited), or show the form again with each error beside its field."""
    program = service.require_program(session, min(program_id, MAX_ID))
    values = fields(form)
    try:
        data = ProgramUpdate.model_validate(
            {
                "name": (values.get("name") or "").strip(),
                "timezone": values.get("timezone") or None,
                "attribution": {
                    "model": values.get("attribution_model") or AttributionModel.LAST_CLICK.value,
                    "window_days": _whole(values.get("window_days")),
                },
                "freeze_days": _whole(values.get("freeze_days")),
                "max_levels": _whole(values.get("max_levels")),
                "self_purchase_commission": values.get("self_purchase") == "on",
            }
        )
    except ValidationError as exc:
        wrong = dict.fromkeys(str(e["loc"][0]) for e in exc.errors() if e["loc"])
        errors = [
            FieldError(f, "validation_error", _INVALID.get(f, Message("Check this field."))) for f in wrong
        ]
        return _form(request, program, principal, values=values, errors=errors, status_code=422)
    try:
        with session.begin_nested():
            service.update_program(session, program=program, data=data, actor=principal.actor)
    except ProblemError as exc:
        errors = place(refusal(session, exc), _PLACED)
        program = service.require_program(session, program_id)
        return _form(request, program, principal, values=values, errors=errors, status_code=exc.status)
    return RedirectResponse(f"/console/programs/{program.id}", status_code=303)

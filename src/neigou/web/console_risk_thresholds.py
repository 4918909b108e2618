"""Console form of a program's risk thresholds: each by its name, money in yuan, rates in percent, a
factor as a multiple, counts and windows as they are; what is typed is converted to fen and basis
points and stored through the same service as ``PUT /api/v1/programs/{id}/risk/thresholds``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.kit.money import format_bp, format_yuan, yuan_text
from neigou.offers.amounts import (
    AmountError,
    bp_to_multiple_text,
    bp_to_percent_text,
    multiple_to_bp,
    percent_to_bp,
    yuan_to_fen,
)
from neigou.offers.forms import FieldError
from neigou.programs.models import Program
from neigou.programs.service import require_program
from neigou.risk import service
from neigou.risk.schemas import ThresholdsIn
from neigou.risk.thresholds import NAMES, UNITS, Thresholds, Unit, as_dict
from neigou.web.form_pages import FormDep, FormRefused, attempt, fields
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Row:
    """One threshold as a page shows it: its name (``label("rk_threshold", name)``), unit and value."""

    name: str
    unit: str
    value: int
    text: str  # as a person types it: yuan, percent, a multiple or a whole number


def form_text(unit: Unit, value: int) -> str:
    """A stored threshold as the form shows it."""
    if unit is Unit.FEN:
        return yuan_text(value)
    if unit is Unit.BP:
        return bp_to_percent_text(value)
    if unit is Unit.FACTOR_BP:
        return bp_to_multiple_text(value)
    return str(value)


def rows(thresholds: Thresholds) -> list[Row]:
    """Every threshold of a program, in the documented order."""
    values = as_dict(thresholds)
    return [Row(n, UNITS[n].value, values[n], form_text(UNITS[n], values[n])) for n in NAMES]


def _parse(unit: Unit, text: str) -> int:
    if unit is Unit.FEN:
        return yuan_to_fen(text)
    if unit is Unit.BP:
        return percent_to_bp(text)
    if unit is Unit.FACTOR_BP:
        return multiple_to_bp(text)
    number = whole_number(text, digits=12)
    if number is None:
        raise AmountError("invalid_integer", Message("Write a whole number."))
    return number


def _limit(unit: Unit, limit: int) -> str:
    if unit is Unit.FEN:
        return format_yuan(limit)
    if unit in (Unit.BP, Unit.FACTOR_BP):
        return format_bp(limit)
    return str(limit)


def read(typed: dict[str, str]) -> tuple[dict[str, int], list[FieldError]]:
    """The thresholds a form asks for, in fen and basis points, or every field's error (a field left
    empty keeps its value)."""
    values: dict[str, int] = {}
    errors: list[FieldError] = []
    for name in NAMES:
        text = (typed.get(name) or "").strip()
        if not text:
            continue
        try:
            values[name] = _parse(UNITS[name], text)
        except AmountError as exc:
            errors.append(FieldError(name, exc.code, exc.message))
    if errors:
        return values, errors
    try:
        ThresholdsIn.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            ctx = error.get("ctx") or {}
            if "ge" in ctx:
                message = Message("At least {limit}.", limit=_limit(UNITS[name], int(ctx["ge"])))
            else:
                message = Message("At most {limit}.", limit=_limit(UNITS[name], int(ctx.get("le", 0))))
            errors.append(FieldError(name, "out_of_range", message))
    return values, errors


def _form(
    request: Request,
    program: Program,
    thresholds: Thresholds,
    *,
    values: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    shown = rows(thresholds)
    return render(
        request,
        "console/risk/thresholds.html",
        status_code=status_code,
        program=program,
        rows=shown,
        values=values if values is not None else {r.name: r.text for r in shown},
        errors=errors or [],
        saved=saved,
    )


@router.get("/console/programs/{program_id}/risk/thresholds", response_class=HTMLResponse)
def thresholds_page(
    request: Request,
    program_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    saved: bool = False,
) -> HTMLResponse:
    """The program's thresholds, filled in."""
    program = require_program(session, min(program_id, MAX_ID))
    return _form(request, program, service.thresholds_of(session, program.id), saved=saved)


@router.post("/console/programs/{program_id}/risk/thresholds", response_model=None)
def save_thresholds(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> Response:
    """Save the thresholds typed in yuan, percent and counts (audited), or show the form again with
    each error beside its field and nothing saved."""
    program = require_program(session, min(program_id, MAX_ID))
    typed = fields(form)
    values, errors = read(typed)
    if errors:
        current = service.thresholds_of(session, program.id)
        return _form(request, program, current, values=typed, errors=errors, status_code=422)
    done = attempt(
        session,
        lambda: service.put_thresholds(
            session, program=program, values=values, actor=principal.actor, at=utcnow()
        ),
    )
    if isinstance(done, FormRefused):
        program = require_program(session, program_id)
        current = service.thresholds_of(session, program.id)
        return _form(request, program, current, values=typed, errors=done.errors, status_code=done.status)
    return RedirectResponse(f"/console/programs/{program.id}/risk/thresholds?saved=true", status_code=303)

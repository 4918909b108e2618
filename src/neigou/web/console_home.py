"""The console's home: one program's day and month, money by state, the queues waiting for an operator
(merchant changes, member counts, withdrawals to approve and to pay, risk cases), each linking to its
queue, a 30-day trend; every program as a card; and a new program with its tier ladder in one form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.money import parse_percent
from neigou.merchants import review
from neigou.organizations.models import ReviewStatus
from neigou.programs import repository as programs
from neigou.programs import service as program_service
from neigou.programs.models import AttributionModel
from neigou.programs.schemas import AttributionIn, ProgramCreate, TierIn
from neigou.reporting.dashboard import dashboard
from neigou.web.form_pages import FormDep
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
TIER_ROWS = 3
TIMEZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "UTC")


@router.get("/console", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    """Today and this month of the chosen program (the first by default), and every program."""
    rows = [(p, programs.count_members(session, p.id)) for p in programs.list_programs(session)]
    chosen = next((p for p, _ in rows if p.id == program), rows[0][0] if rows else None)
    board = dashboard(session, program=chosen, at=utcnow()) if chosen is not None else None
    return render(
        request,
        "console/home.html",
        principal=principal,
        rows=rows,
        chosen=chosen,
        board=board,
        reviews_pending=review.status_counts(session).get(ReviewStatus.PENDING.value, 0),
    )


@router.get("/console/programs/new", response_class=HTMLResponse)
def new_program(request: Request, principal: ConsoleOperator) -> HTMLResponse:
    """The new-program form: the program's rules and its tier ladder together."""
    return _form(request, principal, values={}, errors={})


def _form(
    request: Request,
    principal: ConsoleOperator,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "console/program_form.html",
        status_code=status,
        principal=principal,
        values=values,
        errors=errors,
        tier_rows=TIER_ROWS,
        timezones=TIMEZONES,
        models=[m.value for m in AttributionModel],
    )


def _tiers(form: dict[str, str], errors: dict[str, str]) -> list[TierIn]:
    tiers: list[TierIn] = []
    for n in range(TIER_ROWS):
        code, name = form.get(f"tier_code_{n}", "").strip(), form.get(f"tier_name_{n}", "").strip()
        share, override = form.get(f"tier_share_{n}", "").strip(), form.get(f"tier_override_{n}", "").strip()
        if not (code or name or share or override):
            continue
        share_bp, override_bp = parse_percent(share or "x"), parse_percent(override or "0")
        if share_bp is None or override_bp is None:
            errors[f"tier_{n}"] = "percent"
            continue
        try:
            tiers.append(
                TierIn(code=code, name=name or code, rank=n + 1, share_bp=share_bp, override_bp=override_bp)
            )
        except ValidationError:
            errors[f"tier_{n}"] = "tier_invalid"
    if not tiers and not any(key.startswith("tier_") for key in errors):
        errors["tiers"] = "no_tiers"
    return tiers


@router.post("/console/programs", response_model=None)
def create_program(
    request: Request, session: SessionDep, principal: ConsoleOperator, posted: FormDep
) -> Response:
    """Create the program and its ladder at once; any error shows the form again and writes nothing."""
    form = {k: v for k, v in posted.items() if isinstance(v, str)}
    errors: dict[str, str] = {}
    program_in: ProgramCreate | None = None
    try:
        program_in = ProgramCreate(
            code=form.get("code", "").strip(),
            name=form.get("name", "").strip(),
            timezone=form.get("timezone") or None,
            attribution=AttributionIn(
                model=AttributionModel(form.get("attribution_model", AttributionModel.LAST_CLICK.value)),
                window_days=int(form.get("window_days") or 30),
            ),
            freeze_days=int(form.get("freeze_days") or 7),
            max_levels=int(form.get("max_levels") or 2),
            self_purchase_commission=form.get("self_purchase") == "on",
        )
    except (ValidationError, ValueError) as exc:
        fields = [str(e["loc"][0]) for e in exc.errors()] if isinstance(exc, ValidationError) else ["program"]
        for field in fields or ["program"]:
            errors[field] = "invalid"
    tiers = _tiers(form, errors)
    if errors or program_in is None:
        return _form(request, principal, values=form, errors=errors, status=422)
    try:
        with session.begin_nested():
            made = program_service.create_program(
                session,
                data=program_in,
                default_timezone=request.app.state.settings.default_timezone,
                actor=principal.actor,
            )
            program_service.replace_tiers(session, program_id=made.id, tiers=tiers, actor=principal.actor)
    except ProblemError as exc:
        errors["problem"] = exc.code
        return _form(
            request, principal, values={**form, "problem_message": exc.detail}, errors=errors, status=422
        )
    return RedirectResponse(f"/console/programs/{made.id}?created=1", status_code=303)

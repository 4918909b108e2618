"""Console pages of tiers: the ladder editor (validated whole, errors beside the tier at fault), the
monthly evaluation (preview, run, results with reasons, past runs) and the operator's tier override."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.field_errors import field_message
from neigou.kit.i18n import Message, Sentences
from neigou.kit.ids import whole_number
from neigou.kit.money import parse_percent, parse_yuan, yuan_text
from neigou.offers.amounts import bp_to_percent_text
from neigou.programs import repository as programs
from neigou.programs import service as program_service
from neigou.programs.models import Tier
from neigou.programs.schemas import TierIn
from neigou.tiers import repository as repo
from neigou.tiers import service
from neigou.tiers.manual import override_tier
from neigou.tiers.periods import period_of
from neigou.web.form_pages import FormDep
from neigou.web.i18n import locale_of
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
CONDITIONS = 3
MONEY_METRICS = frozenset({"gmv_fen"})  # thresholds the form shows and takes in yuan
KEEP_CONDITIONS = 2
SHOWN_CHANGES = 500
SHOWN_LEFT_OUT = 20  # the members a run left out, named on the page (the API lists them all)
LADDER = TypeAdapter(list[TierIn])


def _blank_row() -> dict[str, Any]:
    return {
        "code": "",
        "name": "",
        "rank": "",
        "share_pct": "",
        "override_pct": "0",
        "conds": [{"metric": "", "gte": "", "tier": ""} for _ in range(CONDITIONS)],
        "keep_periods": "",
        "keeps": [{"metric": "", "gte": "", "tier": ""} for _ in range(KEEP_CONDITIONS)],
    }


def _row_of(tier: Tier) -> dict[str, Any]:
    row = _blank_row()
    row.update(
        code=tier.code,
        name=tier.name,
        rank=str(tier.rank),
        share_pct=bp_to_percent_text(tier.share_bp),
        override_pct=bp_to_percent_text(tier.override_bp),
    )
    upgrade = tier.upgrade or {}
    for slot, cond in zip(row["conds"], upgrade.get("all") or [], strict=False):
        slot.update(metric=cond["metric"], gte=_threshold_text(cond), tier=cond.get("tier") or "")
    keep = upgrade.get("keep") or {}
    if keep:
        row["keep_periods"] = str(keep.get("periods", ""))
        for slot, cond in zip(row["keeps"], keep.get("all") or [], strict=False):
            slot.update(metric=cond["metric"], gte=_threshold_text(cond), tier=cond.get("tier") or "")
    return row


def _rows_from_form(form: FormData) -> list[dict[str, Any]]:
    # A hidden field: anything but a small whole number is a tampered form, read as no rows.
    count = min(whole_number(str(form.get("rows") or "0"), digits=3) or 0, 20)
    rows = []
    for i in range(count):
        row = _blank_row()
        for key in ("code", "name", "rank", "share_pct", "override_pct", "keep_periods"):
            row[key] = str(form.get(f"t{i}_{key}") or "").strip()
        for prefix, slots in (("c", row["conds"]), ("k", row["keeps"])):
            for j, slot in enumerate(slots):
                for key in ("metric", "gte", "tier"):
                    slot[key] = str(form.get(f"t{i}_{prefix}{j}_{key}") or "").strip()
        if row["code"] or row["name"]:
            rows.append(row)
    return rows


def _threshold_text(cond: dict[str, Any]) -> str:
    """A threshold as the form shows it: money in yuan, counts as they are."""
    return yuan_text(int(cond["gte"])) if cond["metric"] in MONEY_METRICS else str(cond["gte"])


def _threshold(metric: str, text: str) -> int | str | None:
    """What the operator typed as the API's threshold: yuan become fen; unreadable text goes on as
    it is, so that validation names the field."""
    if not text:
        return None
    if metric in MONEY_METRICS:
        fen = parse_yuan(text)
        return text if fen is None else fen
    return text


def _rate(text: str) -> int | str | None:
    """A percentage as basis points; unreadable text goes on as it is, for validation to name."""
    if not text:
        return None
    bp = parse_percent(text)
    return text if bp is None else bp


def _conditions(slots: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [
        {"metric": s["metric"], "gte": _threshold(s["metric"], s["gte"]), "tier": s["tier"] or None}
        for s in slots
        if s["metric"]
    ]


def _body(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Form rows as the API's tier bodies (pydantic checks types and ranges next)."""
    out = []
    for row in rows:
        body: dict[str, Any] = {
            "code": row["code"],
            "name": row["name"],
            "rank": row["rank"] or None,
            "share_bp": _rate(row["share_pct"]),
            "override_bp": _rate(row["override_pct"] or "0"),
        }
        conds = _conditions(row["conds"])
        keeps = _conditions(row["keeps"])
        if conds:
            body["upgrade"] = {"period": "month", "all": conds}
            if keeps or row["keep_periods"]:
                body["upgrade"]["keep"] = {"periods": row["keep_periods"] or None, "all": keeps}
        out.append(body)
    return out


def _ladder_page(
    request: Request,
    session: Session,
    principal: Any,
    program_id: int,
    *,
    rows: list[dict[str, Any]] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
    saved: bool = False,
) -> HTMLResponse:
    program = program_service.require_program(session, program_id)
    if rows is None:
        rows = [_row_of(t) for t in programs.list_tiers(session, program_id)]
    rows = [*rows, _blank_row()]
    errors = errors or []
    return render(
        request,
        "console/tiers/ladder.html",
        status_code=status_code,
        principal=principal,
        program=program,
        rows=rows,
        codes=[r["code"] for r in rows if r["code"]],
        tier_names={r["code"]: r["name"] or r["code"] for r in rows if r["code"]},
        errors=errors,
        row_errors={i: [e for e in errors if e.get("row") == i] for i in range(len(rows))},
        saved=saved,
        metrics=("direct_recruits", "orders", "gmv_fen"),
    )


@router.get("/console/programs/{program_id}/tiers", response_class=HTMLResponse)
def ladder_page(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator, saved: bool = False
) -> HTMLResponse:
    """The tier ladder editor."""
    return _ladder_page(request, session, principal, program_id, saved=saved)


def _invalid(field: str, kind: str, ctx: Mapping[str, Any] | None) -> Sentences:
    """A tier's field refused by the ladder's schema, named, with why in the reader's language."""
    return Sentences([Message("Invalid fields: {fields}.", fields=field), field_message(kind, field, ctx)])


@router.post("/console/programs/{program_id}/tiers", response_model=None)
def save_ladder(
    request: Request, program_id: int, session: SessionDep, principal: ConsoleOperator, form: FormDep
) -> HTMLResponse | RedirectResponse:
    """Save the ladder whole, or show every problem beside its tier and store nothing."""
    rows = _rows_from_form(form)
    try:
        tiers = LADDER.validate_python(_body(rows))
    except ValidationError as exc:
        errors = [
            {
                "row": e["loc"][0] if e["loc"] and isinstance(e["loc"][0], int) else None,
                "code": "invalid_field",
                "message": _invalid(".".join(str(p) for p in e["loc"][1:]), e["type"], e.get("ctx")),
            }
            for e in exc.errors()
        ]
        return _ladder_page(
            request, session, principal, program_id, rows=rows, errors=errors, status_code=422
        )
    try:
        with session.begin_nested():
            program_service.replace_tiers(session, program_id=program_id, tiers=tiers, actor=principal.actor)
    except ProblemError as exc:
        index = {r["code"]: i for i, r in enumerate(rows)}
        problems = exc.extra.get("problems") or [{"code": exc.code, "message": exc.detail, "tier": None}]
        errors = [{**p, "row": index.get(p.get("tier") or "")} for p in problems]
        return _ladder_page(
            request, session, principal, program_id, rows=rows, errors=errors, status_code=exc.status
        )
    return RedirectResponse(f"/console/programs/{program_id}/tiers?saved=1", status_code=303)


def _evaluation_page(
    request: Request,
    session: Session,
    principal: Any,
    program_id: int,
    *,
    period: str | None,
    result: service.EvaluationResult | None = None,
    error: ProblemError | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    program = program_service.require_program(session, program_id)
    default = str(period_of(utcnow(), program.timezone).previous())
    if result is None and error is None and period:
        try:
            result = service.stored_result(session, program_id=program_id, period_text=period)
        except ProblemError as exc:
            error = exc
    changes = result.changes[:SHOWN_CHANGES] if result else []
    left_out = (result.left_out or [])[:SHOWN_LEFT_OUT] if result else []
    names = programs.member_names(session, [c.member_id for c in changes] + left_out)
    tiers = programs.list_tiers(session, program_id)
    return render(
        request,
        "console/tiers/evaluations.html",
        status_code=status_code,
        principal=principal,
        program=program,
        period=period or default,
        result=result,
        changes=changes,
        names=names,
        tier_names={t.code: t.name for t in tiers},
        tiers=tiers,
        error=error,
        message=message,
        past=repo.list_evaluations(session, program_id),
        english=locale_of(request) == "en",
        zone=ZoneInfo(program.timezone),
    )


@router.get("/console/programs/{program_id}/tier-evaluations", response_class=HTMLResponse)
def evaluations_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    period: str | None = None,
    message: str | None = None,
) -> HTMLResponse:
    """Pick a month, preview or run its evaluation, read past results; override a member's tier."""
    return _evaluation_page(
        request,
        session,
        principal,
        program_id,
        period=period,
        message=message if message in {"run", "override"} else None,
    )


@router.post("/console/programs/{program_id}/tier-evaluations", response_model=None)
def run_evaluation(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    period: Annotated[str, Form(max_length=20)],
    action: Annotated[str, Form(max_length=10)] = "preview",
) -> HTMLResponse | RedirectResponse:
    """Preview (writes nothing) or run a month's evaluation."""
    dry_run = action != "run"
    try:
        with session.begin_nested():
            result = service.evaluate(
                session,
                program_id=program_id,
                period_text=period,
                dry_run=dry_run,
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        return _evaluation_page(
            request, session, principal, program_id, period=period, error=exc, status_code=exc.status
        )
    if dry_run:
        return _evaluation_page(request, session, principal, program_id, period=period, result=result)
    return RedirectResponse(
        f"/console/programs/{program_id}/tier-evaluations?period={result.period}&message=run", status_code=303
    )


@router.post("/console/programs/{program_id}/tier-overrides", response_model=None)
def override(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    member_id: Annotated[int, Form()],
    tier: Annotated[str, Form(max_length=40)],
    reason: Annotated[str, Form(min_length=1, max_length=160)],
) -> HTMLResponse | RedirectResponse:
    """Put a member of this program on a tier from now on."""
    member = programs.get_member(session, member_id)
    try:
        if member is None or member.program_id != program_id:
            raise ProblemError(
                Message("This member is not in this program."),
                code="member_not_found",
                status=404,
            )
        with session.begin_nested():
            override_tier(
                session, member_id=member_id, tier_code=tier, note=reason, actor=principal.actor, at=utcnow()
            )
    except ProblemError as exc:
        return _evaluation_page(
            request, session, principal, program_id, period=None, error=exc, status_code=exc.status
        )
    return RedirectResponse(
        f"/console/programs/{program_id}/tier-evaluations?message=override", status_code=303
    )

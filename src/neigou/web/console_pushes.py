"""Console page of a program's customer pushes: program-wide figures (messages, sent, clicks, claims,
orders, GMV), dormant customers and muted groups, and the push settings form (audited)."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AnyHttpUrl, TypeAdapter, ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.crm import push_engagement as engagement
from neigou.crm import push_settings
from neigou.crm.dormancy import DORMANT_DAYS
from neigou.crm.models import PushChannel
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.paging import Page
from neigou.kit.sealed import Sealer
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
MAX_ID = 2**63 - 1
MUTED_DAYS = 7
MUTED_ROWS = 50  # the quietest groups the page lists; the API pages through all of them
DORMANT_SHOWN = 20
URL = TypeAdapter(AnyHttpUrl)


def _page(
    request: Request,
    session: SessionDep,
    *,
    program_id: int | None,
    saved: bool = False,
    error: str | None = None,
    secret: str | None = None,
) -> HTMLResponse:
    listed = programs.list_programs(session)
    program = next((p for p in listed if p.id == program_id), listed[0] if listed else None)
    context: dict[str, object] = {}
    if program is not None:
        now = utcnow()
        dormant = engagement.page_dormant(
            session, Page(limit=DORMANT_SHOWN), program_id=program.id, days=DORMANT_DAYS, at=now
        )
        context = {
            "figures": engagement.program_figures(session, program.id),
            "settings": push_settings.read(session, program.id),
            "dormant": dormant.items,
            "dormant_total": dormant.total,
            "muted": engagement.page_muted_groups(
                session, Page(limit=MUTED_ROWS), program_id=program.id, days=MUTED_DAYS, at=now
            ).items,
        }
    return render(
        request,
        "console/crm.html",
        status_code=422 if error else 200,
        programs=listed,
        program=program,
        channels=[c.value for c in PushChannel],
        dormant_days=DORMANT_DAYS,
        muted_days=MUTED_DAYS,
        saved=saved,
        error=error,
        secret=secret,
        **context,
    )


@router.get("/console/crm", response_class=HTMLResponse)
def crm_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    program_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    saved: bool = False,
    error: Annotated[str | None, Query(max_length=60)] = None,
) -> HTMLResponse:
    """The chosen program's push figures, quiet customers and groups, and its settings."""
    return _page(request, session, program_id=program_id, saved=saved, error=error)


def _clock(text: str) -> time:
    try:
        value = time.fromisoformat(text)
    except ValueError:
        value = None
    if value is None or value.second or value.microsecond or value.tzinfo is not None:
        raise Invalid(Message("Quiet hours are hours and minutes, like 22:00."), code="bad_quiet_hours")
    return value


@router.post("/console/crm/settings", response_model=None)
def save_settings(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    program_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    channel: Annotated[PushChannel, Form()],
    cap_pushes: Annotated[int, Form(ge=1, le=100)],
    cap_days: Annotated[int, Form(ge=1, le=365)],
    quiet_start: Annotated[str, Form(max_length=8)],
    quiet_end: Annotated[str, Form(max_length=8)],
    target: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    """Store the settings; an empty target keeps the stored one."""
    back = f"/console/crm?program_id={program_id}"
    try:
        with session.begin_nested():
            require_program(session, program_id)
            if target.strip():
                try:
                    URL.validate_python(target.strip())
                except ValidationError:
                    raise Invalid(Message("The target must be an http(s) URL."), code="bad_target") from None
            _, secret = push_settings.update(
                session,
                program_id=program_id,
                change=push_settings.SettingsChange(
                    channel=channel,
                    cap_pushes=cap_pushes,
                    cap_days=cap_days,
                    quiet_start=_clock(quiet_start),
                    quiet_end=_clock(quiet_end),
                    target=target.strip() or None,
                ),
                sealer=Sealer.from_settings(request.app.state.settings),
                allow_private=request.app.state.settings.outbound_allow_private,
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        return RedirectResponse(f"{back}&error={exc.code}", status_code=303)
    if secret:  # shown this once, on this answer alone (never in a URL)
        return _page(request, session, program_id=program_id, saved=True, secret=secret)
    return RedirectResponse(f"{back}&saved=1", status_code=303)

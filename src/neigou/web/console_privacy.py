"""Console page of PIPL opt-outs: an operator enters a shopper's reference, confirms, and sees what was
erased; past opt-outs the operator sees (``privacy.repository``) are listed without any customer
reference."""

from __future__ import annotations

import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.i18n import Text
from neigou.kit.ids import empty_once_hashed
from neigou.privacy import repository as repo
from neigou.privacy import service
from neigou.privacy.models import OptOut
from neigou.privacy.schemas import MAX_ID
from neigou.programs import repository as programs
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
SHOWN = 100
_CONSOLE_REQUEST = re.compile(r"console-[A-Za-z0-9_-]{8,48}")
_PROGRAM_ID = re.compile(r"[1-9][0-9]{0,17}")  # within the database's bigint


def _page(
    request: Request,
    session: SessionDep,
    *,
    done: OptOut | None = None,
    replayed: bool = False,
    error: Text | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = programs.list_programs(session)
    opt_outs = repo.list_opt_outs(session, limit=SHOWN)
    return render(
        request,
        "console/privacy/index.html",
        status_code=status_code,
        programs=listed,
        names={p.id: p.name for p in listed},
        opt_outs=opt_outs,
        # Opt-outs recorded platform-wide erased rows of every organization: their counts are not
        # shown to an organization's operators.
        counts_hidden={
            o.id for o in [*opt_outs, *([done] if done else [])] if not repo.counts_shown(session, o)
        },
        kinds=service.KINDS,
        done=done,
        replayed=replayed,
        error=error,
        # A fresh key per form: submitting twice (a double click, a reload) erases once.
        request_id="console-" + secrets.token_urlsafe(16),
        # An opt-out of one program is shown in that program's zone, one of every program in the
        # deployment's default zone (the ``local`` filter's, from the settings).
        zones={p.id: p.timezone for p in listed},
    )


@router.get("/console/privacy", response_class=HTMLResponse)
def privacy_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    done: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    replayed: bool = False,
) -> HTMLResponse:
    """The opt-out form, the result of the last one, and past opt-outs."""
    shown = repo.visible_opt_out(session, done) if done is not None else None
    return _page(request, session, done=shown, replayed=replayed)


@router.post("/console/privacy", response_model=None)
def submit_opt_out(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    customer_ref: Annotated[str, Form(max_length=128)] = "",
    program_id: Annotated[str, Form(max_length=20)] = "",
    request_id: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Opt a shopper out (audited); answers with the result page, or the form and its error."""
    if empty_once_hashed(customer_ref):  # as the API: one hashed as the empty reference names nobody
        return _page(request, session, error="customer_required", status_code=422)
    if confirm != "yes":
        return _page(request, session, error="confirm_required", status_code=422)
    if program_id and not _PROGRAM_ID.fullmatch(program_id):
        return _page(request, session, error="invalid_program", status_code=422)
    if not _CONSOLE_REQUEST.fullmatch(request_id):
        request_id = "console-" + secrets.token_urlsafe(16)
    try:
        with session.begin_nested():
            result = service.opt_out(
                session,
                secret_key=request.app.state.settings.secret_key,
                customer_ref=customer_ref.strip(),
                program_id=int(program_id) if program_id else None,
                request_id=request_id,
                actor=principal.actor,
                at=utcnow(),
                events=request.app.state.events,
                links=request.app.state.links,
            )
    except ProblemError as exc:
        return _page(request, session, error=exc.detail, status_code=exc.status)
    replay = "&replayed=1" if not result.created else ""
    return RedirectResponse(f"/console/privacy?done={result.opt_out.id}{replay}", status_code=303)

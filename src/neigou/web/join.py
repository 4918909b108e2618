"""The public join page ``/j/{code}``: who invites, a name-and-phone form, and then the new member's
workspace sign-in link. Anonymous, so every input is validated, attempts are rate-limited, and any
bad code or input gets a friendly bilingual page rather than an error document."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from neigou.auth import service as auth
from neigou.auth.dependencies import SESSION_COOKIE
from neigou.auth.models import Role
from neigou.auth.sign_in_codes import LOGIN_PATH
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.streams import namespace as redis_namespace
from neigou.links.ratelimit import ClaimLimiter
from neigou.network import joins
from neigou.programs import repository as programs
from neigou.programs.models import Member
from neigou.web.forms import end_earlier_session, set_session_cookie
from neigou.web.hosts import public_url
from neigou.web.landing import visitor_of
from neigou.web.pages import client_ip, render

router = APIRouter(include_in_schema=False)
JOINS_PER_IP = "20/minute"
JOINS_PER_VISITOR = "5/minute"
MAX_FIELD = 200


def _limiter(request: Request) -> ClaimLimiter:
    limiter: ClaimLimiter | None = getattr(request.app.state, "join_limiter", None)
    if limiter is None:
        limiter = ClaimLimiter.for_redis(
            request.app.state.settings.redis_client_url,
            per_ip=JOINS_PER_IP,
            per_visitor=JOINS_PER_VISITOR,
            namespace=redis_namespace(request.app.state.settings.database_url) + ":join",
        )
        request.app.state.join_limiter = limiter
    return limiter


def _invalid(request: Request, code: str) -> HTMLResponse:
    return render(request, "network/join_invalid.html", status_code=404, code=code[:64])


def _form(
    request: Request,
    session: SessionDep,
    inviter: Member,
    code: str,
    *,
    status_code: int = 200,
    error: str | None = None,
    name: str = "",
) -> HTMLResponse:
    program = programs.get_program(session, inviter.program_id)
    return render(
        request,
        "network/join.html",
        status_code=status_code,
        code=code,
        inviter=inviter,
        program=program,
        error=error,
        typed_name=name[:MAX_FIELD],
    )


@router.get("/j/{code}", response_class=HTMLResponse)
def join_page(code: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Who invites, and the form to join their program."""
    secret_key = request.app.state.settings.secret_key
    try:
        inviter = joins.require_inviter(session, secret_key=secret_key, code=code)
    except ProblemError:
        return _invalid(request, code)
    return _form(request, session, inviter, code)


@router.post("/j/{code}", response_class=HTMLResponse)
def join_submit(
    code: str,
    request: Request,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Create the member under the inviter (or find the one with this phone) and show the sign-in link."""
    secret_key = request.app.state.settings.secret_key
    try:
        inviter = joins.require_inviter(session, secret_key=secret_key, code=code)
    except ProblemError:
        return _invalid(request, code)
    ip, visitor_id = client_ip(request), visitor_of(request)
    if not (limiter := _limiter(request)).allow(ip=ip, visitor_id=visitor_id):
        limited = _form(request, session, inviter, code, status_code=429, error="limited", name=name)
        limited.headers["Retry-After"] = str(limiter.retry_after(ip=ip, visitor_id=visitor_id))
        return limited
    if len(name) > MAX_FIELD or len(phone) > MAX_FIELD:
        return _form(request, session, inviter, code, status_code=422, error="invalid_name", name="")
    try:
        result = joins.join(
            session,
            code=code,
            name=name,
            phone=phone,
            secret_key=secret_key,
            code_minutes=request.app.state.settings.sign_in_code_minutes,
        )
    except ProblemError as exc:
        return _form(request, session, inviter, code, status_code=422, error=exc.code, name=name)
    program = programs.get_program(session, result.member.program_id)
    response = render(
        request,
        "network/joined.html",
        status_code=201 if result.created else 200,
        member=result.member,
        inviter=inviter,
        program=program,
        created=result.created,
        login_url=public_url(request, LOGIN_PATH + result.sign_in_code) if result.sign_in_code else None,
        code_minutes=request.app.state.settings.sign_in_code_minutes,
    )
    response.headers["Cache-Control"] = "no-store"
    if result.created:
        # Signed in on this phone at once, so switching language or leaving the page loses nothing.
        hours = request.app.state.settings.session_hours
        end_earlier_session(request, session)  # the cookie it replaces names no one any longer
        cookie = auth.create_session(
            session, role=Role.MEMBER, member_id=result.member.id, label=result.member.name, hours=hours
        )
        set_session_cookie(request, response, SESSION_COOKIE, cookie)
    return response

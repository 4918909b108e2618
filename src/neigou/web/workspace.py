"""The member's mobile workspace: sign-in by one-time link, sign-out, home (today's figures and tasks),
and me."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from neigou.auth import service as auth
from neigou.auth import sign_in_codes
from neigou.auth.dependencies import SESSION_COOKIE
from neigou.auth.models import Role
from neigou.feed.service import feed_items, member_share
from neigou.groups import live_code_repository as live_repo
from neigou.groups.compliance import day_start, local_date, owner_compliance
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.ledger import repository as ledger
from neigou.links import repository as links_repo
from neigou.programs import repository as programs
from neigou.programs.models import Member, Program
from neigou.programs.service import require_member, require_program
from neigou.web.forms import clear_session_cookie, end_earlier_session, end_session, set_session_cookie
from neigou.web.pages import WorkspaceMember, render
from neigou.web.workspace_customers import customer_tasks

router = APIRouter(include_in_schema=False)
HOME_PICKS = 3  # the feed's best products shown on the home


def _no_store(response: Response, referrer: str = "no-referrer") -> Response:
    # The address or form held a secret: neither cache it nor send it on to another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = referrer
    return response


@router.get("/m/login", response_model=None)
def member_login_page(request: Request, session: SessionDep, code: str = "") -> Response:
    """Ask before signing in with a one-time link: opening it spends nothing and changes no session (a
    link preview, or a link someone else sent to put the reader in their workspace, does nothing). The
    page names no member; its button posts the code back."""
    if not sign_in_codes.usable(session, code):
        return _no_store(render(request, "m/expired.html", status_code=401))
    # ``strict-origin``, not ``no-referrer``: under ``no-referrer`` a browser posts the page's form with
    # ``Origin: null``, which the cross-site check refuses; this one sends only the origin, never the
    # address with its code, to this site or any other.
    return _no_store(render(request, "m/sign_in.html", code=code), referrer="strict-origin")


@router.post("/m/login", response_model=None)
def member_login(
    request: Request, session: SessionDep, code: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Exchange a one-time sign-in code for a workspace session cookie (the code is spent)."""
    member_id = sign_in_codes.redeem(session, code)
    member = programs.get_member(session, member_id) if member_id is not None else None
    if member is None:
        response: Response = render(request, "m/expired.html", status_code=401)
    else:
        end_earlier_session(request, session)
        secret = auth.create_session(
            session,
            role=Role.MEMBER,
            member_id=member.id,
            label=member.name,
            hours=request.app.state.settings.session_hours,
        )
        response = RedirectResponse("/m/", status_code=303)
        set_session_cookie(request, response, SESSION_COOKIE, secret)
    return _no_store(response)


@router.get("/m/expired", response_class=HTMLResponse)
def expired(request: Request) -> HTMLResponse:
    """Shown when the sign-in link or session is no longer valid."""
    return render(request, "m/expired.html", status_code=401)


@router.post("/m/logout")
def member_logout(request: Request, session: SessionDep, principal: WorkspaceMember) -> RedirectResponse:
    """Close the member's workspace session (the "me" page's button): its secret is revoked, so the
    cookie is refused even if a copy of it is presented again, and the browser is told to drop it. A
    request without a session goes to the expired page (``web.problems``), a console session is refused
    (403) and stays open."""
    end_session(session, principal.token_id)
    response = RedirectResponse("/m/signed-out", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/m/signed-out", response_class=HTMLResponse)
def signed_out(request: Request) -> HTMLResponse:
    """Where a sign-out lands: the member is told they are out and how to come back."""
    return render(request, "m/signed_out.html")


def _profile(session: Session, member: Member, program: Program) -> dict[str, Any]:
    tiers = {t.code: t for t in programs.list_tiers(session, program.id)}
    return {
        "member": member,
        "program": program,
        "tier": tiers.get(member.tier_code or ""),
        "tiers": tiers,
        "inviter": programs.get_member(session, member.inviter_id) if member.inviter_id else None,
    }


@router.get("/m/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """Today at a glance: earnings today and this month, what is available, the feed's best products
    and today's tasks (groups, links, live codes and, for a customer book, its customers)."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    now = utcnow()
    today = local_date(now, program.timezone)
    # The groups' counts up to the end of today (their standing) and up to now (the feed's band), read once.
    groups, own_counts = owner_compliance(
        session, program=program, on=today, owner_member_id=member.id, now=now
    )
    book = bool(request.state.customer_book)  # read with the session's token (``WorkspaceMember``)
    profile = _profile(session, member, program)
    _, share_bp = member_share(session, member, now, tiers=profile["tiers"].values())
    picks = feed_items(session, member=member, at=now, share_bp=share_bp, own_counts=own_counts)
    today_fen, month_fen = ledger.earned_since(
        session,
        member.id,
        [day_start(today, program.timezone), day_start(today.replace(day=1), program.timezone)],
    )
    return render(
        request,
        "m/home.html",
        **profile,
        today_fen=today_fen,
        month_fen=month_fen,
        balance=ledger.balance(session, member.id),
        uncounted=[
            g
            for g in groups.groups
            if g.observed_at is None or local_date(g.observed_at, program.timezone) != today
        ],
        missed=groups.missed,
        at_risk=groups.at_risk,
        has_links=bool(links_repo.list_links(session, member_id=member.id, limit=1)),
        picks=picks[:HOME_PICKS],
        customer_book=book,  # the navigation's too
        customer_tasks=customer_tasks(session, member.id, today, now) if book else None,
        full_codes=sum(
            1 for c in live_repo.live_codes_of_owner(session, member.id) if c.full_since is not None
        ),
    )


@router.get("/m/me", response_class=HTMLResponse)
def me(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """The member's own profile: tier, inviter, direct recruits, and where to grow the team."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    return render(
        request,
        "m/me.html",
        **_profile(session, member, program),
        team=programs.list_direct_recruits(session, member.id),
    )

"""The operator console: sign-in, programs, members with their invite tree, audit log."""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import ColumnElement, case

from neigou.audit import service as audit
from neigou.audit.models import AuditEntry
from neigou.auth import service as auth
from neigou.auth.dependencies import SESSION_COOKIE, ConsoleOperator, ConsoleUser
from neigou.auth.models import Role
from neigou.auth.throttle import SignInThrottle, too_long
from neigou.kit.collation import sort_key
from neigou.kit.deps import SessionDep
from neigou.kit.i18n import LOCALES
from neigou.programs import repository as programs
from neigou.programs.models import Member
from neigou.programs.service import require_program
from neigou.web import audit_labels
from neigou.web.forms import clear_session_cookie, end_earlier_session, end_session, set_session_cookie
from neigou.web.i18n import locale_of, page_callables, query_language
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import client_ip, remember_language, render, safe_next
from neigou.web.tree import build_forest

router = APIRouter(include_in_schema=False)
MEMBERS_PER_PAGE = 20


@router.get("/")
def root(request: Request) -> RedirectResponse:
    """The console is the front door, in the language the root was asked in."""
    lang = query_language(request)
    return RedirectResponse(f"/console?lang={lang}" if lang else "/console", status_code=303)


@router.get("/lang")
def switch_language(request: Request, to: str, next: str | None = None) -> RedirectResponse:
    """Remember the chosen language in a cookie."""
    response = RedirectResponse(safe_next(next, "/console"), status_code=303)
    if to in LOCALES:
        remember_language(request, response, to)
    return response


@router.get("/console/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return render(request, "console/login.html", next=safe_next(next, "/console"), failed=False)


@router.post("/console/login", response_model=None)
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/console",
) -> Response:
    """Check the password and open a console session (attempts are throttled per username and IP:
    each is reserved before the slow hash is checked, so a burst cannot pass the limit)."""
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    ip = client_ip(request)
    if not throttle.reserve(ip=ip, username=username):
        wait = throttle.retry_after(ip=ip, username=username)
        refused = render(
            request,
            "console/login.html",
            status_code=429,
            next=safe_next(next, "/console"),
            failed=False,
            throttled_minutes=math.ceil(wait / 60),
            username="" if too_long(username) else username,
        )
        refused.headers["retry-after"] = str(wait)
        return refused
    user = None if too_long(username) else auth.authenticate(session, username=username, password=password)
    if user is None:
        return render(
            request,
            "console/login.html",
            status_code=401,
            next=safe_next(next, "/console"),
            failed=True,
            username="" if too_long(username) else username,
        )
    throttle.succeeded(ip=ip, username=username)
    end_earlier_session(request, session)
    secret = auth.create_session(
        session,
        role=Role.OPERATOR if user.merchant_id is None else Role.MERCHANT,
        user_id=user.id,
        label=user.username,
        organization_id=user.organization_id,
        merchant_id=user.merchant_id,
        hours=request.app.state.settings.session_hours,
    )
    target = safe_next(next, "/console")
    if user.merchant_id is not None and not target.startswith("/console/merchant"):
        target = "/console/merchant"  # a merchant's account has the merchant portal only
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, SESSION_COOKIE, secret, samesite="strict")
    return response


@router.post("/console/logout")
def logout(request: Request, session: SessionDep, principal: ConsoleUser) -> RedirectResponse:
    """Close the console session, an operator's or a merchant's (the portal's navigation posts here); an
    API token sent here is left alone (``end_session``)."""
    end_session(session, principal.token_id)
    response = RedirectResponse("/console/login", status_code=303)
    clear_session_cookie(request, response, samesite="strict")  # as the console's sign-in set it
    return response


@router.get("/console/programs/{program_id}", response_class=HTMLResponse)
def program_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    tier: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """A program: its rules, tier ladder, members (searchable, sortable, by tier, paged) and invite tree."""
    program = require_program(session, program_id)
    tiers = programs.list_tiers(session, program_id)
    chosen = tier if tier in {t.code for t in tiers} else None
    members = fetch(
        session,
        request,
        programs.members_statement(program_id, chosen),
        query,
        sorts=programs.MEMBER_SORTS,
        default_sort="id",
        search=programs.MEMBER_SEARCH,
        size=MEMBERS_PER_PAGE,
    )
    shown: list[Member] = members.rows
    recruits = programs.direct_recruit_counts(session, [m.id for m in shown])
    names = programs.member_names(session, [m.inviter_id for m in shown if m.inviter_id is not None])
    tier_counts = programs.tier_counts(session, program_id)
    forest, truncated = build_forest(programs.tree(session, program_id))
    return render(
        request,
        "console/program.html",
        principal=principal,
        program=program,
        tiers=tiers,
        tier=chosen or "",
        members=members,
        recruits=recruits,
        names=names,
        total=programs.count_members(session, program_id),
        tier_counts=tier_counts,
        tier_values=[tier_counts.get(t.code, 0) for t in tiers],
        forest=forest,
        truncated=truncated,
    )


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    entity: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    """Audited writes, newest first: searchable, sortable, one kind of entity at a time, paged."""
    kinds = audit.entities(session)
    chosen = entity if entity in kinds else None
    entries = fetch(
        session,
        request,
        audit.entries_statement(chosen),
        query,
        # the action's order is worked out only when asked for (Chinese pinyin loads a dictionary)
        sorts={
            **audit.SORTS,
            **({"action": _action_order(request)} if query.sort.lstrip("-") == "action" else {}),
        },
        default_sort="-at",
        search=audit.SEARCH,
        also_matching=_actions_said(query.q),
    )
    return render(
        request,
        "console/audit.html",
        principal=principal,
        entries=entries,
        entities=kinds,
        entity=chosen or "",
    )


def _action_order(request: Request) -> ColumnElement[int]:
    """The action column in the order of the words the reader sees, in the reader's language, not of
    the codes; an action of an older version, shown by its code, sorts after every named one."""
    ordered = _actions_in_order(locale_of(request))
    return case(
        {code: rank for rank, code in enumerate(ordered)}, value=AuditEntry.action, else_=len(ordered)
    )


@cache
def _actions_in_order(locale: str) -> tuple[str, ...]:
    """The named actions in the order of their words in ``locale``: Chinese by pinyin, English by letter
    (``kit.collation``)."""
    said = page_callables(locale)["label"]
    return tuple(sorted(audit_labels.action, key=lambda code: (sort_key(said("action", code), locale), code)))


def _actions_said(text: str) -> ColumnElement[bool] | None:
    """Entries whose action is said with words holding ``text`` in either language: the log shows
    actions in words, so "内购会" and "live event" both find ``event.create``, whatever the page's language."""
    if not text:
        return None
    wanted = text.casefold()
    speakers = [page_callables(locale)["label"] for locale in LOCALES]
    codes = [
        code
        for code in audit_labels.action
        if any(wanted in said("action", code).casefold() for said in speakers)
    ]
    return AuditEntry.action.in_(codes) if codes else None

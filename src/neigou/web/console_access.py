"""Console screens of access: console accounts (create, stop, let back in) and API tokens (issued with
their secret shown once, revoked)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neigou.auth import accounts
from neigou.auth import service as auth
from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.models import MAX_DISPLAY_NAME_LENGTH, MAX_USERNAME_LENGTH, Role
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.offers.forms import FieldError
from neigou.programs.repository import member_names
from neigou.web import once
from neigou.web.form_pages import FormRefused, attempt
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
ACCESS = "/console/access"
NO_STORE = {"Cache-Control": "no-store"}  # a page that shows a secret is never cached
USER_FIELDS = {
    "invalid_username": "username",
    "username_taken": "username",
    "invalid_display_name": "display_name",
    "weak_password": "password",
}
TOKEN_FIELDS = {
    "member_required": "member_id",
    "member_not_found": "member_id",
    "member_not_allowed": "member_id",
}
_MEMBER_ID_NOT_A_NUMBER = FieldError(
    "member_id", "invalid_integer", Message("A member ID is a number, e.g. 12.")
)
# A merchant token names its shop, which this form does not ask for: it is issued with the CLI (--merchant-id).
CONSOLE_ROLES = [role for role in Role if role is not Role.MERCHANT]


def _page(
    request: Request, session: Session, principal: Principal, *, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    tokens = accounts.list_api_tokens(session)
    response = render(
        request,
        "console/access/index.html",
        status_code=status_code,
        principal=principal,
        users=accounts.list_users(session),
        tokens=tokens,
        member_names=member_names(session, [t.member_id for t in tokens]),
        roles=[r.value for r in CONSOLE_ROLES],
        min_password=auth.MIN_PASSWORD_LENGTH,
        max_username=MAX_USERNAME_LENGTH,
        max_display_name=MAX_DISPLAY_NAME_LENGTH,
        **({"user_values": {}, "token_values": {}, "user_errors": [], "token_errors": []} | extra),
    )
    response.headers.update(NO_STORE)
    return response


@router.get(ACCESS, response_class=HTMLResponse)
def access_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    done: str | None = None,
    shown: Annotated[str | None, Query(max_length=once.SLOT_MAX)] = None,
) -> HTMLResponse:
    """Console accounts and API tokens; after a token is issued (``shown``), its secret this once, or
    that it is no longer visible."""
    if shown is None:
        return _page(request, session, principal, done=done)
    issued = once.take(request, ACCESS, shown)
    extra = {"issued": issued, "secret": issued["secret"]} if issued else {"secret_gone": True}
    response = _page(request, session, principal, done=done, **extra)
    once.forget(request, response, ACCESS)
    return response


@router.post("/console/users", response_class=HTMLResponse, response_model=None)
def create_user(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    username: Annotated[str, Form()],  # its length: the service's rule
    password: Annotated[str, Form(max_length=200)],
    display_name: Annotated[str, Form()] = "",
) -> HTMLResponse | RedirectResponse:
    """Open a console account; a refused one is shown with its reason and nothing is written."""
    made = attempt(
        session,
        lambda: auth.create_user(
            session,
            username=username,
            password=password,
            display_name=display_name.strip() or None,
            actor=principal.actor,
        ),
        placed=USER_FIELDS,
    )
    if isinstance(made, FormRefused):
        values = {"username": username, "display_name": display_name}  # never the password
        return _page(
            request, session, principal, status_code=made.status, user_errors=made.errors, user_values=values
        )
    return RedirectResponse("/console/access?done=user_created", status_code=303)


@router.post("/console/users/{user_id}/active")
def set_user_active(
    user_id: int, session: SessionDep, principal: ConsoleOperator, active: Annotated[bool, Form()]
) -> RedirectResponse:
    """Stop a console account (its sessions end now) or let it sign in again; an operator cannot stop
    their own account."""
    if not active and principal.user_id == user_id:
        return RedirectResponse("/console/access?done=not_yourself", status_code=303)
    accounts.set_user_active(session, user_id=user_id, active=active, actor=principal.actor, at=utcnow())
    return RedirectResponse(f"/console/access?done={'user_activated' if active else 'user_stopped'}", 303)


@router.post("/console/tokens", response_class=HTMLResponse, response_model=None)
def create_token(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    role: Annotated[Role, Form()],
    label: Annotated[str, Form(max_length=120)] = "",
    member_id: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse | RedirectResponse:
    """Issue an API token and redirect to the page that shows its secret this once (never in a URL):
    reloading that page issues nothing."""
    values = {"role": role.value, "label": label, "member_id": member_id}
    member = whole_number(member_id)
    if member is None and member_id.strip():  # typed, but no id: refused, never read as "no member"
        return _page(
            request,
            session,
            principal,
            status_code=422,
            token_errors=[_MEMBER_ID_NOT_A_NUMBER],
            token_values=values,
        )
    issued = attempt(
        session,
        lambda: auth.create_token(
            session,
            role=role,
            member_id=member,
            label=label.strip(),
            actor=principal.actor,
            issued_by_user_id=principal.answerable_user_id,
        ),
        placed=TOKEN_FIELDS,
    )
    if isinstance(issued, FormRefused):
        return _page(
            request,
            session,
            principal,
            status_code=issued.status,
            token_errors=issued.errors,
            token_values=values,
        )
    token, secret = issued
    return once.redirect_showing(request, ACCESS, {"id": token.id, "label": token.label, "secret": secret})


@router.post("/console/tokens/{token_id}/revoke")
def revoke_token(token_id: int, session: SessionDep, principal: ConsoleOperator) -> RedirectResponse:
    """Revoke an API token: every call with it is refused from now on."""
    auth.revoke_audited(session, token_id=token_id, actor=principal.actor)
    return RedirectResponse("/console/access?done=token_revoked", status_code=303)

"""Authorization as a typed dependency: each endpoint names the roles that may call it.

The token lookup runs in a session of its own, closed before the endpoint starts: FastAPI runs this
dependency and the endpoint in separate threadpool hops, and a connection held across the wait for
the next hop is one a burst of requests can deadlock on (see CONVENTIONS.md, "no session held across
a wait").
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.auth.service import Principal, resolve
from neigou.kit.errors import Forbidden, Unauthorized
from neigou.kit.i18n import Message
from neigou.kit.scoping import Scope, set_request_scope

SESSION_COOKIE = "neigou_session"


class Authenticator:
    """Resolve the bearer token (or, for pages, the session cookie) and check its role."""

    def __init__(
        self,
        *roles: Role,
        cookie: bool = False,
        also: Callable[[Session, Principal, Request], None] | None = None,
    ) -> None:
        self.roles = frozenset(roles)
        self.cookie = cookie
        # More of what the page needs about its caller (the workspace's navigation), read in the
        # lookup's short session: the request never holds a second connection beside its own.
        self.also = also

    def credential(self, request: Request) -> str:
        """The secret the request presents, from its headers and cookies alone (never its body):
        401 ``unauthenticated`` when it presents none, ``invalid_token`` for a malformed header.
        ``web.credentials`` asks this before a route reads the body of a caller who has none."""
        secret = _bearer(request)
        if secret is None and self.cookie:
            secret = request.cookies.get(SESSION_COOKIE)
        if secret is None:
            raise Unauthorized(Message("Sign in or send 'Authorization: Bearer <token>'."))
        return secret

    def __call__(self, request: Request) -> Principal:
        secret = self.credential(request)
        factory: sessionmaker[Session] = request.app.state.session_factory
        with factory() as session:  # one short read; the connection goes back before the endpoint runs
            principal = resolve(session, secret)
            if principal is not None and principal.role in self.roles and self.also is not None:
                self.also(session, principal, request)
        if principal is None:
            raise Unauthorized(Message("The token is unknown, revoked or expired."), code="invalid_token")
        # Every statement of this request's session now carries the caller's organization.
        scope = (
            None
            if principal.organization_id is None
            else Scope(principal.organization_id, merchant_id=principal.merchant_id)
        )
        set_request_scope(request.state, scope)
        request.state.principal = principal  # pages read who is signed in (the workspace's navigation)
        if principal.role not in self.roles:
            raise Forbidden(Message("This needs the role {roles}.", roles=_role_names(self.roles)))
        return principal


# A role as a refusal names it, translated with the separator between them.
_ROLE_NAMES = {
    Role.OPERATOR: Message("Operator"),
    Role.MEMBER: Message("Member"),
    Role.INTEGRATION: Message("Integration"),
    Role.MERCHANT: Message("Merchant"),
}


def _role_names(roles: frozenset[Role]) -> Message:
    """The roles, in a stable order, as one translated phrase ("Operator or Merchant")."""
    names = [_ROLE_NAMES[role] for role in sorted(roles)]
    phrase = names[0]
    for name in names[1:]:
        phrase = Message("{first} or {second}", first=phrase, second=name)
    return phrase


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized(Message("Use 'Authorization: Bearer <token>'."), code="invalid_token")
    return value.strip()


def require_member_access(principal: Principal, member_id: int) -> None:
    """A member sees only their own records; operators see all."""
    if principal.role is Role.MEMBER and principal.member_id != member_id:
        raise Forbidden(Message("Members can only see their own records."), code="other_member")


_operator = Authenticator(Role.OPERATOR)
Operator = Annotated[Principal, Depends(_operator)]
OperatorOrIntegration = Annotated[Principal, Depends(Authenticator(Role.OPERATOR, Role.INTEGRATION))]
OperatorOrMember = Annotated[Principal, Depends(Authenticator(Role.OPERATOR, Role.MEMBER))]
AnyRole = Annotated[Principal, Depends(Authenticator(Role.OPERATOR, Role.MEMBER, Role.INTEGRATION))]
# Merchants manage their own products, coupons and promotions and read the catalog they sell in.
OperatorOrMerchant = Annotated[Principal, Depends(Authenticator(Role.OPERATOR, Role.MERCHANT))]
CatalogReader = Annotated[
    Principal, Depends(Authenticator(Role.OPERATOR, Role.MEMBER, Role.INTEGRATION, Role.MERCHANT))
]
console_operator = Authenticator(Role.OPERATOR, cookie=True)
ConsoleOperator = Annotated[Principal, Depends(console_operator)]
# The merchant portal of the console: a merchant account's session.
console_merchant = Authenticator(Role.MERCHANT, cookie=True)
ConsoleMerchant = Annotated[Principal, Depends(console_merchant)]
# Either kind of console session: what both the console and the merchant portal share (signing out).
ConsoleUser = Annotated[Principal, Depends(Authenticator(Role.OPERATOR, Role.MERCHANT, cookie=True))]


def platform_admin(principal: Annotated[Principal, Depends(_operator)]) -> Principal:
    """An operator of no organization: sees and manages every organization."""
    if principal.organization_id is not None:
        raise Forbidden(Message("Only a platform administrator may do this."))
    return principal


PlatformAdmin = Annotated[Principal, Depends(platform_admin)]


def metrics_reader(request: Request) -> None:
    """``/metrics``: a scraper presenting ``NEIGOU_METRICS_TOKEN``, or an operator."""
    expected: str | None = request.app.state.settings.metrics_token
    secret = _bearer(request)
    if expected and secret is not None and hmac.compare_digest(secret.encode(), expected.encode()):
        return
    _operator(request)


MetricsReader = Depends(metrics_reader)

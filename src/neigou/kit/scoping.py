"""The tenant a request acts for, carried on its database session.

The request's principal names an organization (or none: a platform administrator, a job, the CLI);
``kit.deps.get_session`` links the session to the request, the authenticator records the scope on
the request, and the listener in ``programs.scope`` reads it back here for every statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from neigou.kit.settings import SESSION_SETTINGS

_REQUEST_STATE = "neigou.request_state"
_SCOPE = "neigou.scope"
STATE_ATTRIBUTE = "tenant_scope"


@dataclass(frozen=True)
class Scope:
    """What a scoped principal may see: one organization's rows, and of a merchant's caller only
    that merchant's where a row names its merchant."""

    organization_id: int
    merchant_id: int | None = None


def holds_only_scope(session: Session) -> bool:
    """True when the session's ``info`` carries nothing but its scope and its application's settings:
    no work waiting for a commit."""
    return set(session.info) <= {_REQUEST_STATE, _SCOPE, SESSION_SETTINGS}


def link_request(session: Session, state: Any) -> None:
    """Let ``session`` follow the scope its request's authenticator records (set after the session
    is made: FastAPI resolves the dependencies in either order)."""
    session.info[_REQUEST_STATE] = state


def in_request(session: Session) -> bool:
    """Whether ``session`` is a request's (``link_request``): someone waits for its answer, so a wait
    for a lock that long-running work may hold is bounded (``kit.lock_wait``)."""
    return _REQUEST_STATE in session.info


def set_request_scope(state: Any, scope: Scope | None) -> None:
    """Record the request's scope on its state (``request.state``)."""
    setattr(state, STATE_ATTRIBUTE, scope)


def current_request_scope(state: Any) -> Scope | None:
    """The scope its authenticator recorded on a request's state (None: every organization)."""
    found: Scope | None = getattr(state, STATE_ATTRIBUTE, None)
    return found


def use_scope(session: Session, scope: Scope | None) -> None:
    """Scope a session directly (a CLI command or a test acting for one organization)."""
    session.info[_SCOPE] = scope


def current_scope(session: Session) -> Scope | None:
    """The scope of ``session``: its own, else its request's; None means every organization."""
    if _SCOPE in session.info:
        scope: Scope | None = session.info[_SCOPE]
        return scope
    state = session.info.get(_REQUEST_STATE)
    if state is None:
        return None
    found: Scope | None = getattr(state, STATE_ATTRIBUTE, None)
    return found


@contextmanager
def unscoped(session: Session) -> Iterator[None]:
    """Run the block's statements without the tenant criteria: for set-based reads confined to a
    program the caller has already loaded through its scope (the criteria cannot be put into some
    CTE-and-UNION statements)."""
    had, saved = _SCOPE in session.info, session.info.get(_SCOPE)
    session.info[_SCOPE] = None
    try:
        yield
    finally:
        if had:
            session.info[_SCOPE] = saved
        else:
            session.info.pop(_SCOPE, None)

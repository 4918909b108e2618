"""A caller who presents no credential to a route that needs one is refused before its body is read.

FastAPI reads and parses a request's body before it solves the endpoint's dependencies, and
authentication is one of them; the NUL guard (``web.problems.refuse_nul``), the first dependency of
the API's routes, reads the body too. A stranger's request was therefore read and parsed up to
``NEIGOU_MAX_BODY_BYTES`` before its 401: a burst of anonymous 16 MB posts cost memory and CPU that
no caller of ours had asked for.

Which routes need a credential is read from the routes themselves: a route with an
``auth.dependencies.Authenticator`` anywhere among its dependencies answers every caller without a
credential 401, so that answer is given first, from the headers and cookies alone, by the same
``Authenticator.credential`` the dependency calls: 401 problem+json on the API, the sign-in redirect
on console and workspace pages (``web.problems``). A request that presents a credential, valid or not,
goes on as before, and so does every request to a route without an authenticator (sign-in, a shopper's
claim, the signed webhooks, public pages) and every request with a method the route does not serve
(its 405). For a caller without a credential, the 401 now also comes before what a dependency solved
ahead of authentication would have said (a NUL's 422, an unknown id's 404, a malformed body's 422).
On pages one layer reads before any route is chosen: the CSRF check (``web.forms.FormProtection``)
reads an urlencoded body whole when the request carries any cookie: it reads at most
``web.forms.SESSIONLESS_FORM_BYTES`` (64 KiB) without a session and the JSON limit
(``NEIGOU_MAX_JSON_BODY_BYTES``, 1 MiB) with one, past which the request is refused 413.
The gate reads the routes once per process, as ``web.app._shared_routes`` builds them: like those
routes, it assumes no app overrides a dependency (an overridden authenticator would still be asked).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.routing import BaseRoute, compile_path
from starlette.types import Receive, Scope, Send

from neigou.auth.dependencies import Authenticator
from neigou.kit.errors import ProblemError
from neigou.web import route_tree

_Handle = Callable[[Scope, Receive, Send], Awaitable[None]]


def authenticators(dependant: Dependant) -> tuple[Authenticator, ...]:
    """The authenticators among a route's dependencies at any depth, in the order FastAPI solves
    them (a dependency's own dependencies before it), each once."""
    found: list[Authenticator] = []
    for dependency in dependant.dependencies:
        found.extend(authenticators(dependency))
    if isinstance(dependant.call, Authenticator):
        found.append(dependant.call)
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class CredentialGate:
    """A route's ``handle`` behind the check: a request of a method the route serves must present
    the credential every one of ``checks`` asks for before the route reads anything."""

    handle: _Handle
    methods: frozenset[str]
    checks: tuple[Authenticator, ...]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (not self.methods or scope["method"] in self.methods):
            request = Request(scope)
            for check in self.checks:
                check.credential(request)  # raises what the dependency would (web.problems renders it)
        await self.handle(scope, receive, send)


def needed(routes: Iterable[BaseRoute]) -> dict[int, tuple[APIRoute, tuple[Authenticator, ...]]]:
    """Every FastAPI route below ``routes`` with the authenticators its dependencies (those of the
    routers that include it too) solve, by the route's id; a route included twice keeps only the
    authenticators both inclusions solve."""
    found: dict[int, tuple[APIRoute, tuple[Authenticator, ...]]] = {}
    for route, dependant in route_tree.api_routes(routes):
        checks = authenticators(dependant)
        if id(route) in found:
            checks = tuple(check for check in found[id(route)][1] if check in checks)
        found[id(route)] = (route, checks)
    return found


def install(routes: Iterable[BaseRoute]) -> None:
    """Put the check in front of every route below ``routes`` that needs a credential (once: a route
    already behind one is left as it is)."""
    for route, checks in needed(routes).values():
        if checks and not isinstance(vars(route).get("handle"), CredentialGate):
            gate = CredentialGate(route.handle, frozenset(route.methods or ()), checks)
            # The instance's own handle, outermost (see web.route_tree).
            route.handle = gate  # type: ignore[method-assign]


@dataclass(frozen=True)
class Gated:
    """A path behind a ``CredentialGate``: its full pattern, the methods the gate checks, its checks."""

    pattern: re.Pattern[str]
    methods: frozenset[str]
    checks: tuple[Authenticator, ...]


def gated(routes: Iterable[BaseRoute]) -> tuple[Gated, ...]:
    """Every path below ``routes`` whose route stands behind a gate (``install``), by its full path."""
    found: list[Gated] = []
    for top in routes:
        pairs = [(top, top.path)] if isinstance(top, APIRoute) else []
        contexts = getattr(top, "effective_route_contexts", None)
        for context in contexts() if callable(contexts) else ():
            if isinstance(context.original_route, APIRoute):
                pairs.append((context.original_route, context.path))
        for route, path in pairs:
            gate = vars(route).get("handle")
            if isinstance(gate, CredentialGate):
                found.append(Gated(compile_path(path)[0], gate.methods, gate.checks))
    return tuple(found)


def refused_unread(scope: Scope, paths: Iterable[Gated]) -> bool:
    """Whether a gate will refuse the request for want of a credential before its body is read: the
    first gated path it matches (with a method the gate checks) asks for a credential it lacks."""
    route_path = scope["path"]
    for path in paths:
        if path.pattern.match(route_path) and (not path.methods or scope["method"] in path.methods):
            request = Request(scope)
            try:
                for check in path.checks:
                    check.credential(request)
            except ProblemError:
                return True
            return False
    return False

"""Route selection by the shape of the path: a request tries only the app's routes that could match it.

The app's router tries its top-level routes in order until one matches. There are about fifty (the
API, each console and workspace page router, the redirect, the static files), each an included router
that tries its own routes in turn, so a workspace page registered late was reached after about 350
failed pattern matches: over half a millisecond of CPU per request before any work began.

``RouteIndex`` files every top-level route under the segments of the paths it serves (a parameter is
a wildcard segment, a ``{…:path}`` parameter matches the rest), and ``IndexedRouting`` stands where the
router's own dispatch stood: for each HTTP request it picks the routes whose patterns could match the
path, keeping the app's order, and lets a copy of the router that holds only those routes choose among
them with its own rules (first full match, else the first that matched the path with another method).
What none of those routes answers is a miss: no route matches the path, so the full scan would look
for the path with its trailing slash added or taken away and redirect there, else answer 404. When the
index has no candidate for that other path either, the router's own 404 is answered at once; otherwise
the miss goes to the router's own dispatch over every route. So the answer is always the one the full
scan gives: the index only skips routes that cannot match. A route whose paths it cannot read (a mount)
is always tried; the index is rebuilt when a route is added anywhere below the app; and a router with
FastAPI's low-priority ``frontend()`` routes (tried before the trailing-slash redirect) is left to its
own dispatch.

An included router (the API's, with a router of its own per domain below it) tries its routes in turn
too, twice a request (once to tell the app's router it matches, once to handle it), and so does each
router below it: a late API route was reached after a few hundred failed matches. So a candidate that
is an included router is narrowed the same way: a copy of it whose candidates are only those of its
routes (and of the routers below it, narrowed in turn) whose patterns could match the path, in their
order. It chooses what the whole router chooses, as the routes left out cannot match.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

WILD = "*"  # one segment, whatever it holds
# The scope key under which ``IndexedRouting`` leaves the top-level routes a request was matched among
# (every route that could match its path): what a 405's ``Allow`` is read from (``allowed``).
CANDIDATES = "neigou.route_candidates"
_PARAM = re.compile(r"{[a-zA-Z_][a-zA-Z0-9_]*(:[a-zA-Z_][a-zA-Z0-9_]*)?}")


@dataclass
class _Node:
    """The routes whose patterns reach this point: ``ends`` match a path ending here, ``rest`` any
    path that continues from here (a ``{…:path}`` parameter)."""

    children: dict[str, _Node] = field(default_factory=dict)
    ends: set[int] = field(default_factory=set)
    rest: set[int] = field(default_factory=set)


def segments(path: str) -> list[str]:
    """``/a/b/`` → ``["a", "b", ""]``: the pieces a pattern and a path are compared by."""
    return path.split("/")[1:] if path.startswith("/") else [path]


def route_paths(route: BaseRoute) -> list[str] | None:
    """The raw paths (parameters with their convertors) a top-level route serves, with every prefix
    applied; None when they cannot be read, and the route is then tried for every request."""
    if isinstance(route, Route):  # APIRoute included
        return [route.path]
    if _candidates_of(route) is None and hasattr(route, "original_route"):  # a route of an included router
        return _context_paths([route])
    contexts = getattr(route, "effective_route_contexts", None)
    low_priority = getattr(route, "effective_low_priority_routes", None)
    if contexts is None or low_priority is None or low_priority():
        return None
    return _context_paths(contexts())


def _context_paths(contexts: Iterable[Any]) -> list[str] | None:
    """The paths the routes of an included router serve, with their prefixes; None when one of them is
    not a plain route (a mount, FastAPI's frontend routes)."""
    paths = []
    for context in contexts:
        if not isinstance(context.original_route, (APIRoute, Route)):
            return None
        served = context.starlette_route if context.starlette_route is not None else context
        paths.append(str(served.path))
    return paths


def _candidates_of(route: object) -> list[Any] | None:
    """What an included router tries, in order (its routes, and the routers included in it); None for
    a route that is not an included router."""
    candidates = getattr(route, "effective_candidates", None)
    return candidates() if callable(candidates) and hasattr(route, "original_router") else None


class RouteIndex:
    """Top-level routes by the segments of their paths (see the module's docstring)."""

    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        self.root = _Node()
        self.always: set[int] = set()
        for number, route in enumerate(routes):
            paths = route_paths(route)
            if paths is None:
                self.always.add(number)
            for path in paths or ():
                self._file(number, path)

    def _file(self, number: int, path: str) -> None:
        node = self.root
        for piece in segments(path):
            params = _PARAM.findall(piece)
            if ":path" in params:  # matches "/"s too: everything from here on
                node.rest.add(number)
                return
            key = WILD if _PARAM.search(piece) else piece
            node = node.children.setdefault(key, _Node())
        node.ends.add(number)

    def candidates(self, path: str) -> tuple[int, ...]:
        """The routes, by position, whose patterns could match ``path``, in order."""
        found = set(self.always)
        pieces = segments(path)
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            found.update(node.rest)
            if depth == len(pieces):
                found.update(node.ends)
                continue
            for key in (pieces[depth], WILD):
                child = node.children.get(key)
                if child is not None:
                    stack.append((child, depth + 1))
        return tuple(sorted(found))


def routers_below(router: APIRouter) -> tuple[APIRouter, ...] | None:
    """``router`` and every router included below it, each once; None when FastAPI keeps no count of
    a router's routes (``_routes_version``, private: its own ``_get_routes_version`` sums them)."""
    found: dict[int, APIRouter] = {}
    stack = [router]
    while stack:
        current = stack.pop()
        if id(current) in found:
            continue
        if not isinstance(getattr(current, "_routes_version", None), int):
            return None
        found[id(current)] = current
        stack.extend(
            below
            for route in current.routes
            if (below := getattr(route, "original_router", None)) is not None
        )
    return tuple(found.values())


@dataclass(frozen=True)
class _Built:
    """An index and its narrowed routers, for one state of the routes (swapped in whole)."""

    routes: tuple[BaseRoute, ...]
    routers: tuple[APIRouter, ...] | None  # the routers below the app whose counts make ``version``
    version: object
    index: RouteIndex | None  # None: dispatch over every route (see ``_build``)
    narrowed: dict[tuple[Any, ...], APIRouter] = field(default_factory=dict)
    # Each route's candidates and index over them (None: not narrowed), by id (with the route itself).
    branches: dict[int, tuple[object, list[Any], RouteIndex | None]] = field(default_factory=dict)


class IndexedRouting:
    """The router's dispatch, trying only the candidates of ``RouteIndex`` (see the module)."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.full: ASGIApp = router.middleware_stack  # the router's own dispatch over every route
        self._built = _Built((), None, None, None)

    def install(self) -> None:
        """Stand in for the router's dispatch (a router with middleware of its own is refused: the
        narrowed copies would step past it)."""
        if self.router.middleware_stack != self.router.app:
            raise ValueError("the router has middleware of its own; index the routes inside it")
        self.router.middleware_stack = self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        narrowed = self.narrowed(get_route_path(scope)) if scope["type"] == "http" else None
        if narrowed is None:
            await self.full(scope, receive, send)
            return
        scope.setdefault("router", self.router)  # url_for sees every route
        scope[CANDIDATES] = narrowed.routes
        await narrowed.app(scope, receive, send)

    def _version(self, routers: tuple[APIRouter, ...] | None) -> object:
        """What changes when a route is added anywhere below the router: the sum of FastAPI's count
        of each router's routes, over the routers below it when the index was built (a router
        included since then was included into one of them, whose count went up). FastAPI's own
        ``_get_routes_version`` gives the same sum by walking the tree (about 27 µs a request); without
        either, only the top-level list is watched."""
        if routers is not None:
            return sum(router._routes_version for router in routers)
        counted = getattr(self.router, "_get_routes_version", None)
        return counted() if callable(counted) else None

    def _build(self, routes: tuple[BaseRoute, ...]) -> _Built:
        routers = routers_below(self.router)
        version = self._version(routers)
        # Low-priority routes (FastAPI's ``frontend()``) are tried before the trailing-slash redirect by
        # a router's own loop: a narrowed copy would answer a miss from them, not redirect. None here.
        low = getattr(self.router, "_iter_low_priority_routes", None)
        if not callable(low) or next(iter(low()), None) is not None:
            return _Built(routes, routers, version, None)
        return _Built(routes, routers, version, RouteIndex(routes))

    def narrowed(self, path: str) -> APIRouter | None:
        """A copy of the router holding only the routes that could match ``path`` (what none of them
        answers is a miss: see ``_miss``); None to use the full dispatch itself."""
        routes, built = tuple(self.router.routes), self._built
        if routes != built.routes or self._version(built.routers) != built.version:
            built = self._built = self._build(routes)
        if built.index is None:
            return None
        picked = tuple(
            (number, self._picks(built, routes[number], path)) for number in built.index.candidates(path)
        )
        narrowed = built.narrowed.get(picked)
        if narrowed is None:
            narrowed = copy.copy(self.router)
            narrowed.routes = [_narrowed_branch(routes[number], below) for number, below in picked]
            narrowed.redirect_slashes = False  # a miss is redirected by the full dispatch
            narrowed.default = functools.partial(self._miss, built)
            built.narrowed[picked] = narrowed
        return narrowed

    def _picks(self, built: _Built, route: Any, path: str) -> tuple[Any, ...] | None:
        """Which of an included router's candidates could match ``path``, by position, each with its own
        picks (an included router's); None for a route kept whole (not an included router, or one
        whose paths cannot be read)."""
        known = built.branches.get(id(route))
        if known is None or known[0] is not route:
            candidates = _candidates_of(route)
            readable = candidates is not None and route_paths(route) is not None
            index = RouteIndex(candidates) if candidates is not None and readable else None
            known = built.branches[id(route)] = (route, candidates or [], index)
        _, candidates, index = known
        if index is None:
            return None
        return tuple(
            (number, self._picks(built, candidates[number], path)) for number in index.candidates(path)
        )

    def may_redirect(self, scope: Scope, built: _Built) -> bool:
        """Whether the full dispatch would answer a miss with a trailing-slash redirect: a route matches
        the path with its trailing slash added or taken away, as the router's own dispatch makes it
        (only the index's candidates for that path are tried)."""
        route_path = get_route_path(scope)
        if scope["type"] != "http" or not self.router.redirect_slashes or route_path == "/":
            return False
        if built.index is None:
            return True
        other: dict[str, Any] = dict(scope)
        other["path"] = other["path"].rstrip("/") if route_path.endswith("/") else other["path"] + "/"
        return any(
            built.routes[number].matches(other)[0] is not Match.NONE
            for number in built.index.candidates(get_route_path(other))
        )

    async def _miss(self, built: _Built, scope: Scope, receive: Receive, send: Send) -> None:
        """No candidate matched: the router's own 404 at once when no redirect is possible (what the full
        scan ends with after finding neither), else the full dispatch, which redirects."""
        if self.may_redirect(scope, built):
            await self.full(scope, receive, send)
            return
        await self.router.default(scope, receive, send)


def _narrowed_branch(route: BaseRoute, picks: tuple[Any, ...] | None) -> BaseRoute:
    """``route`` itself, or a copy of an included router that tries only the picked candidates (the
    routes whose patterns could match the request's path, and the routers below, narrowed in turn).
    FastAPI asks a router's candidates of ``effective_candidates`` both to match and to handle."""
    if picks is None:
        return route
    candidates = _candidates_of(route) or []
    chosen = [_narrowed_branch(candidates[number], below) for number, below in picks]
    twin: Any = copy.copy(route)
    twin.effective_candidates = lambda: chosen
    narrowed: BaseRoute = twin
    return narrowed


def _leaves(route: BaseRoute) -> Iterable[Any]:
    """The routes a top-level route chooses among (an included router's, with their prefixes), or
    the route itself."""
    contexts = getattr(route, "effective_route_contexts", None)
    return contexts() if callable(contexts) else (route,)


def allowed(scope: Scope, named: str) -> str:
    """A 405's ``Allow``: every method some route serving the request's path accepts, with ``named``
    (the methods the refusing route named), sorted and comma-separated.

    A router answers a 405 from the first route that matched the path with another method, and names
    only that route's methods: where a path's GET and POST are two routes (of one router or of two),
    it named one of them. The routes tried are the index's candidates (every route that could match
    the path), else every route of the router."""
    methods = {m.strip() for m in named.split(",") if m.strip()}
    routes = scope.get(CANDIDATES)
    if routes is None:
        router = scope.get("router")
        routes = router.routes if router is not None else ()
    probe = {
        "type": "http",
        "path": scope["path"],
        "root_path": scope.get("root_path", ""),
        "method": scope["method"],
        "headers": scope.get("headers", []),
    }
    for route in routes:
        for leaf in _leaves(route):
            served = getattr(getattr(leaf, "starlette_route", None) or leaf, "methods", None)
            if served and leaf.matches(dict(probe))[0] is not Match.NONE:
                methods.update(served)
    return ", ".join(sorted(methods))

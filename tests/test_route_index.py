"""The route index (``web.route_index``) only skips routes that cannot match: for every path the app
serves, filled in, with and without a trailing slash, and for paths it does not serve, the route the
narrowed routes choose is the one the full scan chooses, for every method; and over HTTP a redirect,
a 405 (naming every method of the path), a 404 and a route added after the app was built answer as
without the index."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Receive, Scope, Send

from neigou.web import problems
from neigou.web.route_index import IndexedRouting, RouteIndex, _leaves, route_paths

pytestmark = pytest.mark.world_per_module

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
ODD_PATHS = [
    "/",
    "",
    "/nowhere",
    "/api",
    "/api/v1",
    "/api/v1/",
    "/console/",
    "/m/",
    "/static/app.css",
    "/l/abc",
]


def _filled(path: str) -> str:
    """A concrete path the pattern matches: numbers for parameters, two segments for a ``:path`` one."""
    return _PARAM.sub(lambda m: "a/b.css" if m.group(2) == ":path" else "7", path)


def _chosen(routes: list[BaseRoute], path: str, method: str) -> BaseRoute | None:
    """What a router's dispatch chooses: the first full match, else the first partial one."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    partial = None
    for route in routes:
        match, _ = route.matches(dict(scope))
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _served_paths(routes: list[BaseRoute]) -> list[str]:
    paths = [_filled(p) for route in routes for p in route_paths(route) or ()]
    return sorted({variant for p in paths for variant in (p, p.rstrip("/") or "/", p + "/")})


@pytest.fixture(scope="module")
def routes(module_app: FastAPI) -> list[BaseRoute]:
    return list(module_app.router.routes)


@pytest.mark.routing_only  # every path and method: about 9 s, the same on either database
def test_the_narrowed_routes_choose_what_the_full_scan_chooses(routes: list[BaseRoute]) -> None:
    index = RouteIndex(routes)
    paths = _served_paths(routes) + ODD_PATHS
    assert len(paths) > 500
    for path in paths:
        narrowed = [routes[n] for n in index.candidates(path)]
        for method in METHODS:
            assert _chosen(narrowed, path, method) is _chosen(routes, path, method), (path, method)


def test_a_late_page_is_reached_past_few_routes(routes: list[BaseRoute]) -> None:
    """The point of the index: a workspace page tries a handful of top-level routes, not all."""
    index = RouteIndex(routes)
    assert len(routes) > 40
    for path in ("/m/customers", "/console/programs/7/reconciliation", "/m/links", "/api/v1/me"):
        picked = index.candidates(path)
        assert 0 < len(picked) <= 6, (path, picked)
        assert _chosen([routes[n] for n in picked], path, "GET") is not None, path


def _leaf(routes: list[BaseRoute], path: str, method: str) -> object:
    """The route that answers: what the routers choose, followed down through the included routers
    (each of which chooses among its own candidates, as FastAPI's dispatch does)."""
    scope = {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
    chosen: Any = _chosen(routes, path, method)
    while chosen is not None and callable(getattr(chosen, "effective_candidates", None)):
        _, _, chosen, _ = chosen._match(dict(scope))
    return chosen


@pytest.mark.routing_only  # every path and method: about 9 s, the same on either database
def test_the_narrowed_included_routers_choose_what_the_full_scan_chooses(module_app: FastAPI) -> None:
    """The included routers of the narrowed routes (the API's, with a router per domain below it) hold
    only their routes that could match the path: the route that answers is the full scan's."""
    routes = list(module_app.router.routes)
    routing = IndexedRouting(APIRouter(routes=routes))
    for path in _served_paths(routes) + ODD_PATHS:
        narrowed = routing.narrowed(path)
        assert narrowed is not None
        for method in METHODS:
            assert _leaf(narrowed.routes, path, method) is _leaf(routes, path, method), (path, method)


def test_a_late_api_route_is_reached_past_few_routes(module_app: FastAPI) -> None:
    """The API's router holds a router per domain: a late one's route is tried among a handful of
    routes, not after every route of the API."""
    routing = IndexedRouting(module_app.router)
    for path in ("/api/v1/risk/cases/7", "/api/v1/me", "/api/v1/programs/7/members"):
        narrowed = routing.narrowed(path)
        assert narrowed is not None
        tried = [leaf for route in narrowed.routes for leaf in _leaves(route)]
        assert 0 < len(tried) <= 4, (path, len(tried))
        assert _leaf(narrowed.routes, path, "GET") is not None, path


def test_over_http_answers_are_those_of_the_full_scan(module_app: FastAPI) -> None:
    with TestClient(module_app) as client:
        assert client.get("/healthz").status_code == 200
        slash = client.get("/api/v1/me/", follow_redirects=False)  # served without the slash
        assert slash.status_code == 307
        assert slash.headers["location"].endswith("/api/v1/me")
        missing = client.get("/api/v1/nowhere")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert client.delete("/healthz").status_code == 405
        assert client.get("/static/nowhere.css").status_code == 404


def test_a_405_names_every_method_of_the_path(module_app: FastAPI) -> None:
    """Where a path's methods are separate routes (the programs' list and create, a program's read and
    edit, the sign-in page and its form), a 405 names them all, not only the first route's."""
    with TestClient(module_app) as client:
        for method, path, allow in (
            ("PUT", "/api/v1/programs", "GET, POST"),
            ("DELETE", "/api/v1/programs/7", "GET, PATCH"),
            ("PUT", "/console/login", "GET, POST"),
            ("DELETE", "/healthz", "GET"),
        ):
            refused = client.request(method, path)
            assert refused.status_code == 405, path
            if path.startswith("/console/"):  # a page's: a page (tests/web/test_page_errors.py)
                assert 'data-code="method_not_allowed"' in refused.text
            else:
                assert refused.json()["code"] == "method_not_allowed", path
            assert refused.headers["allow"] == allow, path


def test_a_405_of_the_full_dispatch_names_every_method_of_the_path() -> None:
    """Without the index (its candidates unknown) every route of the app is read: two routers, one
    with the path's GET and PATCH as two routes, the other with its DELETE."""
    first, second = APIRouter(), APIRouter()
    first.add_api_route("/things/{thing}", lambda thing: {}, methods=["GET"])
    first.add_api_route("/things/{thing}", lambda thing: {}, methods=["PATCH"])
    second.add_api_route("/things/{thing}", lambda thing: {}, methods=["DELETE"])
    app = FastAPI()
    problems.install(app)
    app.include_router(first)
    app.include_router(second)
    refused = TestClient(app).post("/things/7")
    assert (refused.status_code, refused.headers["allow"]) == (405, "DELETE, GET, PATCH")
    assert TestClient(app).post("/other").status_code == 404


def test_a_route_added_after_the_app_was_built_is_served(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200  # the index is built

        def late() -> dict[str, str]:
            return {"late": "yes"}

        app.add_api_route("/late/{thing}", late)
        assert client.get("/late/7").json() == {"late": "yes"}


def test_a_router_with_its_own_middleware_is_refused(app: FastAPI) -> None:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:  # middleware around the dispatch
        await app.router.app(scope, receive, send)

    indexed = app.router.middleware_stack
    app.router.middleware_stack = wrapped
    try:
        with pytest.raises(ValueError, match="middleware of its own"):
            IndexedRouting(app.router).install()
    finally:
        app.router.middleware_stack = indexed  # the module's app serves the tests after this one


def test_a_path_parameter_takes_the_rest_and_a_parameter_one_segment() -> None:
    def endpoint() -> None:
        return None

    routes: list[BaseRoute] = [
        Route("/files/{rest:path}", endpoint),
        Route("/files/{name}.csv", endpoint),
        Route("/a/{id:int}/b", endpoint, methods=["POST"]),
        Route("/a/{id}/b", endpoint),
        Route("/a/", endpoint),
    ]
    index = RouteIndex(routes)
    assert index.candidates("/files/x/y/z.txt") == (0,)
    assert index.candidates("/files/") == (0, 1)  # a wildcard segment may be empty: a superset
    assert index.candidates("/files/report.csv") == (0, 1)
    assert index.candidates("/a/7/b") == (2, 3)
    assert index.candidates("/a/") == (4,)
    assert index.candidates("/a") == ()
    for path in ("/files/x/y", "/files/q.csv", "/a/7/b", "/a/x/b", "/a/", "/b"):
        narrowed = [routes[n] for n in index.candidates(path)]
        for method in METHODS:
            assert _chosen(narrowed, path, method) is _chosen(routes, path, method), (path, method)


def test_a_route_added_to_an_included_router_after_the_index_was_built_is_chosen() -> None:
    """The index is rebuilt when any router below the app gains a route, not only the top-level list:
    otherwise a later router whose pattern also matches would answer in the new route's place."""
    first, second = APIRouter(), APIRouter()

    @first.get("/a/one")
    def one() -> str:
        return "one"

    @second.get("/items/{name}")
    def item(name: str) -> str:
        return f"B-{name}"

    app = FastAPI()
    app.include_router(first)
    app.include_router(second)
    IndexedRouting(app.router).install()
    with TestClient(app) as client:
        assert client.get("/items/special").json() == "B-special"

        @first.get("/items/special")
        def special() -> str:
            return "A-special"

        assert client.get("/items/special").json() == "A-special"
        assert client.get("/items/other").json() == "B-other"


MISSES = [
    "/nowhere",
    "/nowhere/",
    "/nowhere/deep/er",
    "/api/v1/nowhere",
    "/api/v1/nowhere/",
    "/api/v1/me/",  # served without the slash: a redirect
    "/api/v1/programs/7/",
    "/console/programs/",
    "/m/links/",
    "/healthz/",
    "/static",
    "/a//",
    "//",
    "/api/v1/me//",
]


def _answers(client: TestClient, method: str, path: str) -> tuple[int, str | None, str | None, bytes]:
    answer = client.request(method, path, follow_redirects=False)
    return answer.status_code, answer.headers.get("location"), answer.headers.get("allow"), answer.content


def test_a_miss_is_answered_as_the_full_scan_answers_it(module_app: FastAPI) -> None:
    """404s, trailing-slash redirects and 405s, with the index and with the router's own dispatch."""
    indexed = module_app.router.middleware_stack
    assert isinstance(indexed, IndexedRouting)

    async def full_scan(scope: Scope, receive: Receive, send: Send) -> None:
        await indexed.full(scope, receive, send)

    with TestClient(module_app) as client:
        for path in MISSES:
            for method in ("GET", "POST", "DELETE"):
                module_app.router.middleware_stack = full_scan
                expected = _answers(client, method, path)
                module_app.router.middleware_stack = indexed
                assert _answers(client, method, path) == expected, (method, path)
        for method, path in (("DELETE", "/healthz"), ("PUT", "/api/v1/me")):  # not allowed: a 405
            module_app.router.middleware_stack = full_scan
            expected = _answers(client, method, path)
            module_app.router.middleware_stack = indexed
            assert expected[0] == 405
            assert _answers(client, method, path) == expected, (method, path)


def test_a_miss_without_a_redirect_skips_the_full_scan(module_app: FastAPI) -> None:
    indexed = module_app.router.middleware_stack
    assert isinstance(indexed, IndexedRouting)
    scans: list[str] = []
    full = indexed.full

    async def counted(scope: Scope, receive: Receive, send: Send) -> None:
        scans.append(scope.get("path", scope["type"]))
        await full(scope, receive, send)

    indexed.full = counted
    try:
        with TestClient(module_app) as client:
            assert client.get("/api/v1/nowhere").status_code == 404
            assert client.get("/nowhere/at/all").status_code == 404
            assert client.get("/api/v1/me/", follow_redirects=False).status_code == 307
    finally:
        indexed.full = full
    assert [scan for scan in scans if scan != "lifespan"] == ["/api/v1/me/"]  # the miss that redirects


def test_a_miss_is_redirected_exactly_when_the_full_scan_would(routes: list[BaseRoute]) -> None:
    """For every served path with and without its trailing slash, and odd ones: when no candidate
    matches, the full dispatch is asked exactly when some route matches the other path (it redirects);
    a plain miss is answered 404 at once."""
    app_router = APIRouter()
    app_router.routes = routes
    routing = IndexedRouting(app_router)
    built = routing._build(tuple(routes))
    index = built.index
    assert index is not None
    plain = 0
    for path in _served_paths(routes) + ODD_PATHS + MISSES:
        if _chosen([routes[n] for n in index.candidates(path)], path, "GET") is not None:
            continue
        scope = {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": []}
        other = path.rstrip("/") if path.endswith("/") else path + "/"
        redirects = path != "/" and _chosen(routes, other, "GET") is not None
        assert routing.may_redirect(scope, built) is redirects, path
        plain += not redirects
    assert plain > 10


def test_the_version_sees_a_router_included_below() -> None:
    """The index watches the counts of the routers below the app when it was built: a router later
    included into one of them is seen, as FastAPI's own sum over the whole tree sees it."""
    first, nested, below = APIRouter(), APIRouter(), APIRouter()

    @first.get("/a/one")
    def one() -> str:
        return "one"

    @below.get("/nested/{thing}")
    def nested_thing(thing: str) -> str:
        return f"nested-{thing}"

    app = FastAPI()
    app.include_router(first)
    indexed = IndexedRouting(app.router)
    indexed.install()
    with TestClient(app) as client:
        assert client.get("/a/one").json() == "one"  # the index is built
        built = indexed._built
        assert (
            indexed._version(built.routers) == app.router._get_routes_version() == built.version
        )  # no repeats
        nested.include_router(below)  # not yet below the app: nothing changes
        assert indexed._version(built.routers) == built.version
        assert client.get("/nested/7").status_code == 404
        first.include_router(nested)  # into a router already below the app
        assert client.get("/nested/7").json() == "nested-7"
        nested.include_router(below, prefix="/again")  # into one included since the index was built
        assert client.get("/again/nested/8").json() == "nested-8"

"""The routes of an app and the malformed calls of each, for ``tests/test_route_fuzz.py``.

Routes are read from the app itself (every FastAPI route of every inclusion, with the parameters FastAPI
solves for it, and the share-link redirect), so a route is fuzzed the day it is added. An API route's
valid call (its path with the world's ids, its body, who may call it) is the authorization matrix's
case (``tests.authz.cases``); a page's path ids come from the same world by their parameter's name.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import Route as StarletteRoute

from neigou.auth.models import Role
from neigou.web import problems
from neigou.web.paths import is_page
from tests.authz.cases import ALL_CASES
from tests.authz.matrix import Case, World, _filled
from tests.conftest import bearer
from tests.on_loop import send_all
from tests.row_changes import RowCounts
from tests.server_errors import Unlogged

LONG = "x" * 5_000
# Raw (already percent-encoded) values put in place of path and query parameters, by the parameter's kind.
BAD_IDS = ["abc", str(2**63), str(-(2**63) - 1), str(10**30), "-1", "0", "%00", "%ff"]
TIMES = ["2026-02-30", "2026-13", "9999-12-31", "0001-01-01", "0001-01-01T00:00"]
BAD_PARAMS = {
    "number": [*BAD_IDS, LONG, "1e400"],
    "time": ["abc", "%00", "%ff", LONG, "2026-02-30", "25:61", "9999-12-31T23:59:59", "0001-01-01"],
    "choice": ["abc", "%00", "%ff", LONG],
    # Text the route reads itself: a number, a day or a month written as text among them.
    "text": [*BAD_IDS[:2], "-1", "0", *BAD_IDS[-2:], "%ed%a0%80", LONG, *TIMES],
}
# Values put in place of each JSON field; FLOAT_TOKENS are written into the JSON text as they are.
BAD_FIELDS: list[Any] = [
    "abc",
    2**63,
    10**30,
    None,
    [],
    "nul\x00",
    "\ud800",
    LONG,
    "0001-01-01T00:00:00+00:00",
]
FLOAT_TOKENS = ["1e400", "NaN"]
DEEP = "[" * 1_000 + "]" * 1_000
HUGE = json.dumps({"x": "x" * (10 * 1024 * 1024)}).encode()


@dataclass(frozen=True)
class Route:
    """One route: its method and path, its parameters by kind, its form fields, its valid call."""

    method: str
    path: str
    path_params: tuple[str, ...]
    query: tuple[str, ...]
    form: tuple[str, ...]
    json_body: bool
    roles: frozenset[Role]
    case: Case | None = None

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


@dataclass
class Call:
    """One request, its URL already encoded."""

    route: Route
    url: str
    raw: bytes | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0  # the answer's, once sent

    def describe(self) -> str:
        sent = (self.raw or b"")[:200].decode("utf-8", "replace") if self.raw is not None else self.form
        url = self.url if len(self.url) < 200 else self.url[:200] + "…"
        return f"{self.route.method} {url} {str(sent)[:300] if sent else ''}"


def _kind(annotation: Any) -> str:
    options = typing.get_args(annotation) or (annotation,)
    for option in options:
        if option in {int, float}:
            return "number"
        if option in {dt.date, dt.datetime}:
            return "time"
        if isinstance(option, type) and issubclass(option, enum.Enum):
            return "choice"
    return "text"


def _all_params(dependant: Any, kind: str) -> Iterator[Any]:
    yield from getattr(dependant, kind)
    for inner in dependant.dependencies:
        yield from _all_params(inner, kind)


def _case_path(case: Case) -> str:
    """The matrix's path in the schema's spelling (its placeholders matched by position, not name)."""
    return case.path.split("?")[0]


def _shape(path: str) -> tuple[str, ...]:
    return tuple("{}" if part.startswith("{") else part for part in path.split("/"))


def page_roles(path: str) -> frozenset[Role]:
    """Who opens a page: the merchant portal's merchant, the console's operator, the workspace's member;
    the rest (sign-in and signed-out pages, share and join pages, the redirect, health) is public."""
    if path.startswith("/console/merchant"):
        return frozenset({Role.MERCHANT})
    if path.startswith("/console") and not path.startswith("/console/login"):
        return frozenset({Role.OPERATOR})
    if path.startswith("/m/") and path not in {"/m/login", "/m/expired", "/m/signed-out"}:
        return frozenset({Role.MEMBER})
    return frozenset()


def routes(app: FastAPI) -> list[Route]:
    """Every route of the app with its parameters; an API route with its matrix case."""
    cases = {(c.method, _shape(_case_path(c))): c for c in ALL_CASES}
    found = []
    for top in app.routes:
        if isinstance(top, StarletteRoute) and not isinstance(top, APIRoute) and top.path == "/l/{code}":
            found.append(Route("GET", top.path, ("code:text",), (), (), False, frozenset()))
        contexts = getattr(top, "effective_route_contexts", None)
        for context in contexts() if callable(contexts) else ():
            route, dependant = context.original_route, context.dependant
            if not isinstance(route, APIRoute) or dependant is None:
                continue
            for method in sorted(context.methods):
                body = list(_all_params(dependant, "body_params"))
                forms = tuple(p.alias for p in body if type(p.field_info).__name__ in {"Form", "File"})
                case = cases.get((method, _shape(context.path)))
                found.append(
                    Route(
                        method=method,
                        path=context.path,
                        path_params=tuple(
                            f"{p.alias}:{_kind(p.field_info.annotation)}"
                            for p in _all_params(dependant, "path_params")
                        ),
                        query=tuple(
                            f"{p.alias}:{_kind(p.field_info.annotation)}"
                            for p in _all_params(dependant, "query_params")
                        ),
                        form=forms,
                        json_body=bool(body) and not forms,
                        roles=case.allowed if case else page_roles(context.path),
                        case=case,
                    )
                )
    return found


# A page's path parameter, by name, and the world's id it takes.
PAGE_IDS = {
    "program_id": "program",
    "member_id": "member",
    "coupon_id": "coupon_id",
    "promotion_id": "promotion_id",
    "token_id": "token",
    "review_id": "merchant_review",
    "case_id": "risk_case_id",
}


def valid_url(route: Route, ids: dict[str, Any]) -> tuple[list[str], str]:
    """The route's path split in segments with valid values, and a valid query."""
    if route.case is not None:
        filled = route.case.path.format(**ids)
        path, _, query = filled.partition("?")
        return path.split("/"), query
    parts = []
    for part in route.path.split("/"):
        if not part.startswith("{"):
            parts.append(part)
            continue
        name, suffix = _placeholder(part)
        parts.append(f"{ids.get(PAGE_IDS.get(name, name), 999_999)}{suffix}")
    return parts, ""


def _placeholder(part: str) -> tuple[str, str]:
    """A path segment's parameter name and what follows it ("{sku}.png": "sku", ".png")."""
    name, _, suffix = part[1:].partition("}")
    return name, suffix


def param_calls(route: Route, ids: dict[str, Any], headers: dict[str, str]) -> Iterator[Call]:
    """Each path and query parameter given each bad value in turn, and every query parameter twice."""
    parts, query = valid_url(route, ids)
    base = "/".join(parts)
    joiner = "&" if query else ""
    kinds = dict(spec.split(":") for spec in route.path_params)
    slots = {i: _placeholder(part) for i, part in enumerate(route.path.split("/")) if part.startswith("{")}
    body = _seed(route, ids)
    for slot, (name, suffix) in slots.items():
        for value in BAD_IDS + ([LONG] if kinds.get(name, "text") == "text" else []):
            bad = [*parts[:slot], value + suffix, *parts[slot + 1 :]]
            yield Call(route, "/".join(bad) + (f"?{query}" if query else ""), body, headers=headers)
    for spec in route.query:
        name, kind = spec.split(":")
        for value in BAD_PARAMS[kind]:
            yield Call(route, f"{base}?{query}{joiner}{quote(name)}={value}", body, headers=headers)
    if route.query:
        repeated = "&".join(f"{quote(s.split(':')[0])}=1&{quote(s.split(':')[0])}=abc" for s in route.query)
        yield Call(route, f"{base}?{query}{joiner}{repeated}", body, headers=headers)


def _seed(route: Route, ids: dict[str, Any]) -> bytes | None:
    if not route.json_body:
        return None
    case = route.case
    body = (case.body(ids) if callable(case.body) else case.body) if case else {}
    return json.dumps(_filled(body, ids)).encode()


def _with(body: dict[str, Any], name: str, value: Any) -> bytes:
    return json.dumps({**body, name: value}).encode()


def body_calls(route: Route, ids: dict[str, Any], headers: dict[str, str]) -> Iterator[Call]:
    """A JSON body with each field of the wrong type, missing, or one too many; a deep, huge or
    non-finite body."""
    parts, query = valid_url(route, ids)
    url = "/".join(parts) + (f"?{query}" if query else "")
    seed = _seed(route, ids)
    if seed is None:
        return
    headers = {**headers, "content-type": "application/json"}
    for raw in (DEEP.encode(), HUGE, b"NaN"):
        yield Call(route, url, raw, headers=headers)
    body = json.loads(seed)
    if not isinstance(body, dict):
        return
    yield Call(route, url, _with(body, "unexpected_field", 1), headers=headers)
    for name in body:
        yield Call(
            route, url, json.dumps({k: v for k, v in body.items() if k != name}).encode(), headers=headers
        )
        for value in BAD_FIELDS:
            yield Call(route, url, _with(body, name, value), headers=headers)
        for token in FLOAT_TOKENS:
            raw = _with(body, name, "@@").replace(b'"@@"', token.encode())
            yield Call(route, url, raw, headers=headers)
        yield Call(route, url, _with(body, name, "@@").replace(b'"@@"', DEEP.encode()), headers=headers)


FORM_VALUES = ["", "abc", str(2**63), "-1", "nul\x00", LONG, "1e400", "2026-02-30", "9999-12-31T23:59"]
FORM_VALUES += ["0001-01-01T00:00"]


def form_calls(route: Route, ids: dict[str, Any], headers: dict[str, str]) -> Iterator[Call]:
    """A page's form: empty, then each declared field (or one unknown one) given each bad value."""
    parts, query = valid_url(route, ids)
    url = "/".join(parts) + (f"?{query}" if query else "")
    yield Call(route, url, form={}, headers=headers)
    names = route.form or ("unexpected_field",)
    for name in names:
        for value in FORM_VALUES:
            yield Call(route, url, form={**dict.fromkeys(names, "1"), name: value}, headers=headers)
        raw = f"{quote(name)}=%ff%00".encode()
        yield Call(route, url, raw, headers={**headers, "content-type": FORM_TYPE})


FORM_TYPE = "application/x-www-form-urlencoded"


# Answers that never end: a stream is only opened with an id that does not exist.
STREAMS = {"/console/events/{event_id}/board/stream"}
# Sign the console or the workspace out: swept last.
LAST = {"/console/logout", "/m/logout"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
SIGNED_OUT = ("/console/login", "/m/expired")


@pytest.fixture
def unlogged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 500 handler's logger stands aside: the sweep reports the exception itself."""
    monkeypatch.setattr(problems, "log", Unlogged())


def is_json(route: Route) -> bool:
    """An API or webhook route, which answers problem+json."""
    return route.api or route.path.startswith("/webhooks/")


def of(app: FastAPI, role: Role | None, *, api: bool = False) -> list[Route]:
    """The API's routes, or the pages a role opens (None: the public ones), the sign-outs last."""
    found = [
        r for r in routes(app) if is_json(r) == api and (api or (role in r.roles if role else not r.roles))
    ]
    return sorted(found, key=lambda r: r.path in LAST)


def _headers(route: Route, world: World) -> dict[str, str]:
    """A credential of a role allowed to call an API route (pages go by their session cookie)."""
    if not route.api:
        return {}
    if not route.roles:
        return world.admin
    role = Role.OPERATOR if Role.OPERATOR in route.roles else sorted(route.roles)[0]
    return bearer(world.tokens[role.value])


def calls(route: Route, world: World) -> Iterator[Call]:
    """The malformed calls of one route."""
    headers = _headers(route, world)
    yield from param_calls(route, world.ids, headers)
    if route.path in STREAMS:
        return
    if route.form or (not is_json(route) and route.method == "POST"):
        yield from form_calls(route, world.ids, headers)
    else:
        yield from body_calls(route, world.ids, headers)


def sweep(client: TestClient, factory: sessionmaker[Session], world: World, found: list[Route]) -> list[str]:
    """Every malformed call of the routes, with what went wrong with each (nothing, when all is well).
    A write refused with a 4xx must leave every table's row count as it was before it."""
    before: dict[str, Any] = {}
    rows = RowCounts(factory)  # counted again only when a row may have come or gone

    async def check(http: httpx2.AsyncClient, call: Call) -> str | None:
        write = call.route.method in WRITES
        if write and before.get("route") is not call.route:
            before.update(route=call.route, counts=rows.now())
        wrong = await _answer(http, call)
        if write and wrong is None:
            counts = rows.now()
            if call.status >= 400 and counts != before["counts"]:
                changed = {k: (before["counts"][k], v) for k, v in counts.items() if v != before["counts"][k]}
                wrong = f"{call.status} but rows were written: {changed}"
            before["counts"] = counts
        return None if wrong is None else f"{wrong}\n    ← {call.describe()}"

    sent = [call for route in found for call in calls(route, world)]
    return [wrong for wrong in send_all(client, sent, check) if wrong is not None]


async def _answer(http: httpx2.AsyncClient, call: Call) -> str | None:
    route = call.route
    try:
        if call.form is not None:
            response = await http.request(route.method, call.url, data=call.form, headers=call.headers)
        else:
            response = await http.request(route.method, call.url, content=call.raw, headers=call.headers)
    except Exception as exc:  # the app's 500 handler re-raises into the client
        return f"500 {type(exc).__name__}: {str(exc)[:300]}"
    status = call.status = response.status_code
    if status >= 500:
        return f"{status} {response.text[:300]}"
    if route.api and status in {401, 403}:
        return f"{status} (not let in: the sweep must reach the route) {response.text[:200]}"
    signed_out = response.headers.get("location", "").startswith(SIGNED_OUT) or status == 401  # an image's
    if route.roles and route.path not in LAST and signed_out:
        return "signed out (the sweep must reach the page)"
    return _refusal(route, response) if status >= 400 else None


def _refusal(route: Route, response: httpx2.Response) -> str | None:
    """What is wrong with a 4xx: the API's, the webhooks' and an image's (``web.paths.is_page``) is a
    problem+json with a code; a page's is a page a person reads (``web.error_pages``), never JSON."""
    kind = response.headers.get("content-type", "")
    status = response.status_code
    if is_json(route) or not is_page(route.path):
        if kind != "application/problem+json":
            return f"{status} with content-type {kind!r}"
        return (
            None if response.json().get("code") else f"{status} problem without a code: {response.text[:200]}"
        )
    if kind.startswith("text/html"):
        return None
    return f"{status} from a page with content-type {kind!r}: {response.text[:200]}"

"""Bad input never gets a 500: every operation of the OpenAPI schema, fed malformed input.

The operations are read from ``app.openapi()``, so a new route is covered the day it is added. Each one is
called (as an operator, and as the member for routes a member may call) with a valid body from the
authorization matrix, then with that body broken in one place at a time: not JSON, the wrong JSON type,
strings for numbers, floats for money, numbers past the database's bigint, negatives, empty and very long
strings, text holding NUL, naive datetimes and impossible dates; path ids that do not exist, are negative
or past 2**63; query parameters and headers of the wrong type. The webhook gets the same, correctly signed.
Every answer must be below 500, every 4xx a problem+json with a ``code``, and text holding a NUL is
never taken (a 2xx), on SQLite as on PostgreSQL. Failures are collected and
reported together, each with the request that caused it. Hypothesis adds random JSON in the schema's field
names. The HTML forms get their own sweep: ``tests/test_malformed_forms.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neigou.auth.models import Role
from neigou.integrations import signing, standard
from neigou.kit.clock import utcnow
from neigou.web import problems
from tests.authz.cases import ALL_CASES as CASES
from tests.authz.matrix import Case
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups import builders as groups
from tests.links import builders as links
from tests.offers import factories as offers
from tests.on_loop import send_all
from tests.orders import matrix as orders
from tests.tiers import matrix as tiers

BIG = 10**30
LONG = "x" * 10_000
# Values put, one at a time, in place of each body field.
BAD_VALUES: list[Any] = [
    "",
    LONG,
    "nul\x00",
    -1,
    BIG,
    2**63,
    1.5,
    None,
    [],
    "2026-02-30",
    "2026-03-01T10:00:00",
    "0001-01-01T06:00:00+14:00",  # a time with no UTC instant
]
BAD_INT_PARAMS: list[Any] = [999_999_999, 0, -1, 2**63, BIG, "abc", 1.5]
BAD_STR_PARAMS: list[Any] = ["does-not-exist", "x" * 2_000, "2026-13", "-1", str(BIG), "%25%00"]
BAD_QUERY_VALUES: list[Any] = [
    "abc",
    -1,
    2**63,
    BIG,
    "",
    "x" * 2_000,
    "2026-02-30",
    "2026-13",
    "0001-01-01T06:00:00+14:00",  # a time with no UTC instant
    1.5,
    "nul\x00",
]
BAD_CSV = [
    b"sku,title,price_fen,commission_rate_bp\nHUGE,"
    + LONG.encode()
    + b",1000000000000000000000000000000,-1\n",
    b"sku,title,price_fen,commission_rate_bp\n" + b"S" * 500 + b",t,9223372036854775808,99999999999999\n",
    b"\xff\xfe\x00garbage\x00\n",
    b"",
]
BAD_GROUP_CSV = [
    "owner_member_id,group,member_count,observed_at\n9223372036854775808,g,1,2026-03-21T12:00:00+08:00\n",
    "owner_member_id,group,member_count,observed_at\n1,"
    + LONG
    + ",1000000000000000000000000000000,2026-02-30\n",
    "owner_member_id,group,member_count,observed_at\n1,矩阵群,-5,2026-03-21T12:00:00\n",
    "not,a,header\n\x00\n",
]
pytestmark = pytest.mark.world_per_module

WEBHOOK_ORDER = {
    "external_id": "WH-1",
    "customer_ref": "webhook-shopper",
    "items": [{"sku": offers.MATRIX_SKU, "quantity": 1, "paid_fen": 990}],
    "paid_at": "2026-03-02T10:00:00+08:00",
}
# Placeholders of the matrix's paths, by the name the OpenAPI schema gives them.
MATRIX_NAMES = {
    "program": "program_id",
    "member": "member_id",
    "token": "token_id",
    "claim_coupon_id": "coupon_id",
}


@dataclass(frozen=True)
class Operation:
    """One operation of the schema, with a valid call to start from."""

    method: str
    path: str  # as in the schema, e.g. /api/v1/programs/{program_id}
    params: tuple[tuple[str, str, str], ...]  # (name, in, type)
    body_schema: dict[str, Any] | None
    multipart: bool
    seed: Any  # a valid body, or None
    roles: frozenset[Role]


@dataclass
class Call:
    """One request: what was sent and as whom."""

    who: str
    method: str
    url: str
    body: Any = None
    raw: bytes | None = None
    files: Any = None
    headers: dict[str, str] | None = None
    params: dict[str, Any] | None = None

    def describe(self) -> str:
        sent = self.raw[:200] if self.raw is not None else self.files or self.body
        text = json.dumps(sent, ensure_ascii=False, default=repr) if sent is not None else ""
        url = self.url if len(self.url) < 200 else self.url[:200] + "…"
        return f"{self.who}: {self.method} {url} params={self.params!r:.200} body={text[:300]}"


@dataclass
class World:
    """Ids of the matrix's world, tokens per role, a signing secret for the webhook."""

    ids: dict[str, Any]
    tokens: dict[str, dict[str, str]]
    webhook_secret: str


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _param_type(schema: dict[str, Any]) -> str:
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") in {"integer", "number", "boolean"}:
            return str(option["type"])
    return "string"


def operations(app: FastAPI) -> list[Operation]:
    """Every operation under /api/v1 and /webhooks, with the matrix's valid body when it has one."""
    spec = app.openapi()
    seeds: dict[tuple[str, str], Case] = {}
    for matrix_case in CASES:
        path = matrix_case.path
        for short, name in MATRIX_NAMES.items():
            path = path.replace("{" + short + "}", "{" + name + "}")
        seeds[(matrix_case.method, path)] = matrix_case
    found = []
    for path, ops in spec["paths"].items():
        if not path.startswith(("/api/v1", "/webhooks")):
            continue
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            body_schema = content.get("application/json", {}).get("schema")
            case = seeds.get((method.upper(), path))
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    params=tuple(
                        (p["name"], p["in"], _param_type(p["schema"])) for p in op.get("parameters", [])
                    ),
                    body_schema=_resolve(body_schema, spec) if body_schema else None,
                    multipart="multipart/form-data" in content,
                    # A body built from the matrix's ids (callable) is mutated from an empty seed.
                    seed=(case.body if not callable(case.body) else {})
                    if case
                    else ({} if body_schema else None),
                    roles=case.allowed if case else frozenset({Role.OPERATOR}),
                )
            )
    return found


def build_world(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> World:
    """The authorization matrix's world (a program with the partner ladder, members, product, coupons,
    link, group, orders, withdrawals, a payout batch, an evaluated period) and a webhook integration."""
    own_program = create_program(client, operator, code="own")
    other_program = create_program(client, operator, code="other")
    own = create_member(client, operator, own_program["id"], name="own")
    create_member(client, operator, other_program["id"], name="other")
    spare = client.post("/api/v1/tokens", json={"role": "integration"}, headers=operator).json()
    ids: dict[str, Any] = {
        "program_id": own_program["id"],
        "member_id": own["id"],
        "token_id": spare["id"],
        **offers.matrix_world(client, operator),
        **groups.matrix_world(client, operator, own["id"]),
        **links.matrix_world(client, operator, own["id"], offers.MATRIX_SKU),
        **orders.matrix_world(client, operator, own_program["id"], own["id"]),
        **tiers.matrix_world(client, operator, own_program["id"]),
    }
    ids["coupon_id"] = ids.pop("claim_coupon_id")  # the open coupon: claims need one
    shop = client.post(
        f"/api/v1/programs/{own_program['id']}/integrations", json={"name": "webhook"}, headers=operator
    )
    assert shop.status_code == 201, shop.text
    ids["integration_id"] = shop.json()["id"]
    return World(
        ids=ids,
        tokens={
            "operator": operator,
            "member": bearer(make_token(Role.MEMBER, own["id"])),
        },
        webhook_secret=shop.json()["inbound_secret"],
    )


def _url(op: Operation, ids: dict[str, Any], **override: Any) -> str:
    values = {name: ids.get(name, 1) for name, where, _ in op.params if where == "path"}
    values.update(override)
    return op.path.format(**{k: str(v) for k, v in values.items()})


def _field_mutations(seed: Any, schema: dict[str, Any] | None) -> Iterator[Any]:
    """``seed`` with one field (top level, first list element, one level of nested objects) replaced."""
    if isinstance(seed, list):
        for inner in _field_mutations(seed[0] if seed else {}, None):
            yield [inner, *seed[1:]]
        return
    if not isinstance(seed, dict):
        return
    names = list(seed) + [n for n in (schema or {}).get("properties", {}) if n not in seed]
    for name in names:
        for value in BAD_VALUES:
            yield {**seed, name: value}
        nested = seed.get(name)
        if isinstance(nested, dict):
            for inner in _field_mutations(nested, None):
                yield {**seed, name: inner}
        if isinstance(nested, list) and nested and isinstance(nested[0], dict):
            for inner in _field_mutations(nested, None):
                yield {**seed, name: inner}


def calls(op: Operation, world: World) -> Iterator[Call]:
    """The malformed calls of one operation, as each role that may call it."""
    if op.path.startswith("/webhooks"):
        yield from _webhook_calls(op, world)
        return
    who = ["operator"] + (["member"] if Role.MEMBER in op.roles and Role.OPERATOR in op.roles else [])
    for role in who:
        yield from _param_calls(op, world, role)
        yield from _body_calls(op, world, role)


def _param_calls(op: Operation, world: World, role: str) -> Iterator[Call]:
    headers = world.tokens[role]
    url = _url(op, world.ids)
    for name, where, kind in op.params:
        bad = BAD_INT_PARAMS if kind in {"integer", "number"} else BAD_STR_PARAMS
        if where == "path":
            for value in bad:
                yield Call(role, op.method, _url(op, world.ids, **{name: value}), op.seed, headers=headers)
        elif where == "query" and role == "operator":
            for value in BAD_QUERY_VALUES:
                yield Call(role, op.method, url, op.seed, params={name: value}, headers=headers)
        elif where == "header":
            for value in bad:
                yield Call(role, op.method, url, op.seed, headers={**headers, name: str(value)})


def _body_calls(op: Operation, world: World, role: str) -> Iterator[Call]:
    headers = world.tokens[role]
    url = _url(op, world.ids)
    if op.multipart:
        for content in BAD_CSV:
            yield Call(
                role, op.method, url, files={"file": ("bad.csv", content, "text/csv")}, headers=headers
            )
        yield Call(role, op.method, url, raw=b"not multipart", headers=headers)
        return
    if op.body_schema is None and op.seed is None:
        return
    for raw in (b"{not json", b"", b"\xff\xfe", b"[1, 2", b"null", b"1e999999"):
        yield Call(role, op.method, url, raw=raw, headers={**headers, "content-type": "application/json"})
    shapes: list[Any] = [[op.seed], "text", BIG, [], {}]
    for shape in shapes:
        yield Call(role, op.method, url, shape, headers=headers)
    if role == "member" and op.method != "POST":
        return  # a member's edits share the operator's validation; their creations take their own paths
    for body in _field_mutations(op.seed, op.body_schema):
        yield Call(role, op.method, url, body, headers=headers)
    if op.path.endswith("/group-counts/import"):
        for text in BAD_GROUP_CSV:
            yield Call(role, op.method, url, {"csv": text}, headers=headers)


def _signed(secret: str, body: bytes) -> dict[str, str]:
    return {**signing.headers(secret, utcnow(), body), "content-type": "application/json"}


def _webhook_calls(op: Operation, world: World) -> Iterator[Call]:
    url = _url(op, world.ids)
    secret = world.webhook_secret
    for value in BAD_INT_PARAMS:
        yield Call(
            "shop", op.method, _url(op, world.ids, integration_id=value), {"type": "order.paid", "data": {}}
        )
    envelope = json.dumps({"type": "order.paid", "data": WEBHOOK_ORDER}).encode()
    for timestamp in ("abc", "9" * 400, "-1", "1e9", ""):
        headers = {**_signed(secret, envelope), signing.TIMESTAMP_HEADER: timestamp}
        yield Call("shop", op.method, url, raw=envelope, headers=headers)
    yield Call(
        "shop",
        op.method,
        url,
        raw=envelope,
        headers={**_signed(secret, envelope), signing.SIGNATURE_HEADER: LONG},
    )
    signed = standard.headers(secret, "msg_fuzz", utcnow(), envelope)
    for header, values in (
        (standard.ID_HEADER, [LONG]),
        (standard.TIMESTAMP_HEADER, ["abc", "9" * 400, "-1", "1e9", ""]),
        (standard.SIGNATURE_HEADER, [LONG, "v1", "v1,", "v1,@@@", "v1,a,b", "v2,abc", "v1,a  v1,b", " "]),
    ):
        for value in values:
            headers = {**signed, header: value, "content-type": "application/json"}
            yield Call("shop", op.method, url, raw=envelope, headers=headers)
    yield Call(
        "shop", op.method, url, raw=b"\xff\xfe", headers={**signed, "content-type": "application/json"}
    )
    bodies: list[Any] = [[], "text", BIG, {}, {"type": "order.unknown", "data": {}}]
    for kind, data in (
        ("order.paid", WEBHOOK_ORDER),
        ("order.completed", {"external_id": orders.MATRIX_EXTERNAL_ID, "at": "2026-03-03T10:00:00+08:00"}),
        ("order.refunded", {"external_id": orders.MATRIX_EXTERNAL_ID, **orders.MATRIX_REFUND}),
    ):
        bodies += [{"type": kind, "data": value} for value in [*BAD_VALUES, *_field_mutations(data, None)]]
    for raw in (b"{not json", b"", b"\xff\xfe", b"1e999999"):
        yield Call("shop", op.method, url, raw=raw, headers=_signed(secret, raw))
    for body in bodies:
        raw = json.dumps(body).encode()
        yield Call("shop", op.method, url, raw=raw, headers=_signed(secret, raw))


def _holds_nul(value: Any) -> bool:
    """Whether a body or its parameters carry text holding a NUL, which no database of ours stores."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(item) for pair in value.items() for item in pair)
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


async def send(http: httpx2.AsyncClient, call: Call) -> str | None:
    """What is wrong with the answer to one call (None when nothing is)."""
    try:
        if call.raw is not None:
            response = await http.request(
                call.method, call.url, content=call.raw, headers=call.headers, params=call.params
            )
        elif call.files is not None:
            response = await http.request(call.method, call.url, files=call.files, headers=call.headers)
        else:
            response = await http.request(
                call.method, call.url, json=call.body, headers=call.headers, params=call.params
            )
    except Exception as exc:  # the app's 500 handler re-raises into the client
        return f"500 {type(exc).__name__}: {str(exc)[:300]}"
    status = response.status_code
    if status >= 500:
        return f"{status} {response.text[:300]}"
    if status < 300 and (_holds_nul(call.body) or _holds_nul(call.params) or "%00" in call.url):
        return f"{status}: text holding a NUL was taken (SQLite stores it, PostgreSQL refuses it)"
    if 400 <= status < 500:
        kind = response.headers.get("content-type", "")
        if kind != "application/problem+json":
            return f"{status} with content-type {kind!r}"
        if not response.json().get("code"):
            return f"{status} problem without a code: {response.text[:200]}"
    return None


async def reported(http: httpx2.AsyncClient, call: Call) -> str | None:
    """What is wrong with the answer to one call, and the call, or None when nothing is."""
    wrong = await send(http, call)
    return None if wrong is None else f"{wrong}\n    ← {call.describe()}"


class Unlogged:
    """Stands in for the 500 handler's logger: rendering a traceback whose locals hold 10,000-character
    strings takes seconds, and the test reports the exception itself."""

    def exception(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def warning(self, *_args: Any, **_kwargs: Any) -> None:
        return None


@pytest.fixture(autouse=True)
def _unlogged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(problems, "log", Unlogged())


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker) -> World:
    return build_world(module_client, module_operator, module_make_token)


def test_operations_are_read_from_the_schema(app: FastAPI) -> None:
    ops = {(op.method, op.path) for op in operations(app)}
    assert ("PUT", "/api/v1/programs/{program_id}/tiers") in ops
    assert ("POST", "/webhooks/v1/integrations/{integration_id}") in ops
    assert len(ops) >= len(CASES)


def test_malformed_input_never_gets_a_server_error(app: FastAPI, client: TestClient, world: World) -> None:
    # Made as they are sent: the webhook's signatures carry the time they were made.
    sweep = (call for op in operations(app) for call in calls(op, world))
    answers = send_all(client, sweep, reported)
    total = len(answers)
    assert total > 2_000
    failures = [wrong for wrong in answers if wrong is not None]
    assert not failures, f"{len(failures)} of {total} calls went wrong:\n" + "\n".join(failures)


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
    st.sampled_from(["", LONG, "2026-02-30", "2026-03-01T10:00:00", "9" * 40]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_json_bodies_never_get_a_server_error(
    app: FastAPI, client: TestClient, world: World, data: st.DataObject
) -> None:
    """Random values in the schema's own field names, for every operation that takes a JSON body."""
    ops = [op for op in operations(app) if op.body_schema is not None and op.path.startswith("/api/v1")]
    op = data.draw(st.sampled_from(ops), label="operation")
    names = list(op.body_schema.get("properties", {})) if op.body_schema else []
    values = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=3), max_leaves=5)
    body = data.draw(
        st.fixed_dictionaries({}, optional=dict.fromkeys(names, values)) if names else values,
        label="body",
    )
    if isinstance(op.seed, dict) and isinstance(body, dict):
        body = {**op.seed, **body}
    call = Call("operator", op.method, _url(op, world.ids), body, headers=world.tokens["operator"])
    [wrong] = send_all(client, [call], send)
    assert wrong is None, f"{wrong}\n    ← {call.describe()}"

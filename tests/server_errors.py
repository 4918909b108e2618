"""The API sweep's machinery (``tests/test_no_server_errors.py``): every operation of the OpenAPI schema
with a valid call to start from, the calls that break it one place at a time (bodies, path ids, query
parameters, headers, the signed webhook), and the world they are called in. ``tests/test_malformed_forms.py``
and ``tests/test_schemathesis.py`` build the same world."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from neigou.auth.models import Role
from neigou.integrations import signing, standard
from neigou.kit.clock import utcnow
from tests.authz.cases import ALL_CASES as CASES
from tests.authz.matrix import Case
from tests.conftest import TokenMaker, bearer
from tests.factories import create_member, create_program
from tests.groups import builders as groups
from tests.links import builders as links
from tests.offers import factories as offers
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


def operation_url(op: Operation, ids: dict[str, Any], **override: Any) -> str:
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
    url = operation_url(op, world.ids)
    for name, where, kind in op.params:
        bad = BAD_INT_PARAMS if kind in {"integer", "number"} else BAD_STR_PARAMS
        if where == "path":
            for value in bad:
                yield Call(
                    role, op.method, operation_url(op, world.ids, **{name: value}), op.seed, headers=headers
                )
        elif where == "query" and role == "operator":
            for value in BAD_QUERY_VALUES:
                yield Call(role, op.method, url, op.seed, params={name: value}, headers=headers)
        elif where == "header":
            for value in bad:
                yield Call(role, op.method, url, op.seed, headers={**headers, name: str(value)})


def _body_calls(op: Operation, world: World, role: str) -> Iterator[Call]:
    headers = world.tokens[role]
    url = operation_url(op, world.ids)
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
    url = operation_url(op, world.ids)
    secret = world.webhook_secret
    for value in BAD_INT_PARAMS:
        yield Call(
            "shop",
            op.method,
            operation_url(op, world.ids, integration_id=value),
            {"type": "order.paid", "data": {}},
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


class Unlogged:
    """Stands in for the 500 handler's logger: rendering a traceback whose locals hold 10,000-character
    strings takes seconds, and the test reports the exception itself."""

    def exception(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def warning(self, *_args: Any, **_kwargs: Any) -> None:
        return None

    def error(self, *_args: Any, **_kwargs: Any) -> None:
        return None

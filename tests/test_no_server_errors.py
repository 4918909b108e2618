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

The sweep is split by family of operations (``tests/api_sweep.py``), a module each for the workers to share:
this one sweeps the operations of no other family (the webhook's among them), checks that the families take
every operation, and sends the random bodies; ``test_no_server_errors_members.py`` sweeps the members',
groups' and customers' operations, ``test_no_server_errors_programs.py`` the programs', products',
coupons' and events'.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_sweep import FAMILIES, family, send, sweep, unlogged, world
from tests.authz.cases import ALL_CASES as CASES
from tests.on_loop import send_all
from tests.server_errors import LONG, Call, World, operation_url, operations

pytestmark = pytest.mark.world_per_module

__all__ = ["unlogged", "world"]


def test_operations_are_read_from_the_schema(app: FastAPI) -> None:
    ops = {(op.method, op.path) for op in operations(app)}
    assert ("PUT", "/api/v1/programs/{program_id}/tiers") in ops
    assert ("POST", "/webhooks/v1/integrations/{integration_id}") in ops
    assert len(ops) >= len(CASES)


def test_every_family_of_operations_is_swept(app: FastAPI) -> None:
    ops = operations(app)
    assert sorted({family(op) for op in ops}) == sorted(FAMILIES)
    webhook = next(op for op in ops if op.path.startswith("/webhooks"))
    assert family(webhook) == "rest"
    program = next(op for op in ops if op.path == "/api/v1/programs/{program_id}/tiers")
    assert family(program) == "programs"


def test_malformed_input_never_gets_a_server_error(app: FastAPI, client: TestClient, world: World) -> None:
    sweep(app, client, world, "rest")


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
    call = Call("operator", op.method, operation_url(op, world.ids), body, headers=world.tokens["operator"])
    [wrong] = send_all(client, [call], send)
    assert wrong is None, f"{wrong}\n    ← {call.describe()}"

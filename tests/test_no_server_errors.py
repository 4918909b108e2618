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

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neigou.web import problems
from tests.authz.cases import ALL_CASES as CASES
from tests.conftest import TokenMaker
from tests.on_loop import send_all
from tests.server_errors import (
    LONG,
    Call,
    Unlogged,
    World,
    build_world,
    calls,
    operation_url,
    operations,
)

pytestmark = pytest.mark.world_per_module


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
    call = Call("operator", op.method, operation_url(op, world.ids), body, headers=world.tokens["operator"])
    [wrong] = send_all(client, [call], send)
    assert wrong is None, f"{wrong}\n    ← {call.describe()}"

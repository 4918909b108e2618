"""The API sweep's checks (``tests/test_no_server_errors*.py``): what is wrong with one answer, and the
sweep of one family of operations. The sweep is split by family into a module each, so that the
pytest-xdist workers (one file each at a time) share it instead of one worker carrying it all; every
operation is in exactly one family (``family``), and each family's module sweeps it in the world it
builds once (``world``)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from neigou.web import problems
from tests.conftest import TokenMaker
from tests.on_loop import send_all
from tests.server_errors import Call, Operation, Unlogged, World, build_world, calls, operations

# The first segment after /api/v1/ of each family's operations; every other operation (the webhook's
# too) is in "rest".
FAMILY_HEADS = {
    "members": frozenset({"members", "groups", "customers"}),
    "programs": frozenset({"programs", "products", "coupons", "events"}),
}
FAMILIES = (*FAMILY_HEADS, "rest")


def family(op: Operation) -> str:
    """The family an operation is swept in."""
    parts = op.path.split("/")
    head = parts[3] if op.path.startswith("/api/v1/") else ""
    return next((name for name, heads in FAMILY_HEADS.items() if head in heads), "rest")


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


def sweep(app: FastAPI, client: TestClient, world: World, swept: str) -> None:
    """Every malformed call of the family's operations; fails with every call that went wrong."""
    # Made as they are sent: the webhook's signatures carry the time they were made.
    found = (call for op in operations(app) if family(op) == swept for call in calls(op, world))
    answers = send_all(client, found, reported)
    total = len(answers)
    assert total > 2_000  # each family is about a third of the sweep
    failures = [wrong for wrong in answers if wrong is not None]
    assert not failures, f"{len(failures)} of {total} calls went wrong:\n" + "\n".join(failures)


@pytest.fixture(autouse=True)
def unlogged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 500 handler's logger stands aside: the sweep reports the exception itself."""
    monkeypatch.setattr(problems, "log", Unlogged())


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker) -> World:
    """The sweep's world, built once in each family's ``world_per_module`` module."""
    return build_world(module_client, module_operator, module_make_token)

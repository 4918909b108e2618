"""Schemathesis over every operation of the OpenAPI schema: no generated request gets a 5xx.

Schemathesis (pinned in the dev extra) reads ``/openapi.json`` from the app and generates requests
from each operation's parameters and body schema, valid and invalid. They are sent as an operator
against the authorization matrix's world, with path ids pointing at its rows, so they reach the
handlers instead of stopping at 401 or 404. Only ``not_a_server_error`` is checked: the schema's
own conformance is ``tests/test_no_server_errors.py``'s business. Examples per operation are few by
default to keep the suite fast; ``NEIGOU_SCHEMATHESIS_EXAMPLES`` raises them for a longer hunt.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.openapi import from_asgi

from tests.conftest import TokenMaker
from tests.server_errors import World, build_world

pytestmark = pytest.mark.world_per_module

EXAMPLES = int(os.environ.get("NEIGOU_SCHEMATHESIS_EXAMPLES", "4"))


@pytest.fixture(scope="module")
def st_world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> World:
    return build_world(module_client, module_operator, module_make_token)


def _operations(app: FastAPI) -> list[Any]:
    operations: list[Any] = []
    for result in from_asgi("/openapi.json", app).get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    return operations


def test_no_generated_request_gets_a_server_error(app: FastAPI, st_world: World) -> None:
    operations = _operations(app)
    documented = sum(len(methods) for methods in app.openapi()["paths"].values())
    assert len(operations) == documented  # every operation the schema lists, none skipped
    failures: list[str] = []
    headers = st_world.tokens["operator"]
    answered: Counter[int] = Counter()

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def send(case: Any) -> None:
            for name in list(case.path_parameters or {}):
                if name in st_world.ids:
                    case.path_parameters[name] = st_world.ids[name]
            response = case.call(headers=headers)
            answered[response.status_code // 100] += 1
            case.validate_response(response, checks=[not_a_server_error])

        try:
            send()
        except Exception as exc:  # every operation's failure is reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
    # The requests reached the handlers: some were taken, not all stopped at 401.
    assert answered[2] > len(operations) // 4, answered
    assert answered[4] > 0, answered

"""No input gets a 5xx, from any route: every API route and public page (the webhook, the share-link
redirect, the share, join and live-code pages), called by a role allowed to call it, gets malformed values
in each path and query parameter (non-numbers, ±2**63, 10**30, -1, 0, NUL, 5,000 characters, invalid
UTF-8 and an unpaired surrogate, impossible dates, the years 9999 and 0001, each parameter given twice),
in each JSON field (the wrong type, missing, one too many, nested 1,000 deep, 1e400, NaN; a 10 MB body)
and each form field (the same, with a valid CSRF token).

Every answer is below 500; a 4xx from the API or the webhook is a problem+json with a ``code``, one from a
page is a page (or the problem+json of a refused parameter); an API call is let in (never 401 or 403: the
sweep reaches the route); and a write refused with a 4xx changes no table's row count. Routes are read
from the app (``tests/route_fuzz.py``); the world and who may call each API route are the authorization
matrix's (``tests/authz``). This module sweeps the API's reads and the public pages; the API's writes and
the webhook are swept by ``test_route_fuzz_writes.py``, the console's pages by ``test_route_fuzz_console.py``,
the workspace's by ``test_route_fuzz_workspace.py``, the merchant portal's by
``test_route_fuzz_merchant.py`` (a module each, for the workers to share). ``test_no_server_errors.py``
and ``test_malformed_forms.py`` go deeper into the API's bodies and the console's forms.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.authz.matrix import World
from tests.authz.world import world
from tests.route_fuzz import of, routes, sweep, unlogged

pytestmark = [pytest.mark.world_per_module, pytest.mark.usefixtures("unlogged")]

__all__ = ["unlogged", "world"]


def test_every_route_is_read_from_the_app(app: FastAPI) -> None:
    found = {(r.method, r.path) for r in routes(app)}
    assert {("GET", "/console/orders"), ("GET", "/l/{code}"), ("GET", "/m/feed")} <= found
    assert ("POST", "/webhooks/v1/integrations/{integration_id}") in found
    api = [r for r in routes(app) if r.api]
    assert len(api) > 150
    assert [r.path for r in api if r.case is None] == []  # each API route's valid call is the matrix's


def test_api_reads_never_answer_a_server_error(
    app: FastAPI, client: TestClient, factory: sessionmaker[Session], world: World
) -> None:
    failures = sweep(client, factory, world, [r for r in of(app, None, api=True) if r.method == "GET"])
    assert not failures, f"{len(failures)} calls went wrong:\n" + "\n".join(failures)

"""Fixtures of the CRM tests: the push endpoints' and deliveries' clock pinned to the pushes' simulated time, and the
push world a module's tests share."""

from __future__ import annotations

from functools import partial

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery, push_endpoints
from neigou.kit.clock import not_before_now
from tests.conftest import TokenMaker
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT, PushWorld


@pytest.fixture
def push_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The push endpoints' clock at ``AT``, the time the tests' pushes are dated: a push's ``at`` already
    past means now (``crm.pushes.effective_due``), so pushes dated at ``AT`` and after are made, as in
    the tests' story, when ``AT`` is now, not months after it by the machine's clock."""
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: AT)
    # Sends are signed and dated when they go out (``not_before_now``), in the same story's time.
    monkeypatch.setattr(push_delivery, "not_before_now", partial(not_before_now, now=AT))


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> PushWorld:
    """The push world (``push_builders.build``), built once per module (``world_per_module``): a module
    whose world differs defines its own ``world``."""
    return pb.build(module_client, module_operator, module_make_token, module_factory)

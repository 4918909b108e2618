"""Fixtures of the CRM tests: the push endpoints' clock pinned to the pushes' simulated time."""

from __future__ import annotations

import pytest

from neigou.crm import push_endpoints
from tests.crm.push_builders import AT


@pytest.fixture
def push_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The push endpoints' clock at ``AT``, the time the tests' pushes are dated: a push's ``at`` already
    past means now (``crm.pushes.effective_due``), so pushes dated at ``AT`` and after are made, as in
    the tests' story, when ``AT`` is now, not months after it by the machine's clock."""
    monkeypatch.setattr(push_endpoints, "utcnow", lambda: AT)

"""The authorization matrix (``tests/authz/matrix.py``) on analytics reports and live events; risk cases and the CRM:
customers, consents, segments, recommendations and pushes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.authz.cases import ANALYTICS, CRM
from tests.authz.matrix import Case, World, case_id, check_case

pytestmark = pytest.mark.world_per_module
CASES = ANALYTICS + CRM


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_authorization_matrix(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    check_case(client, world, factory, case)

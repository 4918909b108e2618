"""The authorization matrix (``tests/authz/matrix.py``) on groups and their counts, targets, alerts and settings; the member's feed, posts, robots and
live codes; orders, settlement, integrations, reconciliation, balances, withdrawals, payouts, the team and
tiers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.authz.cases import GROUPS, MONEY
from tests.authz.matrix import Case, World, case_id, check_case

pytestmark = pytest.mark.world_per_module
CASES = GROUPS + MONEY


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_authorization_matrix(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    check_case(client, world, factory, case)

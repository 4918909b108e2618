"""The authorization matrix (``tests/authz/matrix.py``) on programs, members, tokens, the audit log, privacy, organizations and merchants;
brands, categories, products, coupons, promotions, quotes, share links, claims and campaigns (every route a
merchant may call)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.authz.cases import CATALOG, CORE
from tests.authz.matrix import Case, World, case_id, check_another_merchant, check_case, merchant_cases

pytestmark = pytest.mark.world_per_module
CASES = CORE + CATALOG


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_authorization_matrix(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    check_case(client, world, factory, case)


@pytest.mark.parametrize("case", merchant_cases(CASES), ids=case_id)
def test_another_merchant_of_the_organization_finds_nothing(
    client: TestClient, world: World, factory: sessionmaker[Session], case: Case
) -> None:
    check_another_merchant(client, world, factory, case)

"""A case resolved through a token whose label is longer than the case keeps (a token's label may be 120
characters, the case's ``resolved_by`` 80) is resolved, its label cut as every record cuts it."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.actor import STORED_LABEL_CHARS
from neigou.kit.db import transaction
from neigou.risk.models import RiskCase
from tests.conftest import TEST_ACTOR, bearer
from tests.orders import builders as orders
from tests.orders.builders import PAID_AT
from tests.risk.builders import brush, cases, complete, resolve

LABEL = "风控复核值班" * 20  # 120 characters, the most a token's label holds


def test_a_case_is_resolved_by_a_token_with_a_long_label(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    world = orders.build(client, operator, factory, freeze_days=7)
    brush(client, operator, world, 10)
    for i in range(10):
        complete(client, operator, world.program_id, f"B-{i}", PAID_AT + timedelta(days=1))
    [case] = cases(client, operator, world.program_id, "open")
    with transaction(factory) as session:
        _, secret = auth.create_token(session, role=Role.OPERATOR, label=LABEL, actor=TEST_ACTOR)
    cleared = resolve(client, bearer(secret), case["id"], "clear", note="real shoppers")
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["status"] == "cleared"
    with factory() as session:
        stored = session.get(RiskCase, case["id"])
        assert stored is not None
        assert stored.resolved_by == LABEL[:STORED_LABEL_CHARS]

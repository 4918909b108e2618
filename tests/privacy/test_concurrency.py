"""The same opt-out delivered in parallel on PostgreSQL: one opt-out, erased once, the same answer."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.kit.clock import utcnow
from neigou.privacy import service
from neigou.privacy.models import OptOut
from tests.conftest import SECRET, TEST_ACTOR
from tests.parallel import in_parallel
from tests.privacy.builders import SHOPPER, build, traces

PARALLEL = 6


@pytest.mark.postgres_only
def test_parallel_deliveries_of_one_opt_out_erase_once(
    client: TestClient, app: FastAPI, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    build(client, app, operator, factory)

    def opt_out(session: Session) -> tuple[int, bool]:
        result = service.opt_out(
            session,
            secret_key=SECRET,
            customer_ref=SHOPPER,
            program_id=None,
            request_id="race-1",
            actor=TEST_ACTOR,
            at=utcnow(),
        )
        return result.opt_out.id, result.created

    results = in_parallel(factory, opt_out, PARALLEL)
    answers = [r for r in results if isinstance(r, tuple)]
    assert len(results) == len(answers) == PARALLEL, results
    assert len({opt_out_id for opt_out_id, _ in answers}) == 1
    assert sorted(created for _, created in answers) == [False] * (PARALLEL - 1) + [True]
    assert set(traces(factory).values()) == {0}
    with factory() as session:
        assert len(session.scalars(select(OptOut)).all()) == 1
        audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.opt_out")).all()
        assert len(audited) == 1

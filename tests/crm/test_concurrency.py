"""The same customer, written several ways, added to one book in parallel on PostgreSQL: one row, the
others 409 ``customer_exists`` (never a server error)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import service
from neigou.crm.models import Customer, CustomerSource
from neigou.crm.schemas import CustomerCreate
from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.programs.models import Member
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker
from tests.crm.builders import build
from tests.parallel import in_parallel

PARALLEL = 6


@pytest.mark.postgres_only
def test_parallel_adds_of_one_customer_make_one_row(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    written = ["13800000091", "138 0000 0091", "+86 138-0000-0091", "１３８００００００９１"]
    counter = iter(range(PARALLEL))

    def add(session: Session) -> str:
        n = next(counter)
        member = session.get(Member, book.member)
        assert member is not None
        data = CustomerCreate(customer_ref=written[n % len(written)], name=f"客{n}")
        service.add_customer(
            session,
            member=member,
            new=service.NewCustomer.of(SECRET, data),
            source=CustomerSource.MANUAL,
            actor=TEST_ACTOR,
            at=utcnow(),
        )
        return "created"

    results = in_parallel(factory, add, PARALLEL)
    assert all(r == "created" or isinstance(r, Conflict) for r in results), results
    answers = sorted(r.code if isinstance(r, Conflict) else str(r) for r in results)
    assert answers == ["created"] + ["customer_exists"] * (PARALLEL - 1)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1

"""A birthday may be today where the program is: at 01:00 on 2 March in Shanghai (17:00 UTC on
1 March) a customer born on 2 March is added, edited and imported; in a UTC program that day is
still to come."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import imports, service
from neigou.crm.models import Customer, CustomerSource
from neigou.crm.schemas import CustomerCreate, CustomerUpdate
from neigou.kit.actor import Actor
from neigou.kit.clock import local_date
from neigou.kit.columns import ImportRefused
from neigou.kit.errors import Invalid
from neigou.programs.models import Member
from tests.factories import create_member, create_program

AT = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
LOCAL = date(2026, 3, 2)
ACTOR = Actor("member", "1")
SECRET = "test-secret"


def _member(client: TestClient, operator: dict[str, str], zone: str) -> int:
    program = create_program(client, operator, code=zone.replace("/", "-").lower(), timezone=zone)
    return int(create_member(client, operator, program["id"], "导购")["id"])


def _outcomes(session: Session, member: Member, born: date) -> list[str]:
    """What adding, editing and importing a customer born on ``born`` come to at AT."""
    outcomes: list[str] = []
    new = service.NewCustomer.of(SECRET, CustomerCreate(customer_ref="13800000061", birthday=born))
    try:
        service.add_customer(
            session, member=member, new=new, source=CustomerSource.MANUAL, actor=ACTOR, at=AT
        )
        outcomes.append("added")
    except Invalid as exc:
        outcomes.append(exc.code)
    plain = service.NewCustomer.of(SECRET, CustomerCreate(customer_ref="13800000062"))
    customer: Customer = service.add_customer(
        session, member=member, new=plain, source=CustomerSource.MANUAL, actor=ACTOR, at=AT
    )
    try:
        service.update_customer(
            session, customer=customer, data=CustomerUpdate(birthday=born), actor=ACTOR, at=AT
        )
        outcomes.append("edited")
    except Invalid as exc:
        outcomes.append(exc.code)
    content = f"customer_ref,birthday\n13800000063,{born.isoformat()}\n".encode()
    try:
        imports.check_file(session, member=member, content=content, secret_key=SECRET, at=AT)
        outcomes.append("imported")
    except ImportRefused as exc:
        outcomes.append(exc.errors[0].code)
    return outcomes


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(("Asia/Shanghai", LOCAL, ["added", "edited", "imported"]), id="shanghai-today"),
        pytest.param(("Asia/Shanghai", date(2026, 3, 3), ["invalid_birthday"] * 3), id="shanghai-tomorrow"),
        pytest.param(("UTC", LOCAL, ["invalid_birthday"] * 3), id="utc-tomorrow"),
        pytest.param(("UTC", date(2026, 3, 1), ["added", "edited", "imported"]), id="utc-today"),
    ],
)
def test_a_birthday_is_checked_against_the_programs_today(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    case: tuple[str, date, list[str]],
) -> None:
    zone, born, expected = case
    member_id = _member(client, operator, zone)
    with factory() as session:
        member = session.get(Member, member_id)
        assert member is not None
        assert _outcomes(session, member, born) == expected
        session.rollback()


@pytest.mark.no_database
def test_local_date_is_the_date_in_the_zone() -> None:
    assert local_date(AT, "Asia/Shanghai") == LOCAL
    assert local_date(AT, "UTC") == date(2026, 3, 1)
    assert local_date(AT, "America/Los_Angeles") == date(2026, 3, 1)
    with pytest.raises(ValueError, match="zone"):
        local_date(datetime(2026, 3, 1, 17, 0), "UTC")  # noqa: DTZ001 - a naive time is refused

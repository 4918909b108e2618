"""The employee-number rule folds only what cannot tell two numbers apart (``kit.employee_numbers``):
width, letter case one-to-one, blanks and invisible marks. A character whose compatibility form is
another (circled ``E①``, roman numeral ``Ⅻ``, ligature, superscript, styled letter) or whose upper case
is not one-to-one (``ß`` → ``SS``, dotless ``ı`` → ``I``) would merge two employees into one guest
quota; it is refused 422 ``invalid_employee_no`` wherever a number comes in, without being quoted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.models import EventEmployee
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.employee_numbers import INVALID_EMPLOYEE_NO, EmployeeNoRefused, employee_no
from neigou.kit.errors import Invalid
from tests.conftest import TEST_ACTOR, row_counts
from tests.events.builders import SKU, add_employees, create_event
from tests.factories import create_program

# A number the rule refuses, and the plain number the old rule (NFKC, then upper case) merged it with.
MERGED = [("E①", "E1"), ("Ⅻ", "XII"), ("ß1", "SS1"), ("ı1", "I1"), ("ſ1", "S1"), ("ﬁ1", "FI1"),
          ("E²", "E2"), ("𝐄1", "E1"), ("ς1", "Σ1"), ("Ｅ⑴", "E(1)")]  # fmt: skip


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("typed", "number"),
    [("Ｅ００１", "E001"), (" e001\u3000", "E001"), ("E\u00a0001", "E 001"), ("ｶﾞ1", "ガ1"),
     ("e\u0301", "É"), ("é", "É"), ("ẞ1", "ẞ1"), ("σ1", "Σ1"), ("员工１", "员工1")],
)  # fmt: skip
def test_width_case_and_blanks_fold(typed: str, number: str) -> None:
    assert employee_no(typed) == number
    assert employee_no(number) == number


@pytest.mark.no_database
@pytest.mark.parametrize(("typed", "merged"), MERGED)
def test_a_character_that_would_merge_two_numbers_is_refused(typed: str, merged: str) -> None:
    assert employee_no(merged) == merged  # the plain number stays a number of its own
    with pytest.raises(EmployeeNoRefused) as refused:
        employee_no(typed)
    assert refused.value.code == INVALID_EMPLOYEE_NO


@pytest.mark.parametrize(("typed", "merged"), MERGED[:4])
def test_the_api_refuses_it_everywhere_a_number_comes_in(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session], typed: str, merged: str
) -> None:
    event_id = create_event(api, operator, create_program(api, operator)["id"])
    add_employees(api, operator, event_id, [{"employee_no": merged, "name": "员工一"}])
    before = row_counts(factory)
    for url, body in (
        ("employees", [{"employee_no": typed, "name": "员工二"}]),
        ("invitations", {"employee_no": typed, "count": 1}),
        ("reservations", {"sku": SKU, "customer_ref": "13800000001", "employee_no": typed}),
    ):
        for language, words in (("zh-CN", "工号"), ("en", "plain letters and digits")):
            refused = api.post(
                f"/api/v1/events/{event_id}/{url}",
                json=body,
                headers={**operator, "Accept-Language": language},
            )
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            problem: dict[str, Any] = refused.json()
            assert problem["code"] == "invalid_employee_no"
            assert [e["type"] for e in problem["errors"]] == ["invalid_employee_no"]
            assert words in problem["detail"]
            assert typed not in refused.text  # never quoted
            assert merged not in problem["detail"]
    assert row_counts(factory) == before  # no second employee, no invitation, no reservation


def test_the_services_refuse_it_too(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = create_event(client, operator, create_program(client, operator)["id"])
    add_employees(client, operator, event_id, [{"employee_no": "E1", "name": "员工一"}])
    with pytest.raises(Invalid) as refused, transaction(factory) as session:
        service.add_employees(
            session,
            event_id=event_id,
            employees=[service.EmployeeIn("E①", "员工二", None)],
            actor=TEST_ACTOR,
            gate=None,
        )
    assert refused.value.code == "invalid_employee_no"
    with pytest.raises(Invalid) as refused, transaction(factory) as session:
        service.issue_invitations(
            session, event_id=event_id, employee_no="E①", count=1, actor=TEST_ACTOR, at=utcnow()
        )
    assert refused.value.code == "invalid_employee_no"
    with factory() as session:
        assert session.scalars(select(EventEmployee.employee_no)).all() == ["E1"]


def test_distinct_numbers_stay_two_employees(api: TestClient, operator: dict[str, str]) -> None:
    event_id = create_event(api, operator, create_program(api, operator)["id"])
    rows = [{"employee_no": n, "name": n} for n in ("ẞ1", "SS1", "I1", "İ1", "É1")]
    assert add_employees(api, operator, event_id, rows) == 5
    assert add_employees(api, operator, event_id, [{"employee_no": "é1", "name": "again"}]) == 0

"""One employee number however it is typed (``kit.employee_numbers``): ``E001``, full-width ``Ｅ００１``,
`` e001 `` and the same wrapped in invisible marks are one whitelist entry with one guest quota, through
the API's whitelist, invitations and reservations, on the database path and behind the Redis gate (its
members set holds the one form, so seeding and a reservation agree); a number of nothing visible is
refused 422 ``blank_employee_no`` without being quoted."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.gate_keys import employees_key
from neigou.events.models import EventEmployee
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.employee_numbers import employee_no
from tests.conftest import TEST_ACTOR, row_counts
from tests.events.builders import SKU, add_employees, create_event, gate_of
from tests.factories import create_program

FORMS = ("E001", "Ｅ００１", " e001 ", "\ufeff\u200be\u200d001\u200e", "ｅ001\u3000")


@pytest.fixture(params=["database", "redis"])
def api(request: pytest.FixtureRequest, client: TestClient) -> TestClient:
    if request.param == "redis":
        redis_client: TestClient = request.getfixturevalue("redis_client_app")
        return redis_client
    return client


def _event(api: TestClient, operator: dict[str, str]) -> int:
    return create_event(api, operator, create_program(api, operator)["id"])


def _invite(api: TestClient, operator: dict[str, str], event_id: int, number: str, count: int = 1) -> Any:
    return api.post(
        f"/api/v1/events/{event_id}/invitations",
        json={"employee_no": number, "count": count},
        headers=operator,
    )


def _reserve(api: TestClient, operator: dict[str, str], event_id: int, customer: str, number: str) -> Any:
    return api.post(
        f"/api/v1/events/{event_id}/reservations",
        json={"sku": SKU, "customer_ref": customer, "employee_no": number},
        headers=operator,
    )


@pytest.mark.parametrize("form", FORMS)
def test_the_rule_gives_one_form(form: str) -> None:
    assert employee_no(form) == "E001"
    assert employee_no(employee_no(form)) == "E001"


def test_every_form_is_one_whitelist_entry(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(api, operator)
    assert add_employees(api, operator, event_id, [{"employee_no": FORMS[1], "name": "员工一"}]) == 1
    for form in FORMS:
        assert add_employees(api, operator, event_id, [{"employee_no": form, "name": "again"}]) == 0
    both = api.post(
        f"/api/v1/events/{event_id}/employees",
        json=[{"employee_no": "E002", "name": "a"}, {"employee_no": "ｅ００２", "name": "b"}],
        headers=operator,
    )
    assert both.json()["code"] == "duplicate_employee"
    with factory() as session:
        assert session.scalars(select(EventEmployee.employee_no)).all() == ["E001"]


def test_one_guest_quota_whichever_form_asks(api: TestClient, operator: dict[str, str]) -> None:
    event_id = _event(api, operator)  # two guests an employee
    add_employees(api, operator, event_id, [{"employee_no": " e001 ", "name": "员工一"}])
    assert _invite(api, operator, event_id, "Ｅ００１").status_code == 201
    assert _invite(api, operator, event_id, "\u200bE001").status_code == 201
    over = _invite(api, operator, event_id, "e001")
    assert (over.status_code, over.json()["code"]) == (409, "guest_quota_exceeded")


def test_a_full_width_number_reserves(api: TestClient, operator: dict[str, str]) -> None:
    event_id = _event(api, operator)
    add_employees(api, operator, event_id, [{"employee_no": "E001", "name": "员工一"}])
    for form in FORMS[1:3]:  # the shopper's two units (the limit), each under another form
        made = _reserve(api, operator, event_id, "13800000001", form)
        assert made.status_code == 201, made.text
    for form in FORMS[3:]:  # the same entry: the shopper's limit, and bound to that shopper
        assert _reserve(api, operator, event_id, "13800000001", form).json()["code"] == "limit_reached"
        assert _reserve(api, operator, event_id, "13800000002", form).json()["code"] == "employee_no_taken"
    unknown = _reserve(api, operator, event_id, "13800000009", "Ｅ００２")
    assert unknown.json()["code"] == "not_invited"


def test_the_gate_holds_the_one_form(
    redis_client_app: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    api = redis_client_app
    event_id = _event(api, operator)
    add_employees(api, operator, event_id, [{"employee_no": "ｅ００１", "name": "员工一"}])
    assert _reserve(api, operator, event_id, "13800000001", " E001").status_code == 201  # seeds
    add_employees(api, operator, event_id, [{"employee_no": "\u200be002", "name": "员工二"}])
    assert _reserve(api, operator, event_id, "13800000002", "Ｅ００２").status_code == 201  # added seeded
    _runtime, gate, base = gate_of(api.app, event_id)  # type: ignore[arg-type]
    members: list[bytes] = gate.client.hkeys(employees_key(base))  # type: ignore[assignment]
    assert {m.decode() for m in members} == {"E001", "E002"}


@pytest.mark.parametrize("blank", [" ", "\u200b", "\ufeff \u200e", "\u3000"])
def test_a_number_of_nothing_visible_is_refused(
    api: TestClient, operator: dict[str, str], factory: sessionmaker[Session], blank: str
) -> None:
    event_id = _event(api, operator)
    add_employees(api, operator, event_id, [{"employee_no": "E001", "name": "员工一"}])
    before = row_counts(factory)
    for url, body in (
        ("employees", [{"employee_no": blank, "name": "x"}]),
        ("invitations", {"employee_no": blank, "count": 1}),
        ("reservations", {"sku": SKU, "customer_ref": "13800000001", "employee_no": blank}),
    ):
        refused = api.post(
            f"/api/v1/events/{event_id}/{url}", json=body, headers={**operator, "Accept-Language": "zh-CN"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        problem = refused.json()
        assert problem["code"] == "blank_employee_no"
        assert "工号" in problem["detail"]
        assert [e["type"] for e in problem["errors"]] == ["blank_employee_no"]
    english = api.post(
        f"/api/v1/events/{event_id}/invitations",
        json={"employee_no": blank, "count": 1},
        headers={**operator, "Accept-Language": "en"},
    )
    assert "employee number is required" in english.json()["detail"]
    assert row_counts(factory) == before


def test_a_row_left_in_its_old_form_issues_its_own_invitations(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Migration 0036 leaves ``e001`` beside ``E001`` when both were stored: asked for by its stored
    number (the member workspace passes its own entry's), it issues its own codes, not E001's."""
    event_id = _event(client, operator)
    add_employees(client, operator, event_id, [{"employee_no": "E001", "name": "甲"}])
    with factory.begin() as session:
        session.add(EventEmployee(event_id=event_id, employee_no="e001", name="乙", invitations=0))
    with transaction(factory) as session:  # as the member workspace asks, by its entry's number
        service.issue_invitations(
            session, event_id=event_id, employee_no="e001", count=1, actor=TEST_ACTOR, at=utcnow()
        )
    with factory() as session:
        rows = session.execute(
            select(EventEmployee.employee_no, EventEmployee.invitations)
            .where(EventEmployee.event_id == event_id)
            .order_by(EventEmployee.employee_no)
        ).all()
    assert [tuple(r) for r in rows] == [("E001", 0), ("e001", 1)]
    assert _invite(client, operator, event_id, "Ｅ００１").status_code == 201  # the one form: E001's
    with factory() as session:
        assert (
            session.scalar(select(EventEmployee.invitations).where(EventEmployee.employee_no == "E001")) == 1
        )

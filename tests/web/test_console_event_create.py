"""Live events set up from the console: the new-event form (times in the program's zone, the price
list in yuan) and the whitelist pasted on the event's page, through the same validation and service
as the API; every refusal shown beside its field with what was typed kept and nothing written."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.db import transaction
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.events.builders import create_event
from tests.factories import create_member, create_program
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in


def _form(program: int, /, **extra: str) -> dict[str, str]:
    return {
        "program_id": str(program),
        "name": "春季内购会",
        "starts_at": "2030-03-24T10:00",
        "ends_at": "2030-03-24T22:00",
        "guests_per_employee": "2",
        "rows": "5",
        "sku_0": "EV-TEA",
        "price_yuan_0": "99.90",
        "stock_0": "50",
        "per_person_limit_0": "2",
        "sku_2": "EV-CUP",
        "price_yuan_2": "25",
        "stock_2": "100",
        "per_person_limit_2": "1",
        **extra,
    }


def _error(html: str, field: str) -> str:
    found = re.search(rf'data-testid="error-{re.escape(field)}" data-code="([a-z_]+)"', html)
    assert found is not None, html
    return found.group(1)


def test_operator_creates_an_event_in_the_programs_zone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, timezone="Asia/Shanghai")
    console_sign_in(client, factory)
    listing = client.get("/console/events").text
    assert 'href="/console/events/new"' in listing
    blank = client.get("/console/events/new")
    assert blank.status_code == 200
    assert blank.text.count('data-testid="item-row"') == 5
    more = client.post("/console/events/new", data=_form(program["id"], add_row="1"))
    assert more.status_code == 200
    assert more.text.count('data-testid="item-row"') == 6
    assert 'value="99.90"' in more.text  # what was typed is kept
    made = client.post("/console/events/new", data=_form(program["id"]), follow_redirects=False)
    assert made.status_code == 303, made.text
    event_id = int(made.headers["location"].rsplit("/", 1)[1])
    event = client.get(f"/api/v1/events/{event_id}", headers=operator).json()
    assert (event["name"], event["guests_per_employee"]) == ("春季内购会", 2)
    assert (event["hold_minutes"], event["stream_url"]) == (15, None)  # left out: the API's defaults
    assert event["starts_at"].startswith("2030-03-24T02:00:00")  # 10:00 in Shanghai
    items = client.get(f"/api/v1/events/{event_id}/items", headers=operator).json()
    assert [(i["sku"], i["price_fen"], i["stock"], i["per_person_limit"]) for i in items] == [
        ("EV-CUP", 2500, 100, 1),
        ("EV-TEA", 9990, 50, 2),
    ]
    page = client.get(made.headers["location"]).text
    assert 'data-testid="event-title">春季内购会<' in page


def test_the_hold_time_and_stream_link_typed_are_the_events(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator, timezone="Asia/Shanghai")
    console_sign_in(client, factory)
    blank = client.get("/console/events/new").text
    assert 'name="hold_minutes" value="15"' in blank
    typed = _form(program["id"], hold_minutes="30", stream_url=" https://live.example/room/9 ")
    made = client.post("/console/events/new", data=typed, follow_redirects=False)
    assert made.status_code == 303, made.text
    event = client.get(made.headers["location"].replace("/console", "/api/v1"), headers=operator).json()
    assert (event["hold_minutes"], event["stream_url"]) == (30, "https://live.example/room/9")


@pytest.mark.parametrize(
    ("extra", "field", "code"),
    [
        ({"program_id": ""}, "program_id", "program_not_found"),
        ({"name": " "}, "name", "validation_error"),
        ({"starts_at": "明天"}, "starts_at", "invalid_datetime"),
        ({"ends_at": "2030-03-24T09:00"}, "ends_at", "invalid_window"),
        ({"guests_per_employee": "两"}, "guests_per_employee", "invalid_integer"),
        ({"guests_per_employee": "1001"}, "guests_per_employee", "validation_error"),
        ({"hold_minutes": "半小时"}, "hold_minutes", "invalid_integer"),
        ({"hold_minutes": "0"}, "hold_minutes", "validation_error"),
        ({"stream_url": "ftp://live.example/1"}, "stream_url", "validation_error"),
        ({"price_yuan_2": "二十五"}, "price_yuan_2", "invalid_amount"),
        ({"stock_0": "-1"}, "stock_0", "validation_error"),
        ({"per_person_limit_2": "0"}, "per_person_limit_2", "validation_error"),
        ({"sku_2": ""}, "sku_2", "validation_error"),
        ({"sku_2": "EV-TEA"}, "items", "duplicate_sku"),
        (
            {
                "sku_0": "",
                "price_yuan_0": "",
                "stock_0": "",
                "per_person_limit_0": "",
                "sku_2": "",
                "price_yuan_2": "",
                "stock_2": "",
                "per_person_limit_2": "",
            },
            "items",
            "required",
        ),
    ],
)
def test_each_refusal_is_shown_in_place_and_writes_nothing(
    client: TestClient,
    *,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    extra: dict[str, str],
    field: str,
    code: str,
) -> None:
    program = create_program(client, operator)
    console_sign_in(client, factory)
    before = row_counts(factory)
    refused = client.post("/console/events/new", data=_form(program["id"], **extra))
    assert refused.status_code == 422
    assert _error(refused.text, field) == code
    assert 'data-testid="form-errors"' in refused.text
    assert 'value="春季内购会"' in refused.text or field == "name"
    assert row_counts(factory) == before


def _event(client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]) -> tuple[int, Any]:
    program = create_program(client, operator)
    console_sign_in(client, factory)
    made = client.post("/console/events/new", data=_form(program["id"]), follow_redirects=False)
    assert made.status_code == 303, made.text
    return int(made.headers["location"].rsplit("/", 1)[1]), program


def test_employees_are_pasted_onto_the_whitelist(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, program = _event(client, operator, factory)
    member = create_member(client, operator, program["id"], name="李店长")
    lines = f"E001,张三\n\nE002，李四,{member['id']}\nE003\t王五\n"
    added = client.post(
        f"/console/events/{event_id}/employees", data={"lines": lines}, follow_redirects=False
    )
    assert added.headers["location"] == f"/console/events/{event_id}?added=3"
    page = client.get(added.headers["location"]).text
    assert re.search(r'data-testid="employees-added">[^<]*3', page)
    assert re.search(r'data-testid="employee-count">[^<]*3', page)
    again = client.post(f"/console/events/{event_id}/employees", data={"lines": "E001,张三\nE004,赵六"})
    assert again.status_code == 200
    assert "?added=1" in str(again.url)  # E001 was already there and is kept as it was
    codes = client.post(
        f"/api/v1/events/{event_id}/invitations", json={"employee_no": "E002", "count": 2}, headers=operator
    )
    assert codes.status_code == 201, codes.text


def test_a_pasted_number_is_the_apis_in_any_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id, _program = _event(client, operator, factory)  # two guests an employee
    pasted = client.post(
        f"/console/events/{event_id}/employees", data={"lines": "Ｅ００１,张三\n\u200be002,李四"}
    )
    assert "?added=2" in str(pasted.url)
    again = client.post(f"/console/events/{event_id}/employees", data={"lines": " e001 ,张三\nE002,李四"})
    assert "?added=0" in str(again.url)  # the same two employees, kept as they were
    page = client.get(f"/console/events/{event_id}").text
    assert re.search(r'data-testid="employee-count">[^<]*2', page)
    for form in ("E001", "ｅ００１"):
        codes = client.post(
            f"/api/v1/events/{event_id}/invitations", json={"employee_no": form, "count": 1}, headers=operator
        )
        assert codes.status_code == 201, codes.text
    over = client.post(
        f"/api/v1/events/{event_id}/invitations", json={"employee_no": " e001", "count": 1}, headers=operator
    )
    assert over.json()["code"] == "guest_quota_exceeded"  # one quota, whichever form asked


@pytest.mark.parametrize(
    ("lines", "code", "shown"),
    [
        ("E001,张三\nE002\nE003,王五", "invalid_line", "2"),
        ("E001,张三\nE002,李四,十二", "invalid_line", "2"),
        ("E001,张三\nE001,张三丰", "duplicate_employee", "第 1 行"),
        ("E001,张三\nＥ００１,张三丰", "duplicate_employee", "第 1 行"),  # full-width: the same number
        ("E001,张三\n e001 ,张三丰", "duplicate_employee", "第 1 行"),
        ("E001,张三\n\u200b\ufeff,李四", "blank_employee_no", "第 2 行"),
        ("E001,张三\nE\u00ad001,张三丰", "duplicate_employee", "第 1 行"),  # a soft hyphen is invisible
        ("E1,张三\nE①,李四", "invalid_employee_no", "第 2 行"),  # circled: not E1
        ("SS1,张三\nß1,李四", "invalid_employee_no", "第 2 行"),  # ß upper-cased is SS
        ("E001,张三\nE002,李四,999999", "member_not_found", "第 2 条"),  # the member id is not repeated
        ("\n \n", "required", ""),
    ],
)
def test_a_bad_line_writes_nothing_and_is_reported(
    client: TestClient,
    *,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    lines: str,
    code: str,
    shown: str,
) -> None:
    event_id, _program = _event(client, operator, factory)
    before = row_counts(factory)
    refused = client.post(f"/console/events/{event_id}/employees", data={"lines": lines})
    assert refused.status_code == 422
    assert _error(refused.text, "lines") == code
    error = refused.text.split('data-testid="error-lines"', 1)[1].split("</span>", 1)[0]
    assert shown in error
    assert "E00" not in error  # a line is named by its number, not by the employee number typed there
    assert lines.strip() in refused.text  # the pasted text is kept
    assert row_counts(factory) == before


def test_event_forms_need_an_operator_of_the_events_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    event_id = create_event(client, operator, program["id"])
    form = _form(program["id"])
    lines = {"lines": "E1,张三"}
    before = row_counts(factory)
    for url, data in (("/console/events/new", form), (f"/console/events/{event_id}/employees", lines)):
        anonymous = client.post(url, data=data, follow_redirects=False)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/console/login")
    assert client.get("/console/events/new", follow_redirects=False).status_code == 303
    member_sign_in(client, make_token(Role.MEMBER, create_member(client, operator, program["id"])["id"]))
    before = row_counts(factory)
    assert client.get("/console/events/new", follow_redirects=False).status_code == 403
    assert client.post("/console/events/new", data=form).status_code == 403
    assert client.post(f"/console/events/{event_id}/employees", data=lines).status_code == 403
    made = client.post("/api/v1/organizations", json={"code": "rival", "name": "Rival"}, headers=operator)
    assert made.status_code == 201, made.text
    rival = made.json()["id"]
    create_program(client, bearer(make_token(Role.OPERATOR, organization_id=rival)), code="rival-p")
    with transaction(factory) as session:
        auth.create_user(
            session, username="rival-ops", password=PASSWORD, actor=TEST_ACTOR, organization_id=rival
        )
    client.cookies.clear()
    signed = client.post("/console/login", data={"username": "rival-ops", "password": PASSWORD})
    assert signed.status_code == 200
    before = row_counts(factory)
    assert client.get(f"/console/events/{event_id}").status_code == 404
    theirs = client.post(f"/console/events/{event_id}/employees", data=lines)
    assert theirs.status_code == 404
    other_program = client.post("/console/events/new", data=form)
    assert (other_program.status_code, _error(other_program.text, "program_id")) == (422, "program_not_found")
    assert row_counts(factory) == before

"""Event pages through HTTP: the console list (search, sort, pages), the live board's stream scoped to
the caller's organization, the salesperson's events with invitation codes and posters, and the live
page opened through an invitation."""

from __future__ import annotations

import io
from datetime import timedelta

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.events.models import Event, EventEmployee, Invitation
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, bearer
from tests.events.builders import add_employees, create_event, invite
from tests.factories import create_member, create_program
from tests.sign_in import console_sign_in, member_sign_in


def test_console_list_is_searched_sorted_and_paged(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    start = utcnow() - timedelta(days=60)
    for n in range(53):
        create_event(
            client,
            operator,
            program["id"],
            name=f"内购会 {n:02d}",
            starts_at=(start + timedelta(days=n)).isoformat(),
            ends_at=(start + timedelta(days=n, hours=2)).isoformat(),
        )
    console_sign_in(client, factory)
    first = client.get("/console/events")
    assert first.status_code == 200
    assert first.text.count('data-testid="event-row"') == 50
    assert first.text.index("内购会 52") < first.text.index("内购会 51")  # latest start first
    assert "内购会 02" not in first.text
    second = client.get("/console/events?page=2")
    assert second.text.count('data-testid="event-row"') == 3
    assert "内购会 00" in second.text
    by_name = client.get("/console/events?sort=name")
    assert by_name.text.index("内购会 00") < by_name.text.index("内购会 01")
    found = client.get("/console/events?q=会 17")
    assert found.text.count('data-testid="event-row"') == 1
    assert "内购会 17" in found.text


def test_board_stream_is_scoped_to_the_callers_organization(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    admin = bearer(make_token(Role.OPERATOR))
    organization = client.post("/api/v1/organizations", json={"code": "acme", "name": "Acme"}, headers=admin)
    assert organization.status_code == 201, organization.text
    theirs = bearer(make_token(Role.OPERATOR, organization_id=organization.json()["id"]))
    program = create_program(client, operator)
    event_id = create_event(client, operator, program["id"])
    refused = client.get(f"/console/events/{event_id}/board/stream", headers=theirs)
    assert (refused.status_code, refused.json()["code"]) == (404, "event_not_found")
    unknown = bearer("not-a-token")
    anonymous = client.get(
        f"/console/events/{event_id}/board/stream", headers=unknown, follow_redirects=False
    )
    assert anonymous.status_code in {303, 401}
    member = bearer(make_token(Role.MEMBER, create_member(client, operator, program["id"])["id"]))
    wrong_role = client.get(
        f"/console/events/{event_id}/board/stream", headers=member, follow_redirects=False
    )
    assert wrong_role.status_code == 403
    with client.stream("GET", f"/console/events/{event_id}/board/stream", headers=operator) as own:
        assert own.status_code == 200
        lines = own.iter_lines()
        assert next(lines) == "event: board"
        assert next(lines).startswith('data: {"orders":0,"gmv_fen":0,"reservations":0')


def test_employee_sees_codes_asks_for_more_and_downloads_posters(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    me = create_member(client, operator, program["id"], name="李店长")
    other = create_member(client, operator, program["id"], name="王导购")
    event_id = create_event(client, operator, program["id"], name="春季内购会", guests_per_employee=3)
    add_employees(
        client,
        operator,
        event_id,
        [
            {"employee_no": "E1", "name": "李四", "member_id": me["id"]},
            {"employee_no": "E2", "name": "王五", "member_id": other["id"]},
        ],
    )
    code = client.get(f"/api/v1/events/{event_id}", headers=operator).json()["code"]
    [mine] = invite(client, operator, event_id, "E1", 1)
    [theirs] = invite(client, operator, event_id, "E2", 1)
    assert client.get("/m/events", follow_redirects=False).status_code in {303, 401}
    member_sign_in(client, make_token("member", me["id"]))
    page = client.get("/m/events")
    assert page.status_code == 200
    assert "春季内购会" in page.text
    assert page.text.count('data-testid="invitation"') == 1
    assert f'data-code="{mine}"' in page.text
    assert theirs not in page.text
    assert f"/e/{code}?invite={mine}" in page.text

    asked = client.post(f"/m/events/{event_id}/invitations", data={"count": "2"}, follow_redirects=False)
    assert asked.status_code == 303
    assert client.get("/m/events").text.count('data-testid="invitation"') == 3
    with factory() as session:
        before = session.scalar(select(func.count(Invitation.id)))
        used = session.scalar(select(EventEmployee.invitations).where(EventEmployee.employee_no == "E1"))
    assert (before, used) == (4, 3)
    over = client.post(f"/m/events/{event_id}/invitations", data={"count": "1"}, follow_redirects=False)
    assert over.headers["location"] == "/m/events?error=guest_quota_exceeded"
    refusal = client.get(over.headers["location"]).text
    assert 'data-code="guest_quota_exceeded"' in refusal
    assert "你已用完本场活动的全部亲友邀请名额。" in refusal
    with factory() as session:
        assert session.scalar(select(func.count(Invitation.id))) == 4

    poster = client.get(f"/m/events/invitations/{mine}/poster.png")
    assert poster.status_code == 200
    assert poster.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(poster.content)).size == (750, 1200)
    foreign = client.get(f"/m/events/invitations/{theirs}/poster.png", follow_redirects=False)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "invitation_not_found")
    for bad in ("abc", "0", "101", "9" * 40):
        refused = client.post(
            f"/m/events/{event_id}/invitations", data={"count": bad}, follow_redirects=False
        )
        assert refused.status_code == 422, bad
    with factory() as session:
        assert session.scalar(select(func.count(Invitation.id))) == 4
    not_mine = client.post("/m/events/999999/invitations", data={"count": "1"}, follow_redirects=False)
    assert not_mine.headers["location"] == "/m/events?error=event_not_found"

    live = client.get(f"/e/{code}?invite={mine}")
    assert 'data-testid="live-invitation"' in live.text
    assert "李四" in live.text
    assert 'data-testid="live-invitation"' not in client.get(f"/e/{code}?invite=nosuchcode").text


def test_a_member_on_no_list_sees_no_events(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    program = create_program(client, operator)
    me = create_member(client, operator, program["id"])
    create_event(client, operator, program["id"], name="夏季特卖")
    member_sign_in(client, make_token("member", me["id"]))
    page = client.get("/m/events")
    assert 'data-testid="no-events"' in page.text
    assert "夏季特卖" not in page.text


def test_an_events_pages_show_titles_from_its_own_organizations_catalog(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    admin = bearer(make_token(Role.OPERATOR))
    ids = []
    for code in ("acme", "rival"):
        made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    acme, rival = (bearer(make_token(Role.OPERATOR, organization_id=i)) for i in ids)
    for headers, sku, title in (
        (rival, "RIVAL-LAUNCH", "对手新品发布 X9"),
        (acme, "ACME-TEA", "自家的好茶"),
    ):
        body = {"sku": sku, "title": title, "price_fen": 100, "commission_rate_bp": 0}
        assert client.post("/api/v1/products", json=body, headers=headers).status_code == 201
    program = create_program(client, acme)
    items = [
        {"sku": sku, "price_fen": 1, "stock": 1, "per_person_limit": 1}
        for sku in ("RIVAL-LAUNCH", "ACME-TEA")
    ]
    event_id = create_event(client, acme, program["id"], items=items)
    with factory() as session:
        live_code = session.scalar(select(Event.code).where(Event.id == event_id))
    live = client.get(f"/e/{live_code}")  # anonymous: a session of no scope
    console_sign_in(client, factory)  # a platform administrator's console: no scope either
    console = client.get(f"/console/events/{event_id}")
    for page in (live, console):
        assert page.status_code == 200
        assert "对手" not in page.text
        assert "自家的好茶" in page.text
        assert "RIVAL-LAUNCH" in page.text  # a sku of no product of its organization: shown as it is

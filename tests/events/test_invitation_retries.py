"""Invitation codes asked for again under the same ``Idempotency-Key`` (API) or the workspace form's
request id: the codes the first issued and no more within the guest quota, also when the retries
arrive at once (PostgreSQL, real parallel connections)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import service
from neigou.events.models import EventEmployee, Invitation, InvitationRequest
from neigou.kit.clock import utcnow
from neigou.kit.errors import ProblemError
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.events.builders import add_employees, create_event
from tests.factories import create_member, create_program
from tests.parallel import in_parallel
from tests.sign_in import member_sign_in


def _event(client: TestClient, operator: dict[str, str], quota: int = 5, member_id: int | None = None) -> int:
    program = create_program(client, operator)
    event_id = create_event(client, operator, program["id"], guests_per_employee=quota)
    add_employees(
        client,
        operator,
        event_id,
        [
            {"employee_no": "E1", "name": "员工一", "member_id": member_id},
            {"employee_no": "E2", "name": "员工二"},
        ],
    )
    return event_id


def _ask(client: TestClient, operator: dict[str, str], event_id: int, key: str | None, **body: Any) -> Any:
    headers = {**operator, **({"Idempotency-Key": key} if key else {})}
    body = {"employee_no": "E1", "count": 2, **body}
    return client.post(f"/api/v1/events/{event_id}/invitations", json=body, headers=headers)


def _issued(factory: sessionmaker[Session]) -> tuple[int, int]:
    """Codes stored, and the guest quota E1 has used."""
    with factory() as session:
        return (
            session.scalar(select(func.count()).select_from(Invitation)) or 0,
            session.scalar(select(EventEmployee.invitations).where(EventEmployee.employee_no == "E1")) or 0,
        )


def test_the_same_key_issues_the_codes_once_and_answers_them_again(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(client, operator)
    first = _ask(client, operator, event_id, "ask-1")
    assert first.status_code == 201, first.text
    assert len(first.json()["codes"]) == 2
    again = _ask(client, operator, event_id, "ask-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert _issued(factory) == (2, 2)
    for changed in ({"count": 3}, {"employee_no": "E2"}):
        refused = _ask(client, operator, event_id, "ask-1", **changed)
        assert (refused.status_code, refused.json()["code"]) == (409, "idempotency_key_reused"), changed
        assert refused.json()["detail"] == "此 Idempotency-Key 已用于另一批邀请码。"
    assert _issued(factory) == (2, 2)
    other = _ask(client, operator, event_id, "ask-2", count=3)
    assert other.status_code == 201, other.text
    assert set(other.json()["codes"]).isdisjoint(first.json()["codes"])
    # The quota is used up; a retry of either asks for nothing new and still answers its codes.
    assert (_ask(client, operator, event_id, "ask-1").json(), _issued(factory)) == (first.json(), (5, 5))
    full = _ask(client, operator, event_id, None, count=1)
    assert (full.status_code, full.json()["code"]) == (409, "guest_quota_exceeded")


def test_a_refused_request_leaves_its_key_free(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(client, operator, quota=2)
    over = _ask(client, operator, event_id, "k", count=3)
    assert (over.status_code, over.json()["code"]) == (409, "guest_quota_exceeded")
    nobody = _ask(client, operator, event_id, "k", employee_no="E9")
    assert (nobody.status_code, nobody.json()["code"]) == (422, "employee_not_found")
    made = _ask(client, operator, event_id, "k", count=2)
    assert made.status_code == 201, made.text
    assert _issued(factory) == (2, 2)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(InvitationRequest)) == 1


def test_the_workspace_form_sent_twice_issues_the_codes_once(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    program = create_program(client, operator)
    me = create_member(client, operator, program["id"], name="李店长")
    event_id = create_event(client, operator, program["id"], guests_per_employee=3)
    add_employees(client, operator, event_id, [{"employee_no": "E1", "name": "李四", "member_id": me["id"]}])
    member_sign_in(client, make_token("member", me["id"]))
    page = client.get("/m/events").text
    [request_id] = re.findall(r'name="request_id" value="([0-9a-f]{32})"', page)
    for _ in range(2):  # a double tap, or a resend after a timeout
        sent = client.post(
            f"/m/events/{event_id}/invitations",
            data={"count": "2", "request_id": request_id},
            follow_redirects=False,
        )
        assert sent.headers["location"] == f"/m/events#event-{event_id}"
    assert _issued(factory) == (2, 2)
    other = client.post(
        f"/m/events/{event_id}/invitations",
        data={"count": "1", "request_id": request_id},
        follow_redirects=False,
    )
    assert other.headers["location"] == "/m/events?error=idempotency_key_reused"
    assert "这次申请已按其他数量提交过，请刷新页面后再试。" in client.get(other.headers["location"]).text
    fresh = re.findall(r'name="request_id" value="([0-9a-f]{32})"', client.get("/m/events").text)
    assert len(fresh) == 1
    assert request_id not in fresh  # each page sends a key of its own
    assert _issued(factory) == (2, 2)


@pytest.mark.postgres_only
def test_retries_at_once_issue_the_codes_once(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    event_id = _event(client, operator, quota=3)  # no room for a second pair: a retry must find the first

    def work(session: Session) -> object:
        try:
            codes = service.issue_invitations(
                session,
                event_id=event_id,
                employee_no="E1",
                count=2,
                actor=TEST_ACTOR,
                at=utcnow(),
                request_id="burst-1",
            )
        except ProblemError as exc:
            return exc.code
        return tuple(codes)

    answers = in_parallel(factory, work, 8)
    assert len(set(answers)) == 1, answers
    assert isinstance(answers[0], tuple), answers
    assert len(answers[0]) == 2
    assert _issued(factory) == (2, 2)

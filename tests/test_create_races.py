"""A create that loses the race on a unique key (a group's name, a member's customer) gets the 409 a later
request would get, never a 500; and a write that no service guards still gets a 409 ``conflict`` from the
problem handler's last resort, on both databases."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.groups import service
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.ledger import payouts
from neigou.ledger.models import PayoutSettings
from neigou.web.problems import key_taken
from tests.conftest import TEST_ACTOR
from tests.factories import create_member, create_program
from tests.lost_race import lost_race

PASSWORD = "a long enough password 1"


def _post_losing(
    client: TestClient, engine: Engine, table: str, url: str, *, body: Any, headers: dict[str, str]
) -> Any:
    loser = TestClient(client.app, raise_server_exceptions=False)
    with lost_race(
        engine, table, lambda: client.post(url, json=body, headers=headers), after_read=True
    ) as inner:
        answer = loser.post(url, json=body, headers=headers)
    assert inner == [201]
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return answer.json()


def test_group_name_taken_meanwhile(client: TestClient, operator: dict[str, str], engine: Engine) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="m")
    body = {"owner_member_id": member["id"], "name": "同名群", "platform": "wechat"}
    assert _post_losing(client, engine, "chat_groups", "/api/v1/groups", body=body, headers=operator)[
        "code"
    ] == ("group_name_taken")


def test_external_id_taken_meanwhile(
    client: TestClient, operator: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="m")
    body = {"owner_member_id": member["id"], "name": "a", "platform": "wechat", "external_id": "wx-1"}
    _after_the_check(
        monkeypatch, lambda: client.post("/api/v1/groups", json={**body, "name": "b"}, headers=operator)
    )
    answer = TestClient(client.app, raise_server_exceptions=False).post(
        "/api/v1/groups", json=body, headers=operator
    )
    assert (answer.status_code, answer.json()["code"]) == (409, "external_id_taken")


def _after_the_check(monkeypatch: pytest.MonkeyPatch, inner: Any, group_id: int | None = None) -> None:
    """Run ``inner`` (a request that takes the key, 201) right after the next uniqueness check passed."""
    checked = service._check_unique
    ran: list[bool] = []

    def then_taken(session: Session, **keys: Any) -> None:
        checked(session, **keys)
        if not ran and keys.get("group_id") == group_id:
            ran.append(True)  # the inner request's own check passes
            assert inner().status_code == 201

    monkeypatch.setattr(service, "_check_unique", then_taken)


def test_group_renamed_to_a_name_taken_meanwhile(
    client: TestClient, operator: dict[str, str], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"], name="m")
    body = {"owner_member_id": member["id"], "name": "a", "platform": "wechat"}
    group = client.post("/api/v1/groups", json=body, headers=operator).json()
    inner = lambda: client.post("/api/v1/groups", json={**body, "name": "b"}, headers=operator)  # noqa: E731
    _after_the_check(monkeypatch, inner, group["id"])
    loser = TestClient(client.app, raise_server_exceptions=False)
    answer = loser.patch(f"/api/v1/groups/{group['id']}", json={"name": "b"}, headers=operator)
    assert (answer.status_code, answer.json()["code"]) == (409, "group_name_taken")


def test_member_added_meanwhile(client: TestClient, operator: dict[str, str], engine: Engine) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/members"
    body = {"name": "x", "customer_ref": "13800138000"}
    assert (
        _post_losing(client, engine, "members", url, body=body, headers=operator)["code"] == "member_exists"
    )


def test_an_unguarded_taken_key_is_a_409_and_any_other_constraint_a_500(
    client: TestClient,
    operator: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    program = create_program(client, operator)
    url = f"/api/v1/programs/{program['id']}/payout-settings"
    body = {"min_withdrawal_fen": 100, "fee_fixed_fen": 0, "fee_bp": 0}
    assert client.put(url, json=body, headers=operator).status_code == 200
    seen: list[BaseException] = []

    def insert_again(session: Session, model: Any, values: dict[str, Any], **_: Any) -> Any:
        session.add(PayoutSettings(**{**values, "program_id": program_id}))
        try:
            session.flush()
        except Exception as exc:
            seen.append(exc)
            raise

    loser = TestClient(client.app, raise_server_exceptions=False)
    monkeypatch.setattr(payouts, "row_to_put", insert_again)
    program_id = program["id"]  # the row exists: its key is taken
    capsys.readouterr()
    taken = loser.put(url, json=body, headers={**operator, "Accept-Language": "en"})
    logged = capsys.readouterr().err
    assert "request.key_taken" in logged
    assert "Key (" not in logged  # the constraint or the columns, never PostgreSQL's key values
    assert taken.status_code == 409
    assert taken.headers["content-type"].startswith("application/problem+json")
    assert taken.json()["code"] == "conflict"
    assert taken.json()["detail"].startswith("Another request changed the same record")
    assert "同时" in loser.put(url, json=body, headers=operator).json()["detail"]
    assert key_taken(seen[0])
    program_id = 2**40  # no such program: a broken foreign key is a bug, still a 500
    broken = loser.put(url, json=body, headers=operator)
    assert broken.status_code == 500
    assert not key_taken(seen[-1])


def test_username_taken_meanwhile(engine: Engine, factory: sessionmaker[Session]) -> None:
    def inner() -> SimpleNamespace:
        with transaction(factory) as other:
            auth.create_user(other, username="ann", password=PASSWORD, actor=TEST_ACTOR)
        return SimpleNamespace(status_code=201)

    with (
        lost_race(engine, "users", inner, after_read=True) as ran,
        factory() as session,
        pytest.raises(Conflict) as refused,
    ):
        auth.create_user(session, username="ann", password=PASSWORD, actor=TEST_ACTOR)
    assert ran == [201]
    assert refused.value.code == "username_taken"

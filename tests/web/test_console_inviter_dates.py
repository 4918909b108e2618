"""The console's inviter move is dated: an optional time typed in the program's time zone (empty: now).
A time ahead of now, one before the current inviter took effect, one that is no time and a move that
loops in the recorded invite history are shown beside their field in the page's language, nothing
written; only an operator of the member's organization may move a member."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.programs.models import MemberInviterPeriod
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, page_client, row_counts
from tests.factories import create_member, create_program
from tests.orders.builders import build, order_body, post_order
from tests.sign_in import console_sign_in, member_sign_in

ZONE = "America/Los_Angeles"  # not the deployment's default zone: the program's is the one read
LOCAL = "%Y-%m-%dT%H:%M"


def _local(at: datetime) -> str:
    return at.astimezone(ZoneInfo(ZONE)).strftime(LOCAL)


def _world(client: TestClient, operator: dict[str, str]) -> tuple[int, int, int]:
    program = create_program(client, operator, code="fx", timezone=ZONE)
    joined = (utcnow() - timedelta(days=20)).isoformat()
    a, b = (create_member(client, operator, program["id"], n, joined_at=joined)["id"] for n in ("a", "b"))
    return program["id"], a, b


def _moves(factory: sessionmaker[Session], member: int) -> list[tuple[datetime, int | None]]:
    with factory() as session:
        rows = session.execute(
            select(MemberInviterPeriod.effective_from, MemberInviterPeriod.inviter_id)
            .where(MemberInviterPeriod.member_id == member, MemberInviterPeriod.reason == "moved")
            .order_by(MemberInviterPeriod.id)
        )
        return [(at, inviter) for at, inviter in rows]


def test_a_move_is_dated_in_the_programs_time_zone(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    _, a, b = _world(client, operator)
    console_sign_in(client, factory)
    card = client.get(f"/console/members/{a}").text
    assert 'name="effective_from" type="datetime-local"' in card
    assert ZONE in card
    typed = _local(utcnow() - timedelta(days=3))
    moved = client.post(
        f"/console/members/{a}/inviter",
        data={"inviter_id": str(b), "effective_from": typed},
        follow_redirects=False,
    )
    assert moved.headers["location"] == f"/console/members/{a}?done=inviter"
    expected = datetime.strptime(typed, LOCAL).replace(tzinfo=ZoneInfo(ZONE))
    assert _moves(factory, a) == [(expected, b)]
    # Empty: now, plus the clock skew (an order taken meanwhile may be paid that far ahead).
    skew = timedelta(minutes=5)
    before = utcnow()
    freed = client.post(f"/console/members/{a}/inviter", data={"inviter_id": ""}, follow_redirects=False)
    assert freed.status_code == 303
    (_, _), (now_at, inviter) = _moves(factory, a)
    assert inviter is None
    assert before + skew <= now_at <= utcnow() + skew


def test_refused_dates_and_history_loops_stand_beside_their_field_in_the_pages_language(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    _, a, b = _world(client, operator)
    console_sign_in(client, factory)
    url = f"/console/members/{b}/inviter"
    # A under B from day -10 to day -2: B under A from day -5 would loop then.
    assert _move_api(client, operator, a, b, utcnow() - timedelta(days=10))
    assert _move_api(client, operator, a, None, utcnow() - timedelta(days=2))
    stored = row_counts(factory)
    cases = {  # code: (what is typed, the English message's words)
        "inviter_change_in_future": (_local(utcnow() + timedelta(days=1)), "is in the future"),
        "inviter_change_too_early": (_local(utcnow() - timedelta(days=30)), "is before the member's current"),
        "invalid_datetime": ("next tuesday", "Write a date and time"),
    }
    for code, (typed, words) in cases.items():
        for lang in ("zh", "en"):
            refused = client.post(f"{url}?lang={lang}", data={"inviter_id": str(a), "effective_from": typed})
            assert refused.status_code == 422, (code, refused.status_code)
            assert f'data-testid="error-effective_from" data-code="{code}"' in refused.text
            assert f'value="{typed}"' in refused.text  # what was typed, kept
            assert (words in refused.text.replace("&#39;", "'")) == (lang == "en")
    loop = client.post(
        url, data={"inviter_id": str(a), "effective_from": _local(utcnow() - timedelta(days=5))}
    )
    assert loop.status_code == 409
    assert 'data-testid="error-inviter_id" data-code="invite_loop"' in loop.text
    assert "下线" in loop.text
    english = client.post(
        f"{url}?lang=en", data={"inviter_id": str(a), "effective_from": _local(utcnow() - timedelta(days=5))}
    )
    assert english.status_code == 409
    assert "downline" in english.text
    assert row_counts(factory) == stored


def _move_api(
    client: TestClient, operator: dict[str, str], member: int, inviter: int | None, at: datetime
) -> bool:
    body = {"inviter_id": inviter, "effective_from": at.isoformat()}
    return client.put(f"/api/v1/members/{member}/inviter", json=body, headers=operator).status_code == 200


def test_only_an_operator_of_the_members_organization_moves_them(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    admin = bearer(make_token(Role.OPERATOR))
    orgs = []
    for code in ("acme", "rival"):
        made = client.post("/api/v1/organizations", json={"code": code, "name": code}, headers=admin)
        assert made.status_code == 201, made.text
        orgs.append(made.json()["id"])
    acme, rival = orgs
    _, a, b = _world(client, bearer(make_token(Role.OPERATOR, organization_id=acme)))
    url = f"/console/members/{a}/inviter"
    form = {"inviter_id": str(b), "effective_from": _local(utcnow() - timedelta(days=1))}
    anonymous = page_client(client.app)  # type: ignore[arg-type]
    assert anonymous.post(url, data=form, follow_redirects=False).status_code == 303
    member = page_client(client.app)  # type: ignore[arg-type]
    member_sign_in(member, make_token(Role.MEMBER, a))
    assert member.post(url, data=form, follow_redirects=False).status_code == 403
    for org, name in ((rival, "rival-ops"), (acme, "acme-ops")):
        with transaction(factory) as session:
            auth.create_user(
                session,
                username=name,
                password="correct horse battery",
                actor=TEST_ACTOR,
                organization_id=org,
            )
    stranger = page_client(client.app)  # type: ignore[arg-type]
    login = {"username": "rival-ops", "password": "correct horse battery"}
    assert stranger.post("/console/login", data=login, follow_redirects=False).status_code == 303
    assert stranger.post(url, data=form, follow_redirects=False).status_code == 404
    assert _moves(factory, a) == []
    own = page_client(client.app)  # type: ignore[arg-type]
    login = {"username": "acme-ops", "password": "correct horse battery"}
    assert own.post("/console/login", data=login, follow_redirects=False).status_code == 303
    moved = own.post(url, data=form, follow_redirects=False)
    assert moved.headers["location"] == f"/console/members/{a}?done=inviter"
    assert [inviter for _, inviter in _moves(factory, a)] == [b]


def test_a_move_reaching_back_past_priced_orders_stands_beside_its_field(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The console shows the refusal of a move dated before the member's latest priced order."""
    world = build(client, operator, factory, timezone=ZONE)
    other = create_member(client, operator, world.program_id, "other")["id"]
    post_order(client, operator, order_body(world, "PRICED", at=utcnow() - timedelta(hours=1)))
    console_sign_in(client, factory)
    stored = row_counts(factory)
    typed = _local(utcnow() - timedelta(hours=2))
    for lang, words in (("zh", "已计佣"), ("en", "already priced")):
        refused = client.post(
            f"/console/members/{world.seller}/inviter?lang={lang}",
            data={"inviter_id": str(other), "effective_from": typed},
        )
        assert refused.status_code == 409, refused.text
        code = "inviter_change_before_priced_orders"
        assert f'data-testid="error-effective_from" data-code="{code}"' in refused.text
        assert words in refused.text
    assert row_counts(factory) == stored

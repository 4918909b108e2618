"""Saving a segment is idempotent under the caller's ``Idempotency-Key`` (one segment however often the
request is retried, also at once on PostgreSQL; another body under the key is 409
``idempotency_key_reused``), a key is the member's own, and an operator's segment writes are audited by
the names of the criteria, never their values (docs/crm.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.crm import segments
from neigou.crm.models import Segment
from neigou.crm.schemas import SegmentIn
from neigou.kit.clock import utcnow
from neigou.programs.models import Member
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.crm.builders import Book, build
from tests.lock_waits import lock_waits, paused
from tests.parallel import in_parallel

BODY = {"name": "王女士的通勤朋友", "tags": ["通勤"], "spending_power": "high"}
PARALLEL = 6


def _post(
    client: TestClient, headers: dict[str, str], member_id: int, body: dict[str, Any], key: str | None
) -> Any:
    sent = {**headers, "Idempotency-Key": key} if key is not None else headers
    return client.post(f"/api/v1/members/{member_id}/segments", json=body, headers=sent)


def _count(factory: sessionmaker[Session], member_id: int) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count(Segment.id)).where(Segment.member_id == member_id)) or 0)


def _audited(client: TestClient, operator: dict[str, str], segment_id: int) -> list[dict[str, Any]]:
    params = {"entity": "segment", "entity_id": str(segment_id)}
    log = client.get("/api/v1/audit-log", params=params, headers=operator)
    assert log.status_code == 200, log.text
    return sorted(log.json(), key=lambda e: str(e["at"]) + str(e["id"]))


@pytest.fixture
def book(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> Book:
    return build(client, operator, make_token)


def test_a_retry_under_the_same_key_answers_the_first_segment(
    client: TestClient, book: Book, factory: sessionmaker[Session]
) -> None:
    h, m = book.member_headers, book.member
    first = _post(client, h, m, BODY, "seg-1")
    assert first.status_code == 201, first.text
    again = _post(client, h, m, BODY, "seg-1")
    assert (again.status_code, again.json()) == (201, first.json())
    assert _count(factory, m) == 1
    # Replaced since: a late retry still answers it, as it is now, and writes nothing.
    path = f"/api/v1/segments/{first.json()['id']}"
    replaced = client.put(path, json={"name": "七月生日", "birthday_month": 7}, headers=h)
    assert replaced.status_code == 200, replaced.text
    late = _post(client, h, m, BODY, "seg-1")
    assert (late.status_code, late.json()) == (201, replaced.json())
    assert _count(factory, m) == 1
    # Without a key every request saves a segment, as before.
    for _ in range(2):
        assert _post(client, h, m, BODY, None).status_code == 201
    assert _count(factory, m) == 3


def test_another_body_under_a_used_key_is_refused_and_writes_nothing(
    client: TestClient, book: Book, factory: sessionmaker[Session]
) -> None:
    h, m = book.member_headers, book.member
    assert _post(client, h, m, BODY, "seg-2").status_code == 201
    before = row_counts(factory)
    for other in ({**BODY, "name": "别的分群"}, {**BODY, "tags": ["运动"]}, {"name": BODY["name"]}):
        refused = _post(client, h, m, other, "seg-2")
        assert (refused.status_code, refused.json()["code"]) == (409, "idempotency_key_reused"), refused.text
        assert "别的分群" not in refused.text  # never quoted back
        assert "运动" not in refused.text
    chinese = _post(client, {**h, "Accept-Language": "zh-CN"}, m, {"name": "x"}, "seg-2")
    assert chinese.json()["detail"] == "此 Idempotency-Key 已用于另一个分群。"
    assert row_counts(factory) == before
    # A refused key is not taken: a key never used still saves.
    assert _post(client, h, m, {"name": "x"}, "seg-3").status_code == 201


def test_a_key_is_the_members_own(
    client: TestClient, operator: dict[str, str], book: Book, factory: sessionmaker[Session]
) -> None:
    mine = _post(client, book.member_headers, book.member, BODY, "shared-key")
    assert mine.status_code == 201, mine.text
    # The colleague's request under the same key and body saves their own segment, never answers mine.
    theirs = _post(client, book.other_headers, book.other, BODY, "shared-key")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != mine.json()["id"]
    assert theirs.json()["member_id"] == book.other
    # Another body under it is theirs to use too: no 409 that would tell the key is taken elsewhere.
    other_body = _post(client, operator, book.other, {"name": "y"}, "key-of-member")
    assert other_body.status_code == 201
    assert _post(client, book.member_headers, book.member, BODY, "key-of-member").status_code == 201
    # The operator acting for the member under the member's key answers the member's segment.
    for_member = _post(client, operator, book.member, BODY, "shared-key")
    assert (for_member.status_code, for_member.json()["id"]) == (201, mine.json()["id"])
    assert (_count(factory, book.member), _count(factory, book.other)) == (2, 2)


def test_who_may_save_a_segment_under_a_key(
    client: TestClient, book: Book, make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    m = book.member
    assert _post(client, book.member_headers, m, BODY, "authz-1").status_code == 201
    integration = bearer(make_token(Role.INTEGRATION))
    before = row_counts(factory)
    anonymous = _post(client, {}, m, BODY, "authz-1")
    assert anonymous.status_code == 401
    wrong_role = _post(client, integration, m, BODY, "authz-1")
    assert wrong_role.status_code == 403, wrong_role.text
    # The colleague may not replay the member's key on the member's path: refused before any look-up.
    other = _post(client, book.other_headers, m, BODY, "authz-1")
    assert (other.status_code, other.json()["code"]) == (403, "other_member")
    assert str(BODY["name"]) not in other.text
    assert row_counts(factory) == before
    too_long = _post(client, book.member_headers, m, BODY, "k" * 65)
    assert (too_long.status_code, too_long.json()["code"]) == (422, "validation_error")
    assert row_counts(factory) == before


def test_an_operators_segment_writes_are_audited_without_their_values(
    client: TestClient, operator: dict[str, str], book: Book
) -> None:
    made = _post(client, operator, book.member, BODY, "audit-1")
    assert made.status_code == 201, made.text
    assert _post(client, operator, book.member, BODY, "audit-1").status_code == 201  # a retry: no entry
    segment_id = made.json()["id"]
    path = f"/api/v1/segments/{segment_id}"
    replaced = {**BODY, "name": "李先生的同事", "dormant_days": 30}
    assert client.put(path, json=replaced, headers=operator).status_code == 200
    assert client.put(path, json=replaced, headers=operator).status_code == 200  # unchanged: no entry
    assert client.delete(path, headers=operator).status_code == 204
    entries = _audited(client, operator, segment_id)
    assert [(e["action"], e["before"], e["after"]) for e in entries] == [
        (
            "segment.create",
            None,
            {"member_id": book.member, "name": "changed", "tags": "changed", "spending_power": "changed"},
        ),
        ("segment.update", None, {"name": "changed", "dormant_days": "changed"}),
        (
            "segment.delete",
            {
                "member_id": book.member,
                "name": "changed",
                "tags": "changed",
                "spending_power": "changed",
                "dormant_days": "changed",
            },
            None,
        ),
    ]
    assert all(e["actor_kind"] == "operator" and e["at"] for e in entries)
    logged = json.dumps(entries, ensure_ascii=False)
    assert not any(word in logged for word in ("王女士", "李先生", "通勤", "high"))


@pytest.mark.postgres_only
def test_parallel_retries_under_one_key_save_one_segment(book: Book, factory: sessionmaker[Session]) -> None:
    body = SegmentIn.model_validate(BODY)
    # Each side holds before its commit until every other one waits for the key it inserted (or is done):
    # without the unique key none would wait, and each would save a segment.
    waits = lock_waits(factory, PARALLEL)
    create = paused(segments.create_segment, waits)

    def save(session: Session) -> int:
        waits.join(session)
        member = session.get(Member, book.member)
        assert member is not None
        segment = create(
            session, member=member, body=body, request_id="race-1", actor=TEST_ACTOR, at=utcnow()
        )
        return int(segment.id)

    results = in_parallel(factory, save, PARALLEL)
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 1
    assert _count(factory, book.member) == 1

"""Two deletes (or a delete and a replace) of one segment at once (both databases): each reads the segment
locked before it writes, so the second waits for the first one's commit and finds its work: a second
delete is 404 ``segment_not_found`` with no audit entry (it was a second 204 and a second
``segment.delete`` entry), a replace after a delete is 404 too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.crm import segment_endpoints
from neigou.crm.schemas import SegmentIn
from neigou.kit.errors import NotFound
from tests.conftest import TokenMaker
from tests.crm.builders import build
from tests.lock_waits import lock_waits, paused, two_sides

OPERATOR = Principal(token_id=0, role=Role.OPERATOR, member_id=None, user_id=None, label="tests")


def _segment(client: TestClient, operator: dict[str, str], make_token: TokenMaker) -> int:
    book = build(client, operator, make_token)
    made = client.post(
        f"/api/v1/members/{book.member}/segments", json={"name": "通勤", "tags": ["通勤"]}, headers=operator
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _delete(segment_id: int) -> object:
    def work(session: Session) -> object:
        return segment_endpoints.delete_segment(segment_id, session, OPERATOR).status_code

    return work


def _replace(segment_id: int) -> object:
    def work(session: Session) -> object:
        body = SegmentIn.model_validate({"name": "七月生日", "birthday_month": 7})
        return segment_endpoints.replace_segment(segment_id, body, session, OPERATOR).name

    return work


@pytest.mark.parametrize("second", ["delete", "replace"])
def test_a_write_after_a_delete_of_the_same_segment_finds_it_gone(
    *,
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    second: str,
) -> None:
    segment_id = _segment(client, operator, make_token)
    waits = lock_waits(factory, 2)
    monkeypatch.setattr(
        segment_endpoints, "require_segment", paused(segment_endpoints.require_segment, waits)
    )
    later = _delete(segment_id) if second == "delete" else _replace(segment_id)
    first, other = two_sides(factory, _delete(segment_id), later, waits)  # type: ignore[arg-type]
    assert first == 204
    assert isinstance(other, NotFound), other
    assert other.code == "segment_not_found"
    with factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity == "segment", AuditEntry.entity_id == str(segment_id)
            )
        ).all()
    assert sorted(actions) == ["segment.create", "segment.delete"]

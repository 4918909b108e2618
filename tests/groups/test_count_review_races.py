"""Two reviews of one held count at once (both databases), through the API's and the console's handlers:
the count is read locked before its state is, so the second review waits for the first one's commit and
finds the count decided, 409 ``not_awaiting_review``; one decision stands and is audited once. A second
reviewer over HTTP reads the refusal in Chinese or English, on the API and on the console."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.groups import endpoints
from neigou.groups import repository as repo
from neigou.groups.models import CountReview, GroupCount
from neigou.groups.schemas import ReviewIn
from neigou.kit.errors import ProblemError
from neigou.web import console_groups
from tests.factories import create_member, create_program
from tests.groups.builders import create_group, post_count
from tests.lock_waits import lock_waits, paused, two_sides
from tests.sign_in import console_sign_in

REVIEWER = Principal(token_id=0, role=Role.OPERATOR, member_id=None, user_id=None, label="reviewer")


def _held(client: TestClient, operator: dict[str, str]) -> tuple[int, int]:
    """A group and its count held for review (over the platform's group size)."""
    program = create_program(client, operator, code="held")
    owner = create_member(client, operator, program["id"], name="群主·王")
    group = create_group(client, operator, owner["id"])
    held = post_count(client, operator, group["id"], 501, "2026-03-26T20:00:00+08:00")
    assert held.json()["review"] == "needs_review", held.text
    return int(group["id"]), int(held.json()["id"])


def _api(group_id: int, count_id: int, accept: bool) -> Callable[[Session], Any]:
    def work(session: Session) -> str:
        out = endpoints.review_count(group_id, count_id, ReviewIn(accept=accept), session, REVIEWER)
        return str(out.review)

    return work


def _console(group_id: int, count_id: int, accept: bool) -> Callable[[Session], Any]:
    def work(session: Session) -> int:
        answer = console_groups.review_page(group_id, count_id, session, REVIEWER, accept)
        return answer.status_code

    return work


@pytest.mark.parametrize("handler", [_api, _console], ids=["api", "console"])
def test_the_second_of_two_reviews_at_once_finds_the_count_decided(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    handler: Callable[[int, int, bool], Callable[[Session], Any]],
) -> None:
    group_id, count_id = _held(client, operator)
    waits = lock_waits(factory, 2)
    # The first review holds once it read the count it decides on.
    monkeypatch.setattr(repo, "get_count", paused(repo.get_count, waits))
    first, second = two_sides(
        factory, handler(group_id, count_id, True), handler(group_id, count_id, False), waits
    )
    assert first in {"accepted", 303}, first
    assert isinstance(second, ProblemError), second
    assert (second.status, second.code) == (409, "not_awaiting_review")
    with factory() as session:
        assert session.get_one(GroupCount, count_id).review is CountReview.ACCEPTED
        audited = session.scalars(
            select(AuditEntry.after).where(
                AuditEntry.action == "group.count.review", AuditEntry.entity_id == str(group_id)
            )
        ).all()
    assert audited == [{"count_id": count_id, "review": "accepted"}]


def test_a_second_reviewer_reads_why_in_chinese_or_english(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    group_id, count_id = _held(client, operator)
    path = f"/api/v1/groups/{group_id}/counts/{count_id}/review"
    assert client.post(path, json={"accept": False}, headers=operator).status_code == 200
    chinese = client.post(path, json={"accept": True}, headers={**operator, "Accept-Language": "zh-CN"})
    assert chinese.status_code == 409
    assert chinese.headers["content-type"].startswith("application/problem+json")
    assert (chinese.json()["code"], chinese.json()["detail"]) == (
        "not_awaiting_review",
        "这条群人数记录已被拒绝，不再等待审核。",
    )
    english = client.post(path, json={"accept": True}, headers={**operator, "Accept-Language": "en"})
    assert english.json()["detail"] == "This count was already rejected: it is no longer awaiting review."
    console_sign_in(client, factory)
    page = client.post(f"/console/groups/{group_id}/counts/{count_id}/review", data={"accept": "true"})
    assert page.status_code == 409
    assert 'data-code="not_awaiting_review"' in page.text
    assert "这条群人数记录已被拒绝" in page.text
    english_page = client.post(
        f"/console/groups/{group_id}/counts/{count_id}/review?lang=en", data={"accept": "true"}
    )
    assert english_page.status_code == 409
    assert "This count was already rejected" in english_page.text

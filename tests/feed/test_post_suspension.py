"""A suspended member makes no group posts: neither the API nor the workspace's post builder mints the
links a post carries (409 ``member_suspended``, the workspace shows it translated), and nothing is
written."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.risk.models import CaseStatus, RiskCase, Severity, Suspension
from tests.campaigns import builders as b
from tests.conftest import TokenMaker, row_counts
from tests.sign_in import member_sign_in


def _suspend(factory: sessionmaker[Session], world: b.FeedWorld) -> None:
    now = utcnow()
    with transaction(factory) as session:
        case = RiskCase(
            program_id=world.program_id,
            rule="order_brushing",
            subject=f"member:{world.owner}",
            severity=Severity.MEDIUM,
            member_id=world.owner,
            status=CaseStatus.CONFIRMED,
            evidence={},
            explanation={"msgid": "confirmed", "values": {}},
            opened_at=now,
            resolved_at=now,
            suspended=True,
        )
        session.add(case)
        session.flush()
        session.add(Suspension(member_id=world.owner, program_id=world.program_id, case_id=case.id, at=now))


def test_a_suspended_member_makes_no_posts(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    world = b.build(client, operator, make_token)
    b.create_live_campaign(client, operator, world.program_id)
    _suspend(factory, world)
    before = row_counts(factory)
    refused = client.post(
        f"/api/v1/members/{world.owner}/posts",
        json={"group_ids": world.groups[:2], "skus": [b.SHAMPOO, b.TEE], "at": b.AT.isoformat()},
        headers=world.owner_headers,
    )
    assert (refused.status_code, refused.json().get("code")) == (409, "member_suspended"), refused.text
    assert row_counts(factory) == before
    member_sign_in(client, make_token("member", world.owner))
    before = row_counts(factory)
    page = client.post(
        "/m/posts",
        data={"sku": [b.SHAMPOO], "group_id": world.groups[:1], "slot": "now"},
        follow_redirects=False,
    )
    assert page.status_code == 303
    assert "error=member_suspended" in page.headers["location"]
    assert "你的账号被暂停，发群已停止。" in client.get(page.headers["location"]).text
    assert row_counts(factory) == before

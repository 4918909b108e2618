"""A ladder set after members joined places them on its entry tier from when they joined; a tier a
member holds or once held stays in the ladder (its rate and name may change)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit.models import AuditEntry
from neigou.network.recruit_codes import recruit_code
from neigou.programs.models import Member
from tests.conftest import SECRET, row_counts
from tests.factories import PARTNER_TIERS, create_member
from tests.offers import factories as offers
from tests.orders.builders import SKU, make_link
from tests.tiers.builders import tiers_of

JOINED = datetime(2026, 2, 1, tzinfo=UTC)


def _program(client: TestClient, operator: dict[str, str]) -> dict[str, Any]:
    """A program without a ladder yet."""
    response = client.post("/api/v1/programs", json={"code": "early", "name": "Early"}, headers=operator)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _put(client: TestClient, operator: dict[str, str], program_id: int, tiers: list[dict[str, Any]]) -> Any:
    return client.put(f"/api/v1/programs/{program_id}/tiers", json=tiers, headers=operator)


def test_members_who_joined_before_the_ladder_are_placed_on_its_entry_tier_from_when_they_joined(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = _program(client, operator)
    early = create_member(client, operator, program["id"], "early", joined_at=JOINED.isoformat())
    assert early["tier"] is None
    joined = client.post(
        f"/j/{recruit_code(SECRET, early['id'])}", data={"name": "小李", "phone": "13812340000"}
    )
    assert joined.status_code == 201, joined.text
    with factory() as session:
        recruit = session.scalars(select(Member).where(Member.name == "小李")).one()
        recruit_id, recruit_joined = recruit.id, recruit.joined_at
    assert recruit.tier_code is None

    assert _put(client, operator, program["id"], PARTNER_TIERS).status_code == 200
    member = client.get(f"/api/v1/members/{early['id']}", headers=operator).json()
    assert member["tier"] == "super_member"
    assert tiers_of(factory, early["id"]) == [(JOINED, "super_member", "ladder set")]
    assert tiers_of(factory, recruit_id) == [(recruit_joined, "super_member", "ladder set")]
    with factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "program.tiers.replace").order_by(AuditEntry.id)
        ).all()[-1]
    assert entry.after is not None
    assert entry.after["members_placed"] == 2

    # Orders credited to them since they joined (reported late or not) pay the entry tier.
    offers.product(client, operator, SKU, 4990, commission_rate_bp=2000)
    link = make_link(factory, early["id"])
    body = {
        "external_id": "EARLY-1",
        "program_id": program["id"],
        "customer_ref": "shopper-1",
        "link_code": link,
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": 10_000}],
        "paid_at": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
    }
    order = client.post("/api/v1/orders", json=body, headers=operator)
    assert order.status_code == 201, order.text
    assert (order.json()["commission_fen"], order.json()["commissions"][0]["tier"]) == (400, "super_member")

    # Setting the ladder again places nobody twice.
    assert _put(client, operator, program["id"], PARTNER_TIERS).status_code == 200
    assert tiers_of(factory, early["id"]) == [(JOINED, "super_member", "ladder set")]


def test_a_tier_in_a_members_history_cannot_be_removed_but_may_be_renamed_and_repriced(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    program = _program(client, operator)
    assert _put(client, operator, program["id"], PARTNER_TIERS).status_code == 200
    member = create_member(client, operator, program["id"], "a", tier="mentor", joined_at=JOINED.isoformat())
    demoted = client.put(
        f"/api/v1/members/{member['id']}/tier",
        json={"tier": "super_member", "reason": "demoted"},
        headers=operator,
    )
    assert demoted.status_code == 200, demoted.text
    before = row_counts(factory)
    removed = _put(client, operator, program["id"], PARTNER_TIERS[:1])
    assert (removed.status_code, removed.json()["code"]) == (409, "tier_in_history")
    assert removed.headers["content-type"].startswith("application/problem+json")
    assert "会员曾处于等级" in removed.json()["detail"]
    english = client.put(
        f"/api/v1/programs/{program['id']}/tiers",
        json=PARTNER_TIERS[:1],
        headers={**operator, "Accept-Language": "en"},
    )
    assert "mentor" in english.json()["detail"]
    assert "instead of removing them" in english.json()["detail"]
    assert row_counts(factory) == before
    renamed = [PARTNER_TIERS[0], {**PARTNER_TIERS[1], "name": "金牌导师", "share_bp": 2800}]
    assert _put(client, operator, program["id"], renamed).status_code == 200
    ladder = client.get(f"/api/v1/programs/{program['id']}/tiers", headers=operator).json()
    assert [(t["code"], t["name"], t["share_bp"]) for t in ladder] == [
        ("super_member", "超级会员", 2000),
        ("mentor", "金牌导师", 2800),
    ]

"""Small builders for API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

PARTNER_TIERS: list[dict[str, Any]] = [
    {"code": "super_member", "name": "超级会员", "rank": 1, "share_bp": 2000, "override_bp": 500},
    {
        "code": "mentor",
        "name": "导师",
        "rank": 2,
        "share_bp": 3000,
        "override_bp": 1000,
        "upgrade": {
            "period": "month",
            "all": [
                {"metric": "direct_recruits", "gte": 3, "tier": "super_member"},
                {"metric": "orders", "gte": 10},
            ],
        },
    },
]


def create_program(
    client: TestClient, headers: dict[str, str], code: str = "partners", **extra: Any
) -> dict[str, Any]:
    """A program with the partner ladder."""
    body = {"code": code, "name": f"Program {code}", **extra}
    response = client.post("/api/v1/programs", json=body, headers=headers)
    assert response.status_code == 201, response.text
    program: dict[str, Any] = response.json()
    tiers = client.put(f"/api/v1/programs/{program['id']}/tiers", json=PARTNER_TIERS, headers=headers)
    assert tiers.status_code == 200, tiers.text
    return program


def create_member(
    client: TestClient, headers: dict[str, str], program_id: int, name: str = "member", **extra: Any
) -> dict[str, Any]:
    """A member of a program."""
    response = client.post(
        f"/api/v1/programs/{program_id}/members", json={"name": name, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    member: dict[str, Any] = response.json()
    return member

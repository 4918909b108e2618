"""Small builders for the groups tests (through the API, so every rule applies)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

FIELD_SCHEDULE: dict[str, Any] = {
    "points": [{"date": "2026-03-24", "min_members": 250}, {"date": "2026-04-02", "min_members": 400}],
    "daily_increase_after": 3,
}


def create_group(
    client: TestClient, headers: dict[str, str], owner_id: int | None, name: str = "内购1群", **extra: Any
) -> dict[str, Any]:
    """A WeChat group of ``owner_id``."""
    body: dict[str, Any] = {"name": name, "platform": "wechat", **extra}
    if owner_id is not None:
        body["owner_member_id"] = owner_id
    response = client.post("/api/v1/groups", json=body, headers=headers)
    assert response.status_code == 201, response.text
    group: dict[str, Any] = response.json()
    return group


def post_count(
    client: TestClient, headers: dict[str, str], group_id: int, member_count: int, observed_at: str
) -> Any:
    """Record an observation (the response, for status checks)."""
    return client.post(
        f"/api/v1/groups/{group_id}/counts",
        json={"member_count": member_count, "observed_at": observed_at},
        headers=headers,
    )


def put_targets(client: TestClient, headers: dict[str, str], program_id: int, body: dict[str, Any]) -> Any:
    """Store a schedule (the response)."""
    return client.put(f"/api/v1/programs/{program_id}/group-targets", json=body, headers=headers)


def compliance(client: TestClient, headers: dict[str, str], program_id: int, on: str) -> dict[str, Any]:
    """The compliance report of a date."""
    response = client.get(f"/api/v1/programs/{program_id}/group-compliance?date={on}", headers=headers)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def standing(report: dict[str, Any], group_id: int) -> dict[str, Any]:
    """One group's row of a compliance report."""
    rows: list[dict[str, Any]] = [g for g in report["groups"] if g["group_id"] == group_id]
    assert len(rows) == 1, report
    return rows[0]


# The authorization matrix (tests/authz) calls every groups route with these.
MATRIX_COUNT: dict[str, Any] = {"member_count": 310, "observed_at": "2026-03-21T12:00:00+08:00"}
MATRIX_IMPORT: dict[str, Any] = {"csv": "owner_member_id,group,member_count,observed_at\n"}


def matrix_world(client: TestClient, headers: dict[str, str], owner_id: int) -> dict[str, int]:
    """A group of the matrix's own member and a count held for review (over WeChat's 500)."""
    group = create_group(client, headers, owner_id, name="矩阵群")
    held = post_count(client, headers, group["id"], 900, "2026-03-20T12:00:00+08:00")
    assert held.json()["review"] == "needs_review", held.text
    return {"group_id": group["id"], "count_id": held.json()["id"]}

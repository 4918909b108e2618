"""Malformed ids and query values on the network routes are 4xx problems, never a 500."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import create_member, create_program

BAD_IDS = ["0", "-1", str(2**63), str(10**30), "abc", "1.5"]
BAD_QUERIES = [
    "period=2026-02-30",
    "period=" + "x" * 2_000,
    "period=%00",
    "limit=0",
    "limit=501",
    "offset=-1",
    f"offset={2**63}",
    f"limit={2**63}",
    "metric=",
]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/members/{id}/team",
        "/api/v1/members/{id}/recruiting-link",
        "/api/v1/members/{id}/recruiting-poster.png",
        "/api/v1/programs/{id}/leaderboard",
    ],
)
def test_bad_ids_and_queries_are_problems(client: TestClient, operator: dict[str, str], path: str) -> None:
    program = create_program(client, operator)
    member = create_member(client, operator, program["id"])
    for bad in BAD_IDS:
        response = client.get(path.format(id=bad), headers=operator)
        assert 400 <= response.status_code < 500, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"]
    own = path.format(id=program["id"] if "programs" in path else member["id"])
    for query in BAD_QUERIES:
        response = client.get(f"{own}?{query}", headers=operator)
        assert response.status_code < 500, (query, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"

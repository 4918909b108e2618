"""What the authorization matrix needs of tiers: a past evaluation of the matrix's own program."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

MATRIX_PERIOD = "2026-01"
MATRIX_EVALUATION = {"period": "2026-03"}
MATRIX_OVERRIDE = {"tier": "mentor", "reason": "矩阵测试"}


def matrix_world(client: TestClient, headers: dict[str, str], program_id: int) -> dict[str, Any]:
    """The evaluated period for the ``GET …/tier-evaluations/{period}`` case."""
    response = client.post(
        f"/api/v1/programs/{program_id}/tier-evaluations", json={"period": MATRIX_PERIOD}, headers=headers
    )
    assert response.status_code == 201, response.text
    return {"period": MATRIX_PERIOD}

"""The README's quick start makes a program that pays: its own request bodies, sent as written."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from neigou.kit.clock import utcnow
from tests.factories import create_member
from tests.offers import factories as offers

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_quick_start_program_pays_commission(client: TestClient, operator: dict[str, str]) -> None:
    text = README.read_text(encoding="utf-8")
    program_body = json.loads(re.search(r"-d '(\{\"code\":\"partners\".*?\})' \$API/programs", text).group(1))  # type: ignore[union-attr]
    tiers_body = json.loads(re.search(r"/tiers -d '(\[.*?\])'", text, re.S).group(1))  # type: ignore[union-attr]
    program = client.post("/api/v1/programs", json=program_body, headers=operator)
    assert program.status_code == 201, program.text
    program_id = program.json()["id"]
    tiers = client.put(f"/api/v1/programs/{program_id}/tiers", json=tiers_body, headers=operator)
    assert tiers.status_code == 200, tiers.text
    seller = create_member(client, operator, program_id, "seller")
    offers.product(client, operator, "QS-1", 10_000, commission_rate_bp=2000)
    link = client.post("/api/v1/links", json={"member_id": seller["id"], "sku": "QS-1"}, headers=operator)
    assert link.status_code == 201, link.text
    order = client.post(
        "/api/v1/orders",
        json={
            "external_id": "QS-ORDER-1",
            "program_id": program_id,
            "customer_ref": "13800000009",
            "link_code": link.json()["code"],
            "items": [{"sku": "QS-1", "quantity": 1, "paid_fen": 10_000}],
            "paid_at": utcnow().isoformat(),
        },
        headers=operator,
    )
    assert order.status_code == 201, order.text
    # a ¥100.00 sale at a 20% rate is a ¥20.00 pool; the lowest tier's seller share is 20% of it
    assert order.json()["commission_fen"] == 400

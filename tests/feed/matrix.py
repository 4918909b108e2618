"""What the authorization matrix (tests/authz) needs of campaigns, posts and live codes."""

from __future__ import annotations

import io
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from tests.campaigns.builders import create_campaign, matrix_campaign
from tests.offers import factories as offers


def qr_png() -> bytes:
    """A small PNG a live code accepts as a group's QR image."""
    out = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(out, format="PNG")
    return out.getvalue()


MATRIX_QR = {"image": ("qr.png", qr_png(), "image/png")}
MATRIX_ROBOT = {"webhook_url": None}


def matrix_posts(ids: dict[str, Any]) -> dict[str, Any]:
    """A post of the matrix sku for the own member's group, at the offers' NOW."""
    return {"group_ids": [ids["group_id"]], "skus": [offers.MATRIX_SKU], "at": offers.NOW.isoformat()}


def matrix_live_code(ids: dict[str, Any]) -> dict[str, Any]:
    """A live code over the own member's group."""
    return {"owner_member_id": ids["member"], "group_ids": [ids["group_id"]], "capacity": 400}


def matrix_world(client: TestClient, operator: dict[str, str], ids: dict[str, Any]) -> dict[str, Any]:
    """A live campaign of the matrix sku, a post of the own member and a live code over their group."""
    campaign = create_campaign(
        client, operator, {**matrix_campaign(ids["program"]), "starts_at": offers.OPENS}
    )
    posts = client.post(f"/api/v1/members/{ids['member']}/posts", json=matrix_posts(ids), headers=operator)
    assert posts.status_code == 201, posts.text
    live = client.post("/api/v1/groups/live-codes", json=matrix_live_code(ids), headers=operator)
    assert live.status_code == 201, live.text
    return {
        "campaign_id": campaign["id"],
        "post_id": posts.json()["posts"][0]["id"],
        "live_code": live.json()["code"],
    }

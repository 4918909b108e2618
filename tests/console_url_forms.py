"""The console forms that take a URL to send to: an integration's outbound URL and the CRM push target,
posted as a signed-in operator posts them."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpx2 import Response


def post_url_forms(
    client: TestClient, program_id: int, *, outbound_url: str, target: str
) -> tuple[Response, Response]:
    """The answers to the integration form with ``outbound_url`` and to the CRM settings form sending
    pushes to a webhook at ``target`` (its redirect not followed)."""
    shop = client.post(
        f"/console/programs/{program_id}/integrations",
        data={"name": "澜泉商城", "outbound_url": outbound_url},
    )
    crm = client.post(
        "/console/crm/settings",
        data={
            "program_id": program_id,
            "channel": "webhook",
            "cap_pushes": 2,
            "cap_days": 7,
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "target": target,
        },
        follow_redirects=False,
    )
    return shop, crm

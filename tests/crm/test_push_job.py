"""The delivery job runs with the application's settings, as its requests do: a webhook message's
link starts with the deployment's public URL, and the target is unsealed with its keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.crm import push_delivery
from neigou.crm.models import MessageStatus, PushMessage
from neigou.kit.settings import Settings
from tests.campaigns import builders as fb
from tests.conftest import TokenMaker, app_settings
from tests.crm import push_builders as pb
from tests.crm.push_builders import AT

pytestmark = pytest.mark.usefixtures("push_clock")

PUBLIC = "https://shop.brand.example"
HOOK = "https://crm.brand.example/neigou/pushes"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A deployment reached at its own public URL (the test client still calls it ``testserver``)."""
    return app_settings(database_url, tmp_path).model_copy(
        update={"public_url": PUBLIC, "trusted_hosts": "testserver"}
    )


def test_the_job_builds_links_with_the_running_public_url(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = pb.send_through(
        client, operator, pb.build(client, operator, make_token, factory), "webhook", HOOK
    )
    made = pb.push(client, world, customer_ids=[world.wang], skus=[fb.SHAMPOO])
    posted: list[tuple[str, dict[str, Any]]] = []

    def post(url: str, _secret: str, body: dict[str, Any], **_: Any) -> tuple[bool, str]:
        posted.append((url, body))
        return True, "ok"

    monkeypatch.setattr(push_delivery, "_post_webhook", post)
    assert client.app.state.jobs.run(push_delivery.DELIVER_JOB, key="deliver-1", payload={}, at=AT)  # type: ignore[attr-defined]
    message = made["messages"][0]
    assert [(url, body["data"]["link_url"]) for url, body in posted] == [
        (HOOK, f"{PUBLIC}/l/{message['link_code']}")
    ]
    with factory() as session:
        assert session.get(PushMessage, message["id"]).status is MessageStatus.SENT  # type: ignore[union-attr]

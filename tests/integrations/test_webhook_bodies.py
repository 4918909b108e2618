"""A signed webhook's body nested past the JSON parser's depth is a bad body (422, in the reader's
language, nothing written), as a body that is not JSON: never a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.integrations import signing
from neigou.kit.clock import utcnow
from tests.conftest import row_counts
from tests.orders.builders import build

DEPTH = 100_000  # 200 KB, well under the 1 MiB a webhook's body may hold


def test_a_signed_body_nested_past_the_parsers_depth_is_a_bad_body(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w = build(client, operator, factory, max_levels=2)
    made = client.post(
        f"/api/v1/programs/{w.program_id}/integrations", json={"name": "商城"}, headers=operator
    )
    shop = made.json()
    raw = ('{"type": "order.paid", "data": {"x": ' + "[" * DEPTH + "]" * DEPTH + "}}").encode()
    before = row_counts(factory)
    for language, detail in (("zh-CN", "回调内容格式错误。"), ("en", "The body is not a webhook envelope.")):
        headers = {**signing.headers(shop["inbound_secret"], utcnow(), raw), "Accept-Language": language}
        answer = client.post(
            f"/webhooks/v1/integrations/{shop['id']}",
            content=raw,
            headers={**headers, "content-type": "application/json"},
        )
        assert (answer.status_code, answer.json()["code"]) == (422, "validation_error"), answer.text[:200]
        assert answer.json()["detail"] == detail
    assert row_counts(factory) == before

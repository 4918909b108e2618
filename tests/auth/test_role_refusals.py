"""A refusal for the wrong role names the roles that may call, in the caller's language."""

from __future__ import annotations

from fastapi.testclient import TestClient

from neigou.auth.models import Role
from tests.conftest import TokenMaker, bearer


def test_the_roles_and_their_separator_are_translated(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker
) -> None:
    made = client.post("/api/v1/merchants", json={"code": "shop", "name": "shop"}, headers=operator)
    assert made.status_code == 201, made.text
    merchant = bearer(make_token(Role.MERCHANT, merchant_id=made.json()["id"]))
    integration = bearer(make_token(Role.INTEGRATION))
    for headers, path, zh, en in (
        (merchant, "/api/v1/programs/1", "需要角色：会员或运营。", "This needs the role Member or Operator."),
        (integration, "/api/v1/events", "需要角色：运营。", "This needs the role Operator."),
    ):
        for language, expected in (("zh-CN", zh), ("en", en)):
            refused = client.get(path, headers={**headers, "Accept-Language": language})
            assert refused.status_code == 403, refused.text
            assert refused.json()["code"] == "forbidden"
            assert refused.json()["detail"].endswith(expected)
            assert " or " not in refused.json()["detail"] or language == "en"

"""Segments: a member's saved filters, kept and resolved to the customers they hold now."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TokenMaker, row_counts
from tests.crm.builders import add_customer, build, set_times


def test_save_resolve_replace_and_delete(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, factory: sessionmaker[Session]
) -> None:
    book = build(client, operator, make_token)
    h, m = book.member_headers, book.member
    add_customer(
        client, h, m, "13800000051", name="a", tags=["通勤"], spending_power="high", birthday="1990-07-01"
    )
    b = add_customer(client, h, m, "13800000052", name="b", tags=["通勤"], spending_power="low")
    add_customer(client, h, m, "13800000053", name="c", tags=["运动"], spending_power="high")
    set_times(factory, b["id"], preferred_categories=["apparel"])
    made = client.post(
        f"/api/v1/members/{m}/segments",
        json={"name": "通勤高消费", "tags": ["通勤"], "spending_power": "high"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    segment = made.json()
    path = f"/api/v1/segments/{segment['id']}"
    assert [c["name"] for c in client.get(f"{path}/customers", headers=h).json()] == ["a"]
    replaced = client.put(path, json={"name": "服饰", "category": "apparel"}, headers=h)
    assert (replaced.json()["tags"], replaced.json()["spending_power"]) == ([], None)
    assert [c["name"] for c in client.get(f"{path}/customers", headers=h).json()] == ["b"]
    client.put(path, json={"name": "七月生日", "birthday_month": 7}, headers=h)
    assert [c["name"] for c in client.get(f"{path}/customers", headers=h).json()] == ["a"]
    assert [s["name"] for s in client.get(f"/api/v1/members/{m}/segments", headers=h).json()] == ["七月生日"]
    before = row_counts(factory)
    for method, url in (("GET", path), ("GET", f"{path}/customers"), ("DELETE", path)):
        answer = client.request(method, url, headers=book.other_headers)
        assert (answer.status_code, answer.json()["code"]) == (404, "segment_not_found")
    bad = client.put(path, json={"name": "x", "birthday_month": 13}, headers=h)
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
    assert row_counts(factory) == before
    assert client.delete(path, headers=h).status_code == 204
    assert client.get(path, headers=h).status_code == 404

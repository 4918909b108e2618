"""A lowering below the claims the Redis gate has answered, as the API (409 problem+json), the console's
and the merchant portal's edit forms (the form again, with the refusal) show it; and claims racing
lowerings on PostgreSQL: never an oversell, never a dead letter."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.errors import Conflict
from neigou.links.stock_gate import StockGate
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon
from tests.links.test_stock_caps import edit, other_process, stored
from tests.offers.factories import coupon
from tests.sign_in import console_sign_in, merchant_sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLAIMED_3 = "已被领取 3 张，库存不能少于已领数量。"
UNCONFIRMED = "暂时无法核对该优惠券的领取数量，库存不能调低。请稍后再试，或先暂停该优惠券。"


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _ok(response: Any, status: int = 201) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _form(total: int) -> dict[str, str]:
    ends = (utcnow() + timedelta(days=3)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    terms = {"value": "10", "min_spend_yuan": "0", "visibility": "public"}  # as they are
    return {"name": "限量券", "status": "active", "total_quantity": str(total), "ends_at": ends, **terms}


def test_the_api_and_the_forms_refuse_a_lowering_below_the_claims_in_the_stream(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    shop = _ok(client.post("/api/v1/merchants", json={"code": "cap", "name": "店"}, headers=operator))["id"]
    product = {"sku": "CAP-1", "title": "店品", "price_fen": 30000, "commission_rate_bp": 1000}
    _ok(client.post("/api/v1/products", json={**product, "merchant_id": shop}, headers=operator))
    now = utcnow()
    coupon = {
        "name": "限量券",
        "kind": "amount_off",
        "value": 1000,
        "skus": ["CAP-1"],
        "total_quantity": 10,
        "merchant_id": shop,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }
    coupon_id = _ok(client.post("/api/v1/coupons", json=coupon, headers=operator))["id"]
    for who in ("13800000001", "13800000002", "13800000003"):
        assert _claim(factory, gate, coupon_id, who).startswith("taken:")  # answered, not yet stored

    path = f"/api/v1/coupons/{coupon_id}"
    low = client.patch(path, json={"total_quantity": 2}, headers={**operator, "Accept-Language": "zh-CN"})
    assert low.status_code == 409
    assert low.headers["content-type"].startswith("application/problem+json")
    assert (low.json()["code"], low.json()["claimed_quantity"]) == ("quantity_below_claimed", 3)
    assert "已被领取 3 张" in low.json()["detail"]
    english = client.patch(
        path, json={"total_quantity": 2}, headers={**operator, "Accept-Language": "en"}
    ).json()["detail"]
    assert f"Coupon {coupon_id} has 3 claimed already" in english

    console_sign_in(client, factory)
    page = client.post(f"/console/coupons/{coupon_id}/edit", data=_form(2))
    assert page.status_code == 422
    assert _by_the_stock(page.text) == ("quantity_below_claimed", f"优惠券 {coupon_id} {CLAIMED_3}")
    merchant_sign_in(client, factory, shop)
    page = client.post(f"/console/merchant/coupons/{coupon_id}/edit", data=_form(1))
    assert page.status_code == 422
    assert _by_the_stock(page.text) == ("quantity_below_claimed", f"优惠券 {coupon_id} {CLAIMED_3}")
    done = client.post(f"/console/merchant/coupons/{coupon_id}/edit", data=_form(3), follow_redirects=False)
    assert done.status_code == 303
    assert _claim(factory, gate, coupon_id, "13800000004") == "sold_out"
    assert stored(factory, gate, coupon_id) == (3, 3)


def _by_the_stock(page: str) -> tuple[str, str]:
    """The code and the text of the error shown in the stock field's ``<label>``."""
    field = page[page.index('<input name="total_quantity"') :]
    found = re.search(
        r'data-testid="error-total_quantity" data-code="([a-z_]+)">([^<]*)<', field[: field.index("</label>")]
    )
    assert found is not None, field
    return found.group(1), found.group(2)


def test_the_forms_show_an_unconfirmed_lowering_by_the_stock_field(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    coupon_id = coupon(client, operator, 100, total_quantity=10)["id"]

    def silent(*_args: Any, **_kwargs: Any) -> None:
        raise redis.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(StockGate, "hold_cap", silent)
    console_sign_in(client, factory)
    page = client.post(f"/console/coupons/{coupon_id}/edit", data=_form(2))
    assert page.status_code == 422
    assert _by_the_stock(page.text) == ("stock_unconfirmed", UNCONFIRMED)
    assert stored(factory, gate, coupon_id) == (0, 10)


def test_the_forms_show_a_lowering_refused_at_its_commit_by_the_stock_field(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    gate: StockGate,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cap found gone at the commit's confirmation: the form again, as a refusal before it."""
    shop = _ok(client.post("/api/v1/merchants", json={"code": "lapse", "name": "店"}, headers=operator))["id"]
    product = {"sku": "LAPSE-1", "title": "店品", "price_fen": 30000, "commission_rate_bp": 1000}
    _ok(client.post("/api/v1/products", json={**product, "merchant_id": shop}, headers=operator))
    coupon_id = coupon(client, operator, 1000, total_quantity=10, skus=["LAPSE-1"], merchant_id=shop)["id"]
    monkeypatch.setattr(StockGate, "settle_cap", lambda *_a, **_k: False)  # the cap found gone
    console_sign_in(client, factory)
    page = client.post(f"/console/coupons/{coupon_id}/edit", data=_form(2))
    assert page.status_code == 422
    assert _by_the_stock(page.text) == ("stock_unconfirmed", UNCONFIRMED)
    merchant_sign_in(client, factory, shop)
    page = client.post(f"/console/merchant/coupons/{coupon_id}/edit", data=_form(3))
    assert page.status_code == 422
    assert _by_the_stock(page.text) == ("stock_unconfirmed", UNCONFIRMED)
    assert stored(factory, gate, coupon_id) == (0, 10)


@pytest.mark.postgres_only
def test_claims_racing_lowerings_never_oversell_nor_strand_a_claim(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    """Three processes' gates (two of them keeping their copy of the terms) claim while the stock is
    lowered under what they took (refused) and to just above it (accepted), and raised again."""
    coupon_id = _coupon(factory, total=120)
    gates = [gate, other_process(gate), other_process(gate)]
    answers: list[str] = []
    changes: list[str] = []
    start = threading.Barrier(len(gates) + 1)

    def claims(through: StockGate, number: int) -> None:
        start.wait()
        answers.extend(_claim(factory, through, coupon_id, f"openid-{number}-{i}") for i in range(50))

    def lowerings() -> None:
        start.wait()
        for step in range(24):
            taken = int(gate.client.get(_stock_key(factory, gate, coupon_id)) or 0)
            target = max(taken - 2, 1) if step % 2 == 0 else taken + 4
            try:
                edit(factory, coupon_id, total_quantity=target)
                changes.append("changed")
            except Conflict as exc:
                changes.append(exc.code)

    threads = [threading.Thread(target=claims, args=(g, n)) for n, g in enumerate(gates)]
    threads.append(threading.Thread(target=lowerings))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    taken = Counter(answer.split(":")[0] for answer in answers)
    assert set(taken) <= {"taken", "sold_out"}
    assert Counter(changes)["quantity_below_claimed"] > 0, (changes, taken)
    assert Counter(changes)["changed"] > 0
    claimed, total = stored(factory, gate, coupon_id)  # no claim left pending nor dead-lettered
    assert claimed == taken["taken"]
    assert claimed <= total


def _stock_key(factory: sessionmaker[Session], gate: StockGate, coupon_id: int) -> str:
    with factory() as session:
        terms = gate.terms(session, coupon_id)
    assert terms is not None
    return gate.keys(terms, "").stock

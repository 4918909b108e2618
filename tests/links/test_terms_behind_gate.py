"""A coupon's promised terms behind the Redis claim gate: a claim answered from Redis (in the stream, not
yet stored) locks them as a stored one does, through the API and the console's edit form; while a
change of terms is open the gate takes no claim (none answered under the old terms and stored under
the new), and claims flow again at its outcome; a gate that cannot be asked refuses the change, 503."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.errors import Conflict
from neigou.links.gate_scripts import TermsUnconfirmed
from neigou.links.stock_gate import StockGate
from neigou.offers import offer_edit
from neigou.offers.models import CouponTemplate
from neigou.offers.offer_schemas import CouponUpdate
from tests.conftest import TEST_ACTOR
from tests.links.conftest import behind_gate
from tests.links.test_claim_stream import _claim, _coupon
from tests.links.test_stock_caps import cap_of, edit, stored
from tests.sign_in import console_sign_in

UNCONFIRMED = "暂时无法核对该优惠券的领取数量，面额、封顶、门槛和可见范围不能修改。请稍后再试。"


@pytest.fixture
def gate() -> Iterator[StockGate]:
    yield from behind_gate()


def _api_coupon(client: TestClient, operator: dict[str, str]) -> int:
    now = utcnow()
    body = {
        "name": "五十元券",
        "kind": "amount_off",
        "value": 5000,
        "min_spend_fen": 0,
        "visibility": "public",
        "total_quantity": 10,
        "per_customer_limit": 1,
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=10)).isoformat(),
    }
    created = client.post("/api/v1/coupons", json=body, headers=operator)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _value(factory: sessionmaker[Session], coupon_id: int) -> int:
    with factory() as session:
        coupon = session.get(CouponTemplate, coupon_id)
        assert coupon is not None
        return coupon.value


def test_a_claim_still_in_the_stream_locks_the_terms(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _api_coupon(client, operator)
    path = f"/api/v1/coupons/{coupon_id}"
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")  # answered, not stored
    for change in ({"value": 10000}, {"min_spend_fen": 100}, {"visibility": "hidden"}):
        locked = client.patch(path, json=change, headers=operator)
        assert locked.status_code == 409, locked.text
        assert locked.headers["content-type"].startswith("application/problem+json")
        assert (locked.json()["code"], locked.json()["fields"]) == ("terms_locked", sorted(change))
    assert cap_of(factory, gate, coupon_id)[0] is None  # a refused change holds nothing
    # Changes but the terms go ahead; the terms sent unchanged are no change.
    renamed = client.patch(path, json={"name": "新名", "value": 5000}, headers=operator)
    assert renamed.status_code == 200, renamed.text
    assert stored(factory, gate, coupon_id) == (1, 10)  # the claim stored under the terms it was told
    assert _value(factory, coupon_id) == 5000
    drained = client.patch(path, json={"value": 10000}, headers=operator)
    assert (drained.status_code, drained.json()["code"]) == (409, "terms_locked")


def test_terms_of_a_coupon_without_claims_change_and_claims_flow_again(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _api_coupon(client, operator)
    changed = client.patch(f"/api/v1/coupons/{coupon_id}", json={"value": 10000}, headers=operator)
    assert changed.status_code == 200, changed.text
    cap, seconds = cap_of(factory, gate, coupon_id)
    assert (changed.json()["value"], cap, 0 < seconds <= 60) == (10000, 10, True)  # kept a minute
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (1, 10)


def test_no_claim_is_taken_while_a_change_of_terms_is_open(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    with transaction(factory) as session:
        data = CouponUpdate.model_validate({"value": 300, "total_quantity": 8})
        offer_edit.update_coupon(session, coupon_id=coupon_id, data=data, actor=TEST_ACTOR)
        assert _claim(factory, gate, coupon_id, "13800000001") == "sold_out"  # the gate stopped
    assert cap_of(factory, gate, coupon_id)[0] == 8  # the new stock once committed
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (1, 8)
    assert _value(factory, coupon_id) == 300


def test_a_change_of_terms_rolled_back_lets_claims_through(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    session = factory()
    try:
        data = CouponUpdate.model_validate({"value": 300})
        offer_edit.update_coupon(session, coupon_id=coupon_id, data=data, actor=TEST_ACTOR)
        assert _claim(factory, gate, coupon_id, "13800000001") == "sold_out"
        session.rollback()
    finally:
        session.close()
    assert cap_of(factory, gate, coupon_id)[0] == 5
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    assert stored(factory, gate, coupon_id) == (1, 5)
    assert _value(factory, coupon_id) == 100


def test_a_change_of_terms_in_a_savepoint_given_up_leaves_the_outer_lowering_held(
    factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _coupon(factory, total=5)
    with transaction(factory) as session:
        lower = CouponUpdate.model_validate({"total_quantity": 4})
        offer_edit.update_coupon(session, coupon_id=coupon_id, data=lower, actor=TEST_ACTOR)
        savepoint = session.begin_nested()
        terms = CouponUpdate.model_validate({"value": 300})
        offer_edit.update_coupon(session, coupon_id=coupon_id, data=terms, actor=TEST_ACTOR)
        assert cap_of(factory, gate, coupon_id)[0] == 0
        savepoint.rollback()
        assert cap_of(factory, gate, coupon_id)[0] == 4  # the outer lowering's, still pending
    assert cap_of(factory, gate, coupon_id)[0] == 4
    outcomes = [_claim(factory, gate, coupon_id, f"1380000001{i}") for i in range(5)]
    assert [o.split(":")[0] for o in outcomes] == ["taken"] * 4 + ["sold_out"]
    assert stored(factory, gate, coupon_id) == (4, 4)
    assert _value(factory, coupon_id) == 100


@pytest.fixture
def redis_down() -> Iterator[StockGate]:
    """A claim gate whose Redis does not answer (nothing listens on its port)."""
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    down = StockGate(client, f"neigou-test:{uuid.uuid4().hex[:8]}", write_behind=True)
    yield down
    down.close()
    client.close()


def test_without_redis_the_terms_stay_as_they_are(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    redis_down: StockGate,
) -> None:
    coupon_id = _api_coupon(client, operator)
    path = f"/api/v1/coupons/{coupon_id}"
    headers = {**operator, "Accept-Language": "zh-CN"}
    refused = client.patch(path, json={"value": 10000}, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["code"], refused.headers["retry-after"]) == ("terms_unconfirmed", "5")
    assert refused.json()["detail"] == UNCONFIRMED
    assert _value(factory, coupon_id) == 5000
    renamed = client.patch(path, json={"name": "新名"}, headers=operator)  # no terms: no gate asked
    assert renamed.status_code == 200, renamed.text


def test_a_change_of_terms_whose_stop_lapsed_is_refused_at_its_commit(
    factory: sessionmaker[Session], gate: StockGate, monkeypatch: pytest.MonkeyPatch
) -> None:
    coupon_id = _coupon(factory, total=5)
    monkeypatch.setattr(StockGate, "settle_cap", lambda *_a, **_k: False)  # the stop found gone
    with pytest.raises(TermsUnconfirmed):
        edit(factory, coupon_id, value=300)
    assert _value(factory, coupon_id) == 100


def test_the_console_form_refuses_terms_a_claim_in_the_stream_was_promised(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], gate: StockGate
) -> None:
    coupon_id = _api_coupon(client, operator)
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    ends = (utcnow() + timedelta(days=3)).astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")
    form: dict[str, Any] = {"name": "五十元券", "status": "active", "total_quantity": "10", "ends_at": ends}
    console_sign_in(client, factory)
    page = client.post(
        f"/console/coupons/{coupon_id}/edit",
        data={**form, "value": "100", "min_spend_yuan": "0", "visibility": "public"},
    )
    assert page.status_code == 422
    assert 'data-code="terms_locked"' in page.text
    assert stored(factory, gate, coupon_id) == (1, 10)
    assert _value(factory, coupon_id) == 5000


def test_a_change_of_stock_alone_asks_no_terms_guard(factory: sessionmaker[Session], gate: StockGate) -> None:
    """Terms sent unchanged are no change of terms: claims in the stream refuse only a real one."""
    coupon_id = _coupon(factory, total=5)
    assert _claim(factory, gate, coupon_id, "13800000001").startswith("taken:")
    edit(factory, coupon_id, total_quantity=7, value=100)
    with pytest.raises(Conflict) as locked:
        edit(factory, coupon_id, total_quantity=6, value=200)
    assert (locked.value.code, locked.value.extra) == ("terms_locked", {"fields": ["value"]})
    assert stored(factory, gate, coupon_id) == (1, 7)

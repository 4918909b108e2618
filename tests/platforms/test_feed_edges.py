"""Platform feeds and reconciliation at their edges: exotic amounts, bodies too large to parse, months
that are not months, and who may read the console pages (formula-like order ids in the Excel export:
``test_id_exports``)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth import service as auth
from neigou.auth.models import Role
from neigou.kit.clock import utcnow
from neigou.kit.db import transaction
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.platforms.endpoints import FEED_MAX_BYTES
from tests.conftest import TEST_ACTOR, TokenMaker, bearer, row_counts
from tests.orders.builders import assert_ledger_balanced
from tests.platforms.builders import Feeds, feed, feeds_world, jd_row, pdd_row, taobao_row, wall
from tests.sign_in import PASSWORD, console_sign_in, member_sign_in, merchant_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(module_client: TestClient, module_operator: dict[str, str], module_factory: Any) -> Feeds:
    return feeds_world(module_client, module_operator, module_factory)


@pytest.mark.parametrize(
    "amount",
    [
        "1e3",
        "1E+3",
        "１２.３",
        "12.3\u0663",
        "1_000",
        "-5",
        "+5",
        "NaN",
        "Infinity",
        "0x10",
        ".5",
        "12,3",
        True,
    ],
)
def test_an_exotic_yuan_amount_is_skipped_never_stored(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds, amount: object
) -> None:
    before = row_counts(factory)
    row = {**jd_row(310001, sub_union_id=world.w.link), "estimateCosPrice": amount}
    out = feed(client, operator, world.integration_id, "jd_union", [row])
    assert (out["created"], [(s["index"], s["reason"]) for s in out["skipped"]]) == (
        0,
        [(0, "invalid_amount")],
    )
    assert row_counts(factory) == before


@pytest.mark.parametrize("number", [b"1e3", b"1E3", b"-12.5", b"1.0e2"])
def test_an_amount_written_as_an_exponent_or_negative_json_number_is_skipped(
    client: TestClient, operator: dict[str, str], world: Feeds, number: bytes
) -> None:
    row = json.dumps({**jd_row(310002, sub_union_id=world.w.link), "estimateCosPrice": "AMOUNT"})
    body = b'{"rows": [' + row.encode().replace(b'"AMOUNT"', number) + b"]}"
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=body,
        headers={**operator, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert [s["reason"] for s in response.json()["skipped"]] == ["invalid_amount"]


@pytest.mark.parametrize("fen", ["１２３", "1e3", "1_000", "12.0", "-1", 12.5])
def test_an_exotic_fen_amount_or_quantity_is_skipped(
    client: TestClient, operator: dict[str, str], world: Feeds, fen: object
) -> None:
    amount = {**pdd_row("261101-000000901", custom=world.w.link), "order_amount": fen}
    quantity = {**pdd_row("261101-000000902", custom=world.w.link), "goods_quantity": fen}
    out = feed(client, operator, world.integration_id, "pdd", [amount, quantity])
    assert [(s["index"], s["reason"]) for s in out["skipped"]] == [(0, "invalid_field"), (1, "invalid_field")]
    assert out["created"] == 0


def test_a_plain_decimal_amount_still_goes_in_exactly(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    rows = [{**jd_row(310003, sub_union_id=world.w.link), "estimateCosPrice": " 88.8 ", "estimateFee": 8}]
    assert feed(client, operator, world.integration_id, "jd_union", rows)["created"] == 1
    order = client.get(f"/api/v1/orders/310003?program_id={world.w.program_id}", headers=operator).json()
    assert order["paid_fen"] == 8880


def test_orders_of_the_same_sku_refunded_alike_each_get_their_refund(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """Refund ids are unique within a program and a sku (JD ``skuId``, 多多进宝 ``goods_id``) is a line
    of many orders: the second order's refund once clashed with the first's and failed the whole batch."""
    link = world.w.link
    for first, second in ((320001, 320002), (320003, 320004)):  # in one batch, then in two
        paid = [jd_row(n, sku_num=2, sub_union_id=link) for n in (first, second)]
        returned = [
            jd_row(n, sku_num=2, returned=1, sub_union_id=link, modified=timedelta(days=1))
            for n in (first, second)
        ]
        if first == 320001:
            out = feed(client, operator, world.integration_id, "jd_union", paid + returned)
            assert (out["created"], out["refunds"], out["skipped"]) == (2, 2, [])
        else:
            feed(client, operator, world.integration_id, "jd_union", paid)
            for row in returned:
                assert feed(client, operator, world.integration_id, "jd_union", [row])["refunds"] == 1
        for n in (first, second):
            order = client.get(f"/api/v1/orders/{n}?program_id={world.w.program_id}", headers=operator).json()
            assert order["refunded_fen"] == 5000
    invalid = [
        pdd_row(f"261101-00000091{n}", status=4, custom=link, modified=timedelta(days=1)) for n in (1, 2)
    ]
    feed(
        client,
        operator,
        world.integration_id,
        "pdd",
        [pdd_row(f"261101-00000091{n}", custom=link) for n in (1, 2)],
    )
    assert feed(client, operator, world.integration_id, "pdd", invalid)["refunds"] == 2
    assert_ledger_balanced(factory)


def test_a_completion_dated_past_the_skew_is_skipped_and_releases_nothing(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    """A completion starts the freeze that settlement later ends: dated ahead, it would release the
    commission early, so the row is skipped and the order stays uncompleted."""
    link = world.w.link
    feed(client, operator, world.integration_id, "jd_union", [jd_row(330001, sub_union_id=link)])
    ahead = wall(utcnow() + timedelta(minutes=10))  # past the five minutes' skew
    completed = {
        **jd_row(330001, valid_code=17, sub_union_id=link, modified=timedelta(days=1)),
        "finishTime": ahead,
    }
    out = feed(client, operator, world.integration_id, "jd_union", [completed])
    assert [(s["index"], s["reason"]) for s in out["skipped"]] == [(0, "future_time")]
    received = {
        **pdd_row("261101-000000931", status=2, custom=link),
        "order_receive_time": int(utcnow().timestamp()) + 600,
    }
    assert [
        s["reason"] for s in feed(client, operator, world.integration_id, "pdd", [received])["skipped"]
    ] == ["future_time"]
    order = client.get(f"/api/v1/orders/330001?program_id={world.w.program_id}", headers=operator).json()
    assert order["completed_at"] is None
    settled = client.post(
        f"/api/v1/programs/{world.w.program_id}/settlements",
        json={"as_of": (utcnow() + timedelta(days=30)).isoformat()},
        headers=operator,
    )
    assert (settled.status_code, settled.json()["code"]) == (422, "time_in_future")


def test_an_anonymous_body_is_refused_before_it_is_parsed(
    client: TestClient, factory: sessionmaker[Session], world: Feeds
) -> None:
    before = row_counts(factory)
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=b'{"rows": [' + b",".join([b"{}"] * 5000) + b"]}",
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    garbage = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=b"{",
        headers={**bearer("ngt_not-a-real-token"), "content-type": "application/json"},
    )
    assert (garbage.status_code, garbage.json()["code"]) == (401, "invalid_token")
    assert row_counts(factory) == before


def test_a_feed_body_is_checked_for_nul_only_once_its_caller_is_known(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """The API's NUL guard leaves a feed's body unread (``kit.json_text.reads_its_own_body``): a stranger
    is refused before anything reads it, and the feed refuses a NUL itself, alike on both databases."""
    row = {**jd_row(310005, sub_union_id=world.w.link), "orderId": "310005\x00"}
    body = json.dumps({"rows": [row]}).encode()
    url = f"/api/v1/integrations/{world.integration_id}/feeds/jd_union"
    before = row_counts(factory)
    stranger = client.post(url, content=body, headers={"content-type": "application/json"})
    assert (stranger.status_code, stranger.json()["code"]) == (401, "unauthenticated")
    refused = client.post(url, content=body, headers={**operator, "content-type": "application/json"})
    assert (refused.status_code, refused.json()["code"]) == (422, "nul_character"), refused.text
    assert row_counts(factory) == before


@pytest.mark.parametrize("chunked", [False, True])
def test_a_feed_body_past_its_limit_is_refused_with_413(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds, chunked: bool
) -> None:
    row = json.dumps(jd_row(310004, sub_union_id=world.w.link)).encode()
    body = b'{"rows": [' + b",".join([row] * (FEED_MAX_BYTES // len(row) + 1)) + b"]}"
    before = row_counts(factory)
    content: Any = iter([body[i : i + 65536] for i in range(0, len(body), 65536)]) if chunked else body
    response = client.post(
        f"/api/v1/integrations/{world.integration_id}/feeds/jd_union",
        content=content,
        headers={**operator, "content-type": "application/json", "accept-language": "en"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["max_bytes"]) == ("body_too_large", FEED_MAX_BYTES)
    assert response.json()["detail"] == "The request body is larger than 4 MB."
    assert row_counts(factory) == before


@pytest.mark.parametrize(
    ("month", "code"),
    [
        ("2026-13", "invalid_month"),
        ("2026-00", "invalid_month"),
        ("0001-01", "invalid_month"),
        ("9999-12", "invalid_month"),
        ("２０２６-０３", "invalid_month"),
        ("2026-3", "invalid_month"),
        ("garbage", "invalid_month"),
        ("", "invalid_month"),
        ("2099-01", "month_in_future"),
    ],
)
def test_a_month_that_is_not_a_past_or_current_month_is_a_problem_in_the_readers_language(
    client: TestClient, operator: dict[str, str], world: Feeds, month: str, code: str
) -> None:
    for path in ("reconciliation", "reconciliation.xlsx"):
        url = f"/api/v1/programs/{world.w.program_id}/{path}"
        chinese = client.get(url, params={"platform": "jd_union", "month": month}, headers=operator)
        assert chinese.status_code == 422, chinese.text
        assert chinese.headers["content-type"] == "application/problem+json"
        assert chinese.json()["code"] == code
        english = client.get(
            url,
            params={"platform": "jd_union", "month": month},
            headers={**operator, "accept-language": "en"},
        )
        assert english.json()["code"] == code
        assert english.json()["detail"] != chinese.json()["detail"]
        assert "YYYY-MM" in english.json()["detail"] or "future" in english.json()["detail"]


def test_console_reconciliation_is_for_the_programs_own_operators(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    factory: sessionmaker[Session],
    world: Feeds,
) -> None:
    paths = [
        f"/console/programs/{world.w.program_id}/reconciliation?platform=jd_union&month=2026-03",
        f"/console/programs/{world.w.program_id}/reconciliation.xlsx?platform=jd_union&month=2026-03",
    ]
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 303  # to the sign-in page
    member_sign_in(client, make_token(Role.MEMBER, world.w.seller))
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 403
    client.cookies.clear()
    rival = client.post(
        "/api/v1/organizations", json={"code": "rival-recon", "name": "对手"}, headers=operator
    )
    assert rival.status_code == 201, rival.text
    with transaction(factory) as session:
        auth.create_user(
            session,
            username="rival-recon",
            password=PASSWORD,
            actor=TEST_ACTOR,
            organization_id=rival.json()["id"],
        )
    signed_in = client.post("/console/login", data={"username": "rival-recon", "password": PASSWORD})
    assert signed_in.status_code == 200
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 404
    client.cookies.clear()
    console_sign_in(client, factory, username="home-recon")
    for path in paths:
        assert client.get(path).status_code == 200
        for month in ("2026-13", "２０２６-０３", "2099-01"):
            refused = client.get(path.replace("2026-03", month))
            assert refused.status_code == 422, (month, refused.text[:300])


def test_console_reconciliation_refuses_a_merchant_of_the_programs_organization(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], world: Feeds
) -> None:
    """A merchant's console account is of the program's organization, yet the operators' console answers it
    403 (docs/tenancy.md, "The merchant portal"): neither the page nor the workbook shows the month's orders."""
    out = feed(
        client, operator, world.integration_id, "jd_union", [jd_row(350001, sub_union_id=world.w.link)]
    )
    assert out["created"] == 1, out
    shop = client.post("/api/v1/merchants", json={"code": "recon-shop", "name": "店"}, headers=operator)
    assert shop.status_code == 201, shop.text
    merchant_sign_in(client, factory, shop.json()["id"])
    for path in ("reconciliation", "reconciliation.xlsx"):
        url = f"/console/programs/{world.w.program_id}/{path}?platform=jd_union&month=2026-03"
        refused = client.get(url, follow_redirects=False)
        assert refused.status_code == 403, (path, refused.text[:300])
        assert refused.headers["content-type"] != XLSX_MEDIA_TYPE
        assert "350001" not in refused.text
        assert "reconciliation-table" not in refused.text
    client.cookies.clear()
    console_sign_in(client, factory, username="home-recon-shop")
    shown = client.get(
        f"/console/programs/{world.w.program_id}/reconciliation?platform=jd_union&month=2026-03"
    )
    assert shown.status_code == 200
    assert "350001" in shown.text  # the order the merchant was refused is there for the operator


def test_a_quantity_no_column_holds_skips_the_row_not_the_batch(
    client: TestClient, operator: dict[str, str], world: Feeds
) -> None:
    rows = [
        jd_row(340001, sku_num=3_000_000_000, sub_union_id=world.w.link),
        jd_row(340002, sub_union_id=world.w.link),
    ]
    out = feed(client, operator, world.integration_id, "jd_union", rows)
    assert (out["created"], [(s["index"], s["reason"]) for s in out["skipped"]]) == (
        1,
        [(0, "invalid_field")],
    )


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01 00:00:00",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-10:00",
        # instants, but outside the product's days: an order paid then was a 500 in the risk scan
        "0001-01-02 00:00:00",
        "1900-01-01 00:00:00",
        "1969-12-31 23:59:59+00:00",
    ],
)
def test_a_time_at_the_end_of_the_calendar_skips_the_row(
    client: TestClient, operator: dict[str, str], world: Feeds, at: str
) -> None:
    rows = [
        {**jd_row(340003, sub_union_id=world.w.link), "orderTime": at},
        {**jd_row(340004, valid_code=17, sub_union_id=world.w.link), "payMonth": "00010101"},
        {**taobao_row("1800000000000000091"), "tk_paid_time": at},
    ]
    out = feed(client, operator, world.integration_id, "jd_union", rows[:2])
    assert [s["reason"] for s in out["skipped"]] == ["invalid_time", "invalid_time"]
    out = feed(client, operator, world.integration_id, "taobao", rows[2:])
    assert [s["reason"] for s in out["skipped"]] == ["invalid_time"]

"""Where a member is paid: checked per kind, sealed at rest, masked on screen and in the API, and in
full in the payout file finance pays from."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.sealed import Sealer, derived_key
from neigou.kit.settings import Settings
from neigou.ledger.models import PayeeAccount
from neigou.ledger.payee_rules import Payee, PayeeKind, check_payee, luhn_ok
from tests.conftest import TokenMaker, bearer, row_counts
from tests.orders.builders import PAID_AT, SKU, build, order_body, post_order
from tests.sign_in import console_sign_in, member_sign_in

CARD = "6222 0212 3456 7894"  # passes the Luhn check


def _put(client: TestClient, headers: dict[str, str], member_id: int, **body: str) -> Any:
    return client.put(f"/api/v1/members/{member_id}/payee", json=body, headers=headers)


@pytest.mark.parametrize(
    ("kind", "account", "stored", "masked"),
    [
        (PayeeKind.BANK_CARD, CARD, "6222021234567894", "**** 7894"),
        (PayeeKind.ALIPAY, "+86 138-1234-5678", "13812345678", "138****5678"),
        (PayeeKind.ALIPAY, "wang.xm@example.com", "wang.xm@example.com", "w****@example.com"),
        (PayeeKind.WECHAT, "wxid_wangxm88", "wxid_wangxm88", "wx****88"),
        (PayeeKind.WECHAT, "１３８１２３４５６７８", "13812345678", "138****5678"),
    ],
)
def test_accounts_are_checked_and_masked(kind: PayeeKind, account: str, stored: str, masked: str) -> None:
    payee = check_payee(kind, account, " 王小美 ")
    assert isinstance(payee, Payee)
    assert (payee.account, payee.account_masked, payee.holder, payee.holder_masked) == (
        stored,
        masked,
        "王小美",
        "*小美",
    )


@pytest.mark.parametrize(
    ("kind", "account"),
    [
        (PayeeKind.BANK_CARD, "6222 0212 3456 7896"),  # fails the Luhn check
        (PayeeKind.BANK_CARD, "13812345678"),
        (PayeeKind.ALIPAY, "not an account"),
        (PayeeKind.WECHAT, "1abc"),
    ],
)
def test_malformed_accounts_are_refused(kind: PayeeKind, account: str) -> None:
    refused = check_payee(kind, account, "王小美")
    assert not isinstance(refused, Payee)
    assert refused[0] == "invalid_account"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_sealing_opens_with_any_configured_key_and_only_with_them() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Sealer([old]).seal("6222021234567894")
    assert "6222021234567894" not in token
    assert Sealer([new, old]).unseal(token) == "6222021234567894"  # rotated: new first, old still opens
    assert Sealer([new]).unseal(token) is None
    dev = Settings(secret_key="s", payee_keys=None)
    assert Sealer.from_settings(dev).unseal(Sealer([derived_key("s")]).seal("x")) == "x"
    assert Settings(payee_keys=f" {new} , {old}").sealing_keys == [new, old]


def test_payee_is_sealed_at_rest_masked_in_the_api_and_whole_in_the_payout_file(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    member = bearer(make_token(Role.MEMBER, w.seller))
    assert client.get(f"/api/v1/members/{w.seller}/payee", headers=member).json()["code"] == "payee_not_set"
    before = row_counts(factory)
    bad = _put(client, member, w.seller, kind="bank_card", account="1234", holder_name="王小美")
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_account")
    assert row_counts(factory) == before
    put = _put(client, member, w.seller, kind="bank_card", account=CARD, holder_name="王小美")
    assert put.status_code == 200, put.text
    assert (put.json()["account_masked"], put.json()["holder_masked"]) == ("**** 7894", "*小美")
    assert "6222021234567894" not in put.text
    with factory() as session:
        row = session.scalars(select(PayeeAccount)).one()
        assert "6222021234567894" not in row.account_sealed
        assert "王小美" not in row.holder_sealed

    # A paid withdrawal in a batch: the file carries the account in full.
    post_order(client, operator, order_body(w, "P-1", (SKU, 1, 1_000_000)))
    done = client.post("/api/v1/orders/P-1/complete", json={"at": PAID_AT.isoformat()}, headers=operator)
    assert done.status_code == 200, done.text
    settle_at = "2026-06-01T00:00:00+08:00"
    assert client.post(
        f"/api/v1/programs/{w.program_id}/settlements", json={"as_of": settle_at}, headers=operator
    ).is_success
    asked = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 10_000, "request_id": "p-1"},
        headers=member,
    )
    assert asked.status_code == 201, asked.text
    approved = client.post(f"/api/v1/withdrawals/{asked.json()['id']}/approve", headers=operator)
    assert approved.status_code == 200, approved.text
    console_sign_in(client, factory)
    page = client.get("/console/withdrawals")
    assert "**** 7894" in page.text
    assert "6222021234567894" not in page.text
    batch = client.post(f"/api/v1/programs/{w.program_id}/payout-batches", headers=operator).json()
    exported = client.get(f"/api/v1/payout-batches/{batch['id']}/export?format=csv", headers=operator)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [(r["payee_kind"], r["payee_account"], r["payee_name"]) for r in rows] == [
        ("bank_card", "6222021234567894", "王小美")
    ]


def test_the_member_sets_the_payee_on_the_earnings_page_and_sees_it_masked(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    page = client.get("/m/earnings")
    assert 'data-testid="payee-missing"' in page.text
    bad = client.post(
        "/m/earnings/payee",
        data={"kind": "bank_card", "account": "1234", "holder_name": "王小美"},
        follow_redirects=False,
    )
    assert bad.headers["location"] == "/m/earnings?payee_error=invalid_account#payee"
    refused = client.get(bad.headers["location"]).text
    form = refused.split('data-testid="payee-form"', 1)[1].split("</form>", 1)[0]
    assert 'data-testid="payee-error" data-code="invalid_account">' in form  # in the form it refuses
    assert "1234" not in bad.headers["location"]  # what was typed never goes into a URL
    saved = client.post(
        "/m/earnings/payee", data={"kind": "alipay", "account": "+86 138 1234 5678", "holder_name": "王小美"}
    )
    assert 'data-testid="payee-saved"' in saved.text
    shown = saved.text.split('data-testid="payee"', 1)[1].split("</p>", 1)[0]
    assert shown == ">支付宝 138****5678 · *小美"
    assert "13812345678" not in saved.text


# Holder names that show nothing: a zero-width space, a Hangul filler, the blank Braille pattern, a
# variation selector, and them together.
BLANK_HOLDERS = ["\u200b", "\u3164", "\u2800", "\ufe0f", "\u200b\u3164 \u2800\ufe0f"]


@pytest.mark.parametrize("holder", BLANK_HOLDERS)
def test_a_holder_name_that_shows_nothing_is_blank(holder: str) -> None:
    refused = check_payee(PayeeKind.WECHAT, "wxid_wangxm88", holder)
    assert isinstance(refused, tuple)
    assert refused[0] == "blank_name"
    assert isinstance(check_payee(PayeeKind.WECHAT, "wxid_wangxm88", f"王{holder}"), Payee)


def test_the_api_and_the_earnings_page_refuse_a_blank_holder_name(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w = build(client, operator, factory, max_levels=2)
    token = make_token(Role.MEMBER, w.seller)
    for holder in BLANK_HOLDERS:
        put = _put(
            client, bearer(token), w.seller, kind="wechat", account="wxid_wangxm88", holder_name=holder
        )
        assert (put.status_code, put.json()["code"]) == (422, "blank_name"), holder
        assert [e["type"] for e in put.json()["errors"]] == ["blank_name"]
    member_sign_in(client, token)
    for holder in BLANK_HOLDERS:
        posted = client.post(
            "/m/earnings/payee",
            data={"kind": "wechat", "account": "wxid_wangxm88", "holder_name": holder},
            follow_redirects=False,
        )
        assert posted.headers["location"] == "/m/earnings?payee_error=blank_name#payee", holder
    with factory() as session:
        assert session.scalars(select(PayeeAccount)).all() == []  # nothing written
    refused = client.get("/m/earnings?payee_error=blank_name&lang=en").text
    form = refused.split('data-testid="payee-form"', 1)[1].split("</form>", 1)[0]
    assert 'data-code="blank_name">A name is required: white space and invisible characters alone' in form

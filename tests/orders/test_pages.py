"""Console and workspace pages of orders and money: breakdown, statement, approvals, the withdraw form."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.kit.db import transaction
from neigou.kit.money import parse_yuan
from neigou.links import service as links
from neigou.links.schemas import LinkCreate
from neigou.offers.models import Product
from neigou.web import console_orders, workspace_earnings, workspace_links
from tests.conftest import TEST_ACTOR, TokenMaker
from tests.groups.builders import create_group
from tests.orders.builders import PAID_AT, SKU, balance, build, order_body, post_order, settled_world
from tests.sign_in import console_sign_in, member_sign_in


def test_console_shows_orders_breakdown_ledger_and_approves(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, order = settled_world(client, operator, factory)
    console_sign_in(client, factory)
    listing = client.get("/console/orders")
    assert listing.status_code == 200
    assert "PG-1" in listing.text
    assert "¥500.00" in listing.text
    detail = client.get(f"/console/orders/{order['id']}")
    # seller: 50000 × 20% × 20% = ¥20.00, worth ¥16.00 after refunding ¥100 of ¥500
    assert "佣金明细" in detail.text
    assert "¥20.00" in detail.text
    assert "¥16.00" in detail.text
    assert "R1" in detail.text
    ledger = client.get(f"/console/members/{w.seller}/ledger")
    assert "冻结期满，佣金可提现" in ledger.text
    wd = client.post(
        f"/api/v1/members/{w.seller}/withdrawals",
        json={"amount_fen": 1000, "request_id": "a"},
        headers=operator,
    ).json()
    page = client.get("/console/withdrawals")
    assert 'data-testid="withdrawal-row"' in page.text
    approved = client.post(f"/console/withdrawals/{wd['id']}/approve", follow_redirects=False)
    assert approved.status_code == 303
    client.post(f"/console/programs/{w.program_id}/payout-batches", follow_redirects=False)
    batches = client.get("/console/withdrawals")
    assert 'data-testid="batch-row"' in batches.text
    export = client.get("/console/payout-batches/1/export?format=xlsx")
    assert export.status_code == 200
    assert export.content[:2] == b"PK"
    client.post("/console/payout-batches/1/paid", follow_redirects=False)
    assert balance(client, operator, w.seller)["withdrawn_fen"] == 1000
    english = client.get(f"/console/members/{w.seller}/ledger?lang=en")
    assert "Withdrawal paid" in english.text


def _order_cells(text: str) -> dict[str, list[str]]:
    """The console's order list: each row's cells as read, by order number."""
    rows = re.findall(r'data-testid="order-row">(.*?)</tr>', text, re.S)
    cells = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows
    ]
    return {c[0]: c for c in cells}


def test_console_order_list_shows_a_zero_refund_as_money(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    w, _ = settled_world(client, operator, factory)
    post_order(client, operator, order_body(w, "PG-2", (SKU, 1, 50_000)))
    console_sign_in(client, factory)
    rows = _order_cells(client.get("/console/orders").text)
    assert "已退款" in client.get("/console/orders").text
    # order no., paid at, member, paid, refunded, commission, state
    assert rows["PG-1"][3:5] == ["¥500.00", "¥100.00"]
    assert rows["PG-2"][3:5] == ["¥500.00", "¥0.00"]  # never a blank cell


def test_console_order_lines_show_the_product_title_beside_the_sku(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """Each line names its product by title with the sku beside it; a sku whose product is gone shows
    the sku alone."""
    w = build(client, operator, factory)
    with transaction(factory) as session:
        session.execute(update(Product).where(Product.sku == SKU).values(title="澜泉洗发水"))
    order = post_order(client, operator, order_body(w, "LN-1", (SKU, 1, 4000), ("YD-TEE", 1, 5000)))
    with transaction(factory) as session:
        session.execute(delete(Product).where(Product.sku == "YD-TEE"))
    console_sign_in(client, factory)
    page = client.get(f"/console/orders/{order['id']}").text
    cells = [
        html.unescape(" ".join(re.sub(r"<[^>]+>", " ", c).split()))
        for c in re.findall(r'data-testid="line-product">(.*?)</td>', page, re.S)
    ]
    assert sorted(cells) == sorted([f"澜泉洗发水 {SKU}", "YD-TEE"])


def test_console_order_says_why_it_was_attributed_and_names_its_group(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    """The order page reads the attribution basis as words (never ``order_link``) and its group by
    name, in both languages."""
    w = build(client, operator, factory)
    group = create_group(client, operator, w.seller, name="宝妈好物1群")
    with transaction(factory) as session:
        code = links.create_link(
            session, data=LinkCreate(member_id=w.seller, sku=SKU, group_id=group["id"]), actor=TEST_ACTOR
        ).code
    by_link = post_order(client, operator, order_body(w, "GR-1", link=code))
    nobody = post_order(client, operator, {**order_body(w, "GR-2"), "link_code": None})
    console_sign_in(client, factory)
    page = client.get(f"/console/orders/{by_link['id']}").text
    attributed = _text(page, "order-attribution")
    assert attributed == "订单所带的分享链接 · 来源群 宝妈好物1群"
    assert "order_link" not in page
    english = _text(client.get(f"/console/orders/{by_link['id']}?lang=en").text, "order-attribution")
    assert english == "The order's own share link · Group 宝妈好物1群"
    unattributed = client.get(f"/console/orders/{nobody['id']}?lang=en").text
    assert _text(unattributed, "order-attribution") == "No click in the window"
    assert "no_touch" not in unattributed
    assert "<dt>Program</dt>" in unattributed


def _text(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert found, testid
    return html.unescape(" ".join(found.group(1).split()))


def test_workspace_earnings_and_withdraw_form(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    w, _ = settled_world(client, operator, factory)
    token = make_token(Role.MEMBER, w.seller)
    member_sign_in(client, token)
    page = client.get("/m/earnings")
    assert page.status_code == 200
    assert 'data-testid="balance-available"' in page.text
    assert "¥16.00" in page.text
    done = client.post(
        "/m/earnings/withdrawals", data={"amount": "10.5", "request_id": "rq"}, follow_redirects=False
    )
    assert done.headers["location"] == "/m/earnings?done=1"
    twice = client.post(
        "/m/earnings/withdrawals", data={"amount": "10.5", "request_id": "rq"}, follow_redirects=False
    )
    assert twice.headers["location"] == "/m/earnings?done=1"
    too_much = client.post(
        "/m/earnings/withdrawals", data={"amount": "999", "request_id": "r2"}, follow_redirects=False
    )
    assert too_much.headers["location"] == "/m/earnings?error=insufficient_balance&amount=999#withdraw"
    assert balance(client, operator, w.seller)["available_fen"] == 1600 - 1050
    refused = client.get(too_much.headers["location"]).text
    # the refusal stands beside the amount, in the withdrawal form, with what was typed
    form = refused.split('id="withdraw"', 1)[1].split("</form>", 1)[0]
    assert 'data-testid="withdraw-error" data-code="insufficient_balance">可提现余额不足。</span>' in form
    assert 'value="999"' in form
    unreadable = client.post(
        "/m/earnings/withdrawals", data={"amount": "12.345", "request_id": "r3"}, follow_redirects=False
    )
    assert unreadable.headers["location"] == "/m/earnings?error=invalid_amount&amount=12.345#withdraw"


def test_workspace_earnings_show_one_line_per_movement_paged(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, order = settled_world(client, operator, factory)
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    text = client.get("/m/earnings").text
    rows = re.findall(r'data-testid="statement-row">(.*?)</li>', text, re.S)
    # earned, clawed back by the refund, frozen at completion, released by the settlement: four
    # movements, each shown once (the ledger holds six member entries for them)
    assert len(rows) == 4
    amounts = [re.search(r'data-testid="movement-amount">([^<]+)<', r).group(1) for r in rows]  # type: ignore[union-attr]
    assert sorted(amounts) == sorted(["+¥20.00", "-¥4.00", "¥16.00", "¥16.00"])
    assert "赚取佣金" in text
    assert "退款扣回" in text
    # the order is named by the shop's order number, never by its internal id
    assert re.findall(r'data-testid="movement-order">([^<]+)<', text) == ["订单 PG-1"] * 3
    assert f"#{order['id']}" not in text
    english = client.get("/m/earnings?lang=en").text
    assert "Order PG-1" in english
    assert "+00:00" not in text
    monkeypatch.setattr(workspace_earnings, "MOVEMENTS_PER_PAGE", 3)
    first = client.get("/m/earnings").text
    assert first.count('data-testid="statement-row"') == 3
    assert "第 1 / 2 页" in first
    assert 'data-testid="pager-next"' in first
    second = client.get("/m/earnings?page=2").text
    assert second.count('data-testid="statement-row"') == 1
    assert 'data-testid="pager-previous"' in second
    assert 'data-testid="pager-next"' not in second


def test_yuan_amounts_never_use_floats() -> None:
    assert [parse_yuan(v) for v in ("12", "12.3", "12.34", " 0.01 ", "1.234", "-1", "abc")] == [
        1200,
        1230,
        1234,
        1,
        None,
        None,
        None,
    ]


def test_console_ledger_is_paged_in_the_programs_time_with_readable_references(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, order = settled_world(client, operator, factory)
    console_sign_in(client, factory)
    text = client.get(f"/console/members/{w.seller}/ledger").text
    rows = re.findall(r'data-testid="statement-row">(.*?)</tr>', text, re.S)
    # the member's side of each posting: earned, reversed, frozen (2 legs), released (2 legs)
    assert len(rows) == 6
    assert "<th>账户</th>" in text
    assert "余额</th>" not in text
    assert "+00:00" not in text
    assert "as of" not in text
    assert "结算 #" in text
    paid_local = PAID_AT.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert paid_local in text
    monkeypatch.setattr(console_orders, "LEDGER_LINES_PER_PAGE", 4)
    first = client.get(f"/console/members/{w.seller}/ledger").text
    assert first.count('data-testid="statement-row"') == 4
    assert "第 1 / 2 页" in first
    second = client.get(f"/console/members/{w.seller}/ledger?page=2").text
    assert second.count('data-testid="statement-row"') == 2
    detail = client.get(f"/console/orders/{order['id']}").text
    assert "退款时间" in detail
    assert "UTC" not in detail


def test_workspace_links_show_orders_and_gmv_per_link_paged(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    make_token: TokenMaker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w, _ = settled_world(client, operator, factory)
    # a second order through the same link, then fully refunded: not counted, adds nothing to GMV
    post_order(client, operator, order_body(w, "PG-2", (SKU, 1, 9_000)))
    refund = {"refund_id": "R2", "amount_fen": 9_000}
    assert client.post("/api/v1/orders/PG-2/refunds", json=refund, headers=operator).status_code == 201
    member_sign_in(client, make_token(Role.MEMBER, w.seller))
    text = client.get("/m/links").text
    card = text.split(f'data-code="{w.link}"', 1)[1].split("</section>", 1)[0]
    assert 'data-testid="link-orders">1<' in card
    assert 'data-testid="link-gmv">¥400.00<' in card
    made = client.post("/m/links", data={"sku": SKU}, follow_redirects=False)
    assert made.status_code == 303
    monkeypatch.setattr(workspace_links, "LINKS_PER_PAGE", 1)
    first = client.get("/m/links").text
    assert first.count('data-testid="my-link"') == 1
    assert f'data-code="{w.link}"' not in first  # newest first: the new link
    second = client.get("/m/links?page=2").text
    assert f'data-code="{w.link}"' in second
    toggled = client.post(
        f"/m/links/{w.link}/active", data={"active": "false", "page": "2"}, follow_redirects=False
    )
    assert toggled.headers["location"] == f"/m/links?page=2#link-{w.link}"

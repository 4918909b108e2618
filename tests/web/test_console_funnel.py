"""The funnel on the console's analytics page (per link, member or group, named, with conversion per
click, zh-CN by default and English on request) and the funnel and fission Excel exports, over a small
program: two members' links (one in a group), clicks by people and a bot, claims, orders and a refund."""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from neigou.analytics import reports
from neigou.analytics.labels import funnel_labels
from neigou.analytics.reports import Span
from neigou.analytics.runtime import store_for
from neigou.kit.db import transaction
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.links import service as links
from neigou.links.clicks import click_row, new_click_ref, store_clicks
from neigou.links.models import ClaimSource, CouponClaim, ShareLink
from neigou.links.schemas import LinkCreate
from neigou.links.useragent import UaClass
from tests.analytics.builders import LINK_FEN, LIST_FEN, SKU, order, refund
from tests.conftest import SECRET, TEST_ACTOR, TokenMaker
from tests.factories import create_member, create_program
from tests.groups.builders import create_group
from tests.offers.factories import coupon, product
from tests.pages import refusal_code
from tests.sign_in import console_sign_in, member_sign_in, merchant_sign_in

pytestmark = pytest.mark.world_per_module
MARCH = "from=2026-03-01&to=2026-03-31"
AT = datetime.fromisoformat("2026-03-10T10:00:00+08:00")


@dataclass
class FunnelWorld:
    """Member 甲's link in group 内购1群 (three clicks by people and a bot's, two claims, one order at
    the link price) and member 乙's link in no group (two clicks, one claim, one order at the list
    price with ¥10 refunded); 乙 also invited 丙 in March."""

    program_id: int
    jia: int
    yi: int
    group_id: int
    jia_link: ShareLink
    yi_link: ShareLink


def _claim(link: ShareLink, customer: str) -> CouponClaim:
    return CouponClaim(
        coupon_id=link.coupon_id,
        customer_ref_hash=customer_ref_hash(SECRET, customer),
        customer_ref_masked=customer_ref_mask(customer),
        link_id=link.id,
        program_id=link.program_id,
        member_id=link.member_id,
        group_id=link.group_id,
        source=ClaimSource.API,
        claimed_at=AT,
    )


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_factory: sessionmaker[Session]
) -> FunnelWorld:
    client, operator = module_client, module_operator
    pid = create_program(client, operator, code="funnel")["id"]
    jia = create_member(client, operator, pid, "群主甲", joined_at="2025-12-01T00:00:00+08:00")["id"]
    yi = create_member(client, operator, pid, "群主乙", joined_at="2025-12-01T00:00:00+08:00")["id"]
    create_member(client, operator, pid, "新人丙", inviter_id=yi, joined_at="2026-03-05T00:00:00+08:00")
    group_id = create_group(client, operator, jia, name="内购1群")["id"]
    product(client, operator, SKU, LIST_FEN)
    hidden = coupon(
        client,
        operator,
        2500,
        skus=[SKU],
        visibility="hidden",
        starts_at="2026-02-01T00:00:00+08:00",
        ends_at="2026-06-01T00:00:00+08:00",
    )
    created = datetime.fromisoformat("2026-02-20T09:00:00+08:00")
    with transaction(module_factory) as session:
        made = [
            links.create_link(session, data=data, actor=TEST_ACTOR, at=created)
            for data in (
                LinkCreate(member_id=jia, sku=SKU, coupon_id=hidden["id"], group_id=group_id),
                LinkCreate(member_id=yi, sku=SKU, coupon_id=hidden["id"]),
            )
        ]
        session.expunge_all()
    jia_link, yi_link = made
    clicks = [(jia_link, UaClass.MOBILE)] * 3 + [(jia_link, UaClass.BOT)] + [(yi_link, UaClass.MOBILE)] * 2
    with transaction(module_factory) as session:
        store_clicks(
            session,
            [
                click_row(
                    ref=new_click_ref(),
                    link_id=link.id,
                    program_id=pid,
                    member_id=link.member_id,
                    clicked_at=AT,
                    visitor_id=None,
                    ua_class=ua,
                )
                for link, ua in clicks
            ],
        )
        session.add_all([_claim(jia_link, "c1"), _claim(jia_link, "c2"), _claim(yi_link, "c3")])
    order(client, operator, pid, "f1", "c1", at="2026-03-11T10:00:00+08:00", link=jia_link.code)
    body = {"external_id": "f2", "program_id": pid, "customer_ref": "c3", "link_code": yi_link.code}
    body |= {
        "items": [{"sku": SKU, "quantity": 1, "paid_fen": LIST_FEN}],
        "paid_at": "2026-03-12T10:00:00+08:00",
    }
    assert client.post("/api/v1/orders", json=body, headers=operator).status_code == 201
    refund(client, operator, pid, "f2", 1000, at="2026-03-13T10:00:00+08:00")
    assert client.post("/api/v1/analytics/refresh", headers=operator).status_code == 200
    return FunnelWorld(pid, jia, yi, group_id, jia_link, yi_link)


def _rows(content: bytes) -> list[tuple[object, ...]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


def _cells(page: str) -> list[list[str]]:
    """The funnel table's rows as the text of their cells."""
    table = page.split('data-testid="funnel-table"', 1)[1].split("</table>", 1)[0]
    rows = table.split('data-testid="funnel-row"')[1:]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row.split("</tr>", 1)[0]) for row in rows]


def test_the_funnel_per_link_member_and_group(
    client: TestClient, factory: sessionmaker[Session], world: FunnelWorld
) -> None:
    console_sign_in(client, factory)
    base = f"/console/programs/{world.program_id}/analytics"
    page = client.get(f"{base}?{MARCH}")
    assert page.status_code == 200
    assert "按链接的转化漏斗" in page.text
    assert 'id="funnel-chart"' in page.text
    # 乙's link first (more net GMV); 甲's: 2 claims and 1 order in 3 clicks by people, floored.
    assert _cells(page.text) == [
        [f"{world.yi_link.code} · 群主乙", "2", "1", "1", "¥39.90", "50.0%", "50.0%"],
        [f"{world.jia_link.code} · 群主甲", "3", "2", "1", "¥24.90", "66.7%", "33.3%"],
    ]
    members = client.get(f"{base}?{MARCH}&funnel_by=member")
    assert "按会员的转化漏斗" in members.text
    assert [r[:2] for r in _cells(members.text)] == [["群主乙", "2"], ["群主甲", "3"]]
    # 乙's link is in no group: only 甲's group has a row.
    groups = client.get(f"{base}?{MARCH}&funnel_by=group&lang=en")
    assert "Funnel by group" in groups.text
    assert "Claims per click" in groups.text
    assert _cells(groups.text) == [["内购1群", "3", "2", "1", "¥24.90", "66.7%", "33.3%"]]
    assert 'funnel_by=member"' in groups.text  # the other splits keep the range
    april = client.get(f"{base}?from=2026-04-01&to=2026-04-30")
    assert 'data-testid="funnel-empty"' in april.text
    assert 'data-testid="funnel-row"' not in april.text
    refused = client.get(f"{base}?{MARCH}&funnel_by=sku")
    assert refused.status_code == 422


def test_labels_take_one_query_and_leave_unknown_keys_out(
    factory: sessionmaker[Session], world: FunnelWorld
) -> None:
    statements: list[str] = []
    with factory() as session:
        bind = session.get_bind()

        def count(*args: object) -> None:
            if str(args[2]).lstrip().upper().startswith("SELECT"):  # not the tests' savepoints
                statements.append(str(args[2]))

        event.listen(bind, "before_cursor_execute", count)
        try:
            named = funnel_labels(
                session, world.program_id, "link", [world.jia_link.id, world.yi_link.id, 999_999]
            )
        finally:
            event.remove(bind, "before_cursor_execute", count)
        assert len(statements) == 1
        assert named == {
            world.jia_link.id: f"{world.jia_link.code} · 群主甲",
            world.yi_link.id: f"{world.yi_link.code} · 群主乙",
        }
        assert funnel_labels(session, world.program_id, "group", [world.group_id]) == {
            world.group_id: "内购1群"
        }
        # Another program's member is not named on this program's page.
        assert funnel_labels(session, world.program_id + 1, "member", [world.jia]) == {}
        assert funnel_labels(session, world.program_id, "member", []) == {}


def test_funnel_and_fission_workbooks_hold_the_reports_rows(
    client: TestClient, factory: sessionmaker[Session], world: FunnelWorld
) -> None:
    console_sign_in(client, factory)
    base = f"/console/programs/{world.program_id}/analytics"
    page = client.get(f"{base}?{MARCH}").text
    assert f'href="{base}/export?report=funnel&by=link&{MARCH}"' in html.unescape(page)
    assert 'data-testid="export-fission"' in page
    store = store_for(client.app.state.settings)  # type: ignore[attr-defined]
    span = Span(world.program_id, date(2026, 3, 1), date(2026, 3, 31))
    for by in ("link", "member", "group"):
        response = client.get(f"{base}/export?report=funnel&by={by}&{MARCH}")
        assert response.status_code == 200
        assert f'filename="funnel-{by}-2026-03-01-2026-03-31.xlsx"' in response.headers["content-disposition"]
        rows = _rows(response.content)
        assert rows[0] == (
            by,
            "名称",
            "clicks",
            "claims",
            "orders",
            "net_fen",
            "claim_rate_bp",
            "order_rate_bp",
        )
        expected = reports.funnel(store, span, by=by)
        assert [r[0] for r in rows[1:]] == [r.key for r in expected]
        assert [r[2:6] for r in rows[1:]] == [(r.clicks, r.claims, r.orders, r.net_fen) for r in expected]
    links_sheet = _rows(client.get(f"{base}/export?report=funnel&{MARCH}").content)
    assert links_sheet[1] == (
        world.yi_link.id,
        f"{world.yi_link.code} · 群主乙",
        2,
        1,
        1,
        LIST_FEN - 1000,
        5000,
        5000,
    )
    assert links_sheet[2] == (
        world.jia_link.id,
        f"{world.jia_link.code} · 群主甲",
        3,
        2,
        1,
        LINK_FEN,
        6666,
        3333,
    )
    fission = reports.fission(store, reports.month_span(world.program_id, "2026-03"))
    assert fission.recruits == 1
    sheet = _rows(client.get(f"{base}/export?report=fission&{MARCH}&lang=en").content)
    assert sheet[0] == ("Figure", "Value")
    figures = {r[0]: r[1] for r in sheet[1:]}
    assert figures["period"] == "2026-03"  # the range's last month
    assert (figures["members_at_start"], figures["recruits"]) == (fission.members_at_start, 1)
    assert figures["k_factor_bp"] == fission.k_factor_bp
    assert [(k, v) for k, v in sheet[1:] if str(k).startswith("members_level_")] == [
        (f"members_level_{level}", members) for level, members in fission.depth
    ]
    february = client.get(f"{base}/export?report=fission&period=2026-02&{MARCH}")
    assert february.headers["content-disposition"].endswith('filename="fission-2026-02.xlsx"')
    assert ("recruits", 0) in _rows(february.content)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("report=funnel&by=sku", "bad_split"),
        ("report=funnel&by=channel", "bad_split"),
        ("report=fission&period=2026-13", "bad_period"),
        ("report=fission&period=march", "bad_period"),
        ("report=fission&period=2026-3", "bad_period"),
        (
            "report=fission&period=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-03",
            "bad_period",
        ),  # full-width: was a 500
        ("report=fission&period=2026-03%0A", "bad_period"),  # a newline, which reached the file name
        ("report=fission&period=0000-01", "date_out_of_range"),
        ("report=fission&period=3000-01", "date_out_of_range"),
    ],
)
def test_a_bad_split_or_period_is_refused(
    client: TestClient, factory: sessionmaker[Session], world: FunnelWorld, query: str, code: str
) -> None:
    console_sign_in(client, factory)
    refused = client.get(f"/console/programs/{world.program_id}/analytics/export?{query}&{MARCH}")
    assert refused.status_code == 422
    assert refusal_code(refused) == code
    assert "march" not in refused.text  # what was typed is not repeated


def test_only_an_operator_reads_the_funnel_and_its_exports(
    client: TestClient,
    operator: dict[str, str],
    factory: sessionmaker[Session],
    world: FunnelWorld,
    make_token: TokenMaker,
) -> None:
    base = f"/console/programs/{world.program_id}/analytics"
    paths = [
        f"{base}?funnel_by=group",
        f"{base}/export?report=funnel&by=member",
        f"{base}/export?report=fission",
    ]
    for path in paths:
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303, path
        assert anonymous.headers["location"].startswith("/console/login")
    member_sign_in(client, make_token("member", world.jia))
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 403, path
    client.cookies.clear()
    shop = client.post("/api/v1/merchants", json={"code": "funnel-shop", "name": "店"}, headers=operator)
    merchant_sign_in(client, factory, shop.json()["id"])
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 403, path
    client.cookies.clear()
    console_sign_in(client, factory)
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code == 200, path

"""The salesperson's customer pages: the navigation entry, the list and its filters, the card with
suggestions, the add form, today's tasks; a member never opens another member's customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.crm import calendar
from neigou.crm.models import Consent, Customer
from neigou.groups.compliance import local_date
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker, row_counts
from tests.crm import reco_builders
from tests.crm.builders import add_customer
from tests.crm.reco_builders import RecoWorld
from tests.factories import create_member, create_program
from tests.sign_in import member_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_factory: sessionmaker[Session],
    module_make_token: TokenMaker,
) -> RecoWorld:
    world = reco_builders.build(module_client, module_operator, module_factory, module_make_token)
    soon = local_date(utcnow(), "Asia/Shanghai") + timedelta(days=3)
    add_customer(
        module_client,
        module_operator,
        world.member_id,
        "13700000003",
        name="赵小姐",
        tags=["真丝", "尺码:M"],
        spending_power="low",
        birthday=soon.replace(year=1991).isoformat(),
        consent={"marketing": True},
    )
    return world


def _testids(html: str, testid: str) -> int:
    return html.count(f'data-testid="{testid}"')


def test_the_customers_entry_shows_for_a_member_who_keeps_a_book(
    client: TestClient, world: RecoWorld, operator: dict[str, str], make_token: TokenMaker
) -> None:
    member_sign_in(client, world.member_token)
    home = client.get("/m/")
    assert 'data-testid="bn-customers"' in home.text
    assert ">顾客<" in home.text
    plain_program = create_program(client, operator, code="partners-plain")
    plain = create_member(client, operator, plain_program["id"], "群主")
    member_sign_in(client, make_token(Role.MEMBER, plain["id"]))
    assert 'data-testid="bn-customers"' not in client.get("/m/").text


def test_the_list_filters_by_tag_power_and_dormancy(client: TestClient, world: RecoWorld) -> None:
    member_sign_in(client, world.member_token)
    page = client.get("/m/customers")
    assert page.status_code == 200
    assert _testids(page.text, "customer") == 2
    assert "王女士" in page.text
    assert "赵小姐" in page.text
    assert "李先生" not in page.text  # the other member's
    assert 'data-testid="no-consent"' in page.text  # 王女士 gave none
    wool = client.get("/m/customers?tag=羊毛").text
    assert (_testids(wool, "customer"), "王女士" in wool) == (1, True)
    # Tags are stored NFKC-folded: the filter is folded alike, a full-width colon finds `尺码:M`.
    sized = client.get("/m/customers?tag=尺码：M").text
    assert (_testids(sized, "customer"), "赵小姐" in sized) == (1, True)
    low = client.get("/m/customers?power=low").text
    assert (_testids(low, "customer"), "赵小姐" in low) == (1, True)
    assert _testids(client.get("/m/customers?tag=&power=&dormant=").text, "customer") == 2  # the form's "any"
    dormant = client.get("/m/customers?dormant=30").text
    assert _testids(dormant, "customer") == 0  # both were added today
    assert "没有符合筛选条件的顾客。" in dormant
    english = client.get("/m/customers?power=high&lang=en").text
    assert "王女士" in english
    assert ">High<" in english


def test_the_card_shows_suggestions_with_reasons(client: TestClient, world: RecoWorld) -> None:
    member_sign_in(client, world.member_token)
    card = client.get(f"/m/customers/{world.customer_id}")
    assert card.status_code == 200
    first = card.text.split('data-testid="suggestion"')[1]
    assert 'data-sku="COAT"' in first
    assert "合其喜好：羊毛 / 通勤" in first
    assert "价位合其消费力（高）" in first
    assert _testids(card.text, "suggestion") == 5
    assert 'data-state="none"' in card.text
    other = client.get(f"/m/customers/{world.other_customer_id}")
    assert other.status_code == 404
    assert 'data-testid="customer-missing"' in other.text


def test_add_a_customer_with_consent(
    client: TestClient, world: RecoWorld, factory: sessionmaker[Session]
) -> None:
    member_sign_in(client, world.member_token)
    before = row_counts(factory)
    bad = client.post("/m/customers", data={"phone": "12345", "name": "陈女士"}, follow_redirects=False)
    assert bad.status_code == 422
    assert 'data-code="invalid_customer_ref"' in bad.text
    assert 'value="12345"' in bad.text
    assert 'value="陈女士"' in bad.text
    again = client.post("/m/customers", data={"phone": reco_builders.CUSTOMER_REF}, follow_redirects=False)
    assert again.status_code == 409
    assert 'data-code="customer_exists"' in again.text
    assert "这位顾客已在你的顾客簿中。" in again.text
    assert row_counts(factory) == before
    made = client.post(
        "/m/customers",
        data={
            "phone": "139 0000 7777",
            "name": "陈女士",
            "job": "律师",
            "spending_power": "high",
            "tags": "羊绒，通勤, M",
            "consent": "true",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    card = client.get(made.headers["location"])
    assert 'data-testid="customer-added"' in card.text
    assert 'data-state="granted"' in card.text
    assert "139****7777" in card.text
    with factory() as session:
        customer = session.scalars(select(Customer).where(Customer.name == "陈女士")).one()
        assert (customer.member_id, customer.tags, customer.job) == (
            world.member_id,
            ["羊绒", "通勤", "M"],
            "律师",
        )
        consent = session.scalars(select(Consent).where(Consent.customer_id == customer.id)).one()
        assert (consent.granted, consent.source) == (True, "workspace")
    # the decision's history names where it was taken, never the stored code
    assert '<span data-testid="consent-source">工作台添加</span>' in card.text
    english = client.get(made.headers["location"], params={"lang": "en"})
    assert '<span data-testid="consent-source">added in the workspace</span>' in english.text


def test_todays_tasks(client: TestClient, world: RecoWorld) -> None:
    member_sign_in(client, world.member_token)
    page = client.get("/m/customers/today")
    assert page.status_code == 200
    birthdays = page.text.split('data-testid="task-birthdays"')[1].split("</section>")[0]
    assert "赵小姐" in birthdays
    assert "王女士" not in birthdays
    today = local_date(utcnow(), "Asia/Shanghai")
    assert ('data-testid="task-season"' in page.text) == (calendar.season_change(today) is not None)
    assert "30 天无点击、无订单：共 0 位顾客。" in page.text


def test_the_home_lists_the_customer_books_tasks(client: TestClient, world: RecoWorld) -> None:
    member_sign_in(client, world.member_token)
    today_page = client.get("/m/customers/today").text
    born = _testids(today_page.split('data-testid="task-birthdays"')[1].split("</section>")[0], "customer")
    assert born >= 1  # 赵小姐's birthday is in three days
    home = client.get("/m/").text
    tasks = home.split('data-testid="tasks"')[1].split("</section>")[0]
    assert f"{born} 位顾客本周过生日" in tasks
    assert 'href="/m/customers/today"' in tasks
    assert "天没有下单" not in tasks  # nobody in the book is dormant
    today = local_date(utcnow(), "Asia/Shanghai")
    assert ("换季" in tasks) == (calendar.season_change(today) is not None)
    assert 'data-testid="no-tasks"' not in tasks

"""Group sales pages through HTTP: the sales beside compliance, the leaderboard, the member's own."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.groups.models import Group, GroupPlatform, GroupStatus
from neigou.kit.clock import utcnow
from tests.conftest import TokenMaker
from tests.reporting.sales_world import SKU, SalesWorld, build, order, place_activity
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module


@pytest.fixture(scope="module")
def world(
    module_client: TestClient,
    module_operator: dict[str, str],
    module_make_token: TokenMaker,
    module_factory: sessionmaker[Session],
) -> SalesWorld:
    built = build(module_client, module_operator, module_make_token, module_factory)
    place_activity(module_client, module_operator, module_factory, built)
    return built


def _ranked_ids(html: str) -> list[int]:
    table = html.split('data-testid="leaderboard"', 1)[1]
    return [int(g) for g in re.findall(r'<tr data-group-id="(\d+)">', table)]


def test_sales_beside_compliance_and_the_leaderboard(
    client: TestClient, factory: sessionmaker[Session], world: SalesWorld
) -> None:
    console_sign_in(client, factory)
    program = client.get(f"/console/programs/{world.program_id}")
    assert f'href="/console/programs/{world.program_id}/groups/leaderboard"' in program.text
    page = client.get(f"/console/programs/{world.program_id}/groups?date=2026-03-11&view=sales")
    assert page.status_code == 200
    sales = page.text.split('data-testid="group-sales"', 1)[1].split("</section>", 1)[0]
    assert "群销售 · 近 30 天" in sales
    # 30 days to 11 March: A1 also has A1-BEFORE (7 000 fen on 9 March): 3 orders, ¥320.00.
    a1 = sales.split(f'data-group-id="{world.a1}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="sales-orders">3<' in a1
    assert 'data-testid="sales-gmv">¥320.00<' in a1
    assert "¥670.00" in sales.split('data-testid="sales-total"', 1)[1]  # 320 + 350
    assert "另有 1 个群这段时间没有点击和订单。" in sales  # A2, not listed
    assert sales.index(f'data-group-id="{world.b1}"') < sales.index(f'data-group-id="{world.a1}"')  # by GMV
    board = client.get(
        f"/console/programs/{world.program_id}/groups/leaderboard?from=2026-03-10&to=2026-03-11"
    )
    assert board.status_code == 200
    assert _ranked_ids(board.text) == [world.b1, world.a1, world.a2]
    found = client.get(
        f"/console/programs/{world.program_id}/groups/leaderboard?from=2026-03-10&to=2026-03-11&q=宝妈好物2"
    ).text
    assert _ranked_ids(found) == [world.a2]
    assert 'data-testid="rank">3<' in found  # found, it keeps its rank
    assert 'id="leaderboard-chart"' in board.text
    by_orders = client.get(
        f"/console/programs/{world.program_id}/groups/leaderboard?from=2026-03-10&to=2026-03-11&by=orders&lang=en"
    )
    assert _ranked_ids(by_orders.text) == [world.a1, world.b1, world.a2]
    assert "Group leaderboard" in by_orders.text
    backwards = client.get(
        f"/console/programs/{world.program_id}/groups/leaderboard?from=2026-03-12&to=2026-03-11"
    )
    assert backwards.status_code == 422
    assert "开始日期不能晚于结束日期" in backwards.text


def test_the_member_sees_their_own_groups_sales(
    client: TestClient,
    operator: dict[str, str],
    make_token: TokenMaker,
    world: SalesWorld,
) -> None:
    made = client.post(
        "/api/v1/links", json={"member_id": world.owner_a, "sku": SKU, "group_id": world.a1}, headers=operator
    )
    assert made.status_code == 201, made.text
    paid_at = utcnow().isoformat()
    order(client, world.integration, world, "NOW-1", 12_000, paid_at=paid_at, link_code=made.json()["code"])
    token = make_token(Role.MEMBER, world.owner_a)
    member_sign_in(client, token)
    home = client.get("/m/")
    assert 'href="/m/groups"' in home.text
    page = client.get("/m/groups")
    assert page.status_code == 200
    card = page.text.split(f'id="group-{world.a1}"', 1)[1].split("</section>", 1)[0]
    # 12 000 fen at a 20% pool: the owner's 20% share is 480 fen.
    assert 'data-testid="sales-orders">1<' in card
    assert 'data-testid="sales-gmv">¥120.00<' in card
    assert 'data-testid="sales-commission">¥4.80<' in card
    assert 'data-testid="my-group-commission">¥4.80<' in page.text
    assert "芬香内购1群" not in page.text  # another owner's group


def test_the_leaderboard_ranks_and_finds_every_group_past_five_hundred(
    client: TestClient, factory: sessionmaker[Session], world: SalesWorld
) -> None:
    at = utcnow()
    with factory() as session:
        extra = [
            Group(
                program_id=world.program_id,
                owner_member_id=world.owner_a,
                name=f"长尾群{i:03d}",
                platform=GroupPlatform.WECHAT,
                status=GroupStatus.ACTIVE,
                created_at=at,
                updated_at=at,
            )
            for i in range(505)
        ]
        session.add_all(extra)
        session.commit()
        last = extra[-1].id
    console_sign_in(client, factory)
    board = f"/console/programs/{world.program_id}/groups/leaderboard?from=2026-03-10&to=2026-03-11"
    page = client.get(board)
    assert 'data-testid="list-total">共 508 条<' in page.text  # every group counts, past 500
    found = client.get(f"{board}&q=长尾群504")
    assert _ranked_ids(found.text) == [last]
    row = found.text.split(f'data-group-id="{last}"', 1)[1]
    assert 'data-testid="rank">508<' in row  # ranked last, below the first five hundred

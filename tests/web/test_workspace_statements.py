"""What a workspace page costs in statements: the same for a member with one group, post, link, order
and customer as for one with twenty groups, sixty posts and twenty of the rest; the post builder reads
the feed only for the products chosen; the feed reads the member's share once; a member's group pages
read the counts of its own groups only."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from fastapi.testclient import TestClient

from neigou.groups import repository as groups_repo
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.crm import builders as crm
from tests.database_fixtures import ModuleDatabase
from tests.groups.builders import create_group, post_count
from tests.sign_in import member_sign_in
from tests.statements import statements

pytestmark = pytest.mark.world_per_module
# Every workspace page a member opens without an id in its path.
PAGES = [
    "/m/",
    "/m/posts",
    "/m/groups",
    "/m/links",
    "/m/earnings",
    "/m/customers",
    "/m/customers/today",
    "/m/events",
    "/m/pushes",
    "/m/pushes/new",
    "/m/feed",
    "/m/me",
    "/m/team",
    "/m/tier",
    "/m/live-codes",
    "/m/leaderboard",
    "/m/recruit",
]
MANY = 20  # groups, links, orders and customers of the busy member (three posts per group)
# The home's statements, the sign-in's token read included (29 before it read the tiers, the member's
# tier history and its earnings once each, and counted the dormant customers without reading one; 25
# before it read the member's groups and their latest counts once for their standing and the feed's band;
# 23 before the feed read its products' fixed commissions, one statement, to estimate them as orders pay).
HOME_STATEMENTS = 24


def _grow(
    client: TestClient,
    operator: dict[str, str],
    *,
    program_id: int,
    member_id: int,
    groups: list[int],
    n: int,
) -> None:
    """``n`` groups in all (half counted), three posts per group, ``n`` links each with an order, and
    ``n`` customers."""
    groups = groups + [
        create_group(client, operator, member_id, name=f"扩展{i}群")["id"] for i in range(n - len(groups))
    ]
    counted_at = (b.AT - timedelta(hours=1)).isoformat()
    for group_id in groups[: max(1, n // 2)]:
        assert post_count(client, operator, group_id, 120, counted_at).status_code == 201
    body = {"group_ids": groups, "skus": [b.SHAMPOO, b.TEE], "at": b.AT.isoformat()}
    for _ in range(3):
        made = client.post(f"/api/v1/members/{member_id}/posts", json=body, headers=operator)
        assert made.status_code == 201, made.text
    for i in range(n):
        link = client.post("/api/v1/links", json={"member_id": member_id, "sku": b.SHAMPOO}, headers=operator)
        assert link.status_code == 201, link.text
        order = {
            "external_id": f"{member_id}-{i}",
            "program_id": program_id,
            "customer_ref": f"139{member_id:04d}{i:04d}",
            "items": [{"sku": b.SHAMPOO, "quantity": 1, "paid_fen": 4990}],
            "paid_at": (b.AT - timedelta(days=i % 20)).isoformat(),
            "link_code": link.json()["code"],
        }
        assert client.post("/api/v1/orders", json=order, headers=operator).status_code == 201
        crm.add_customer(client, operator, member_id, f"138{member_id:04d}{i:04d}", name=f"客户{i}")


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    """The feed's world with a campaign live now; its owner busy, the other owner with one of each."""
    built = b.build(module_client, module_operator, module_make_token)
    b.create_live_campaign(module_client, module_operator, built.program_id)
    grow = partial(_grow, module_client, module_operator, program_id=built.program_id)
    grow(member_id=built.owner, groups=built.groups, n=MANY)
    grow(member_id=built.other_owner, groups=[built.other_group], n=1)
    return {
        "busy": module_make_token("member", built.owner),
        "quiet": module_make_token("member", built.other_owner),
        "quiet_groups": {built.other_group},
    }


def _sent(client: TestClient, database: ModuleDatabase, page: str) -> list[str]:
    """The statements a page sends (opened once before, so nothing is read for the first time)."""
    assert client.get(page).status_code == 200
    with statements(database.connection.engine) as seen:
        response = client.get(page)
    assert response.status_code == 200, (page, response.text[:300])
    return seen


def test_every_page_sends_as_many_statements_whatever_the_member_has(
    client: TestClient, module_database: ModuleDatabase, world: dict[str, Any]
) -> None:
    member_sign_in(client, world["quiet"])
    quiet = {page: len(_sent(client, module_database, page)) for page in PAGES}
    member_sign_in(client, world["busy"])
    busy = {page: len(_sent(client, module_database, page)) for page in PAGES}
    assert busy == quiet
    assert client.get("/m/posts").text.count('data-testid="post"') >= 30  # the busy member's latest posts


def test_the_home_sends_no_more_statements_than_it_needs(
    client: TestClient, module_database: ModuleDatabase, world: dict[str, Any]
) -> None:
    member_sign_in(client, world["busy"])
    sent = _sent(client, module_database, "/m/")
    own = [s for s in sent if not s.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))]
    assert len(own) <= HOME_STATEMENTS, own  # the test's savepoints around the request left out
    assert len([s for s in own if "FROM tiers" in s]) == 1
    assert len([s for s in own if "FROM ledger_entries JOIN ledger_postings" in s]) == 1
    # The member's groups, and their latest counts up to the end of today and up to now, read once.
    assert len([s for s in own if s.startswith("SELECT chat_groups.id")]) == 1
    latest = [s for s in own if s.startswith("SELECT anon_1.group_id") and "FROM group_counts" in s]
    assert len(latest) == 1


def test_the_post_builder_reads_the_feed_only_for_chosen_products(
    client: TestClient, module_database: ModuleDatabase, world: dict[str, Any]
) -> None:
    member_sign_in(client, world["busy"])
    plain = _sent(client, module_database, "/m/posts")
    chosen = _sent(client, module_database, f"/m/posts?sku={b.SHAMPOO}")
    assert not [s for s in plain if "FROM campaigns" in s]
    assert [s for s in chosen if "FROM campaigns" in s]
    assert len(plain) <= len(chosen) - 5  # the feed's campaigns, items, products, traffic, share


def test_the_feed_reads_the_members_share_once(
    client: TestClient, module_database: ModuleDatabase, world: dict[str, Any]
) -> None:
    member_sign_in(client, world["busy"])
    sent = _sent(client, module_database, "/m/feed")
    assert 'data-testid="feed-item"' in client.get("/m/feed").text
    assert len([s for s in sent if "FROM member_tier_periods" in s]) == 1
    assert len([s for s in sent if "FROM tiers" in s]) == 1


@pytest.fixture
def counts_read(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """The groups whose counts the repository hands back while the test runs."""
    read: set[int] = set()
    latest, latest_at, first = (
        groups_repo.latest_counts,
        groups_repo.latest_counts_at,
        groups_repo.first_counts,
    )

    def latest_counts(*args: Any, **kwargs: Any) -> Any:
        found = latest(*args, **kwargs)
        read.update(found)
        return found

    def latest_counts_at(*args: Any, **kwargs: Any) -> Any:
        found = latest_at(*args, **kwargs)
        for at_cutoff in found:
            read.update(at_cutoff)
        return found

    def first_counts(*args: Any, **kwargs: Any) -> Any:
        found = first(*args, **kwargs)
        read.update(found)
        return found

    monkeypatch.setattr(groups_repo, "latest_counts", latest_counts)
    monkeypatch.setattr(groups_repo, "latest_counts_at", latest_counts_at)
    monkeypatch.setattr(groups_repo, "first_counts", first_counts)
    return read


@pytest.mark.parametrize("page", ["/m/", "/m/groups"])
def test_a_members_group_pages_read_the_counts_of_its_own_groups_only(
    client: TestClient, world: dict[str, Any], counts_read: set[int], page: str
) -> None:
    member_sign_in(client, world["quiet"])
    assert client.get(page).status_code == 200
    assert counts_read == world["quiet_groups"]

"""The feed, post builder and live-code pages through HTTP, and the console's campaigns page."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import meta
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from neigou.campaigns.models import Campaign
from neigou.feed.models import GroupPost
from neigou.web import pages, workspace_live_codes
from tests.campaigns import builders as b
from tests.conftest import TokenMaker
from tests.offers import factories as offers
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module
NOW = datetime.now(UTC)


@pytest.fixture(scope="module")
def world(
    module_client: TestClient, module_operator: dict[str, str], module_make_token: TokenMaker
) -> dict[str, Any]:
    built = b.build(module_client, module_operator, module_make_token)
    coupon = offers.coupon(
        module_client,
        module_operator,
        2500,
        skus=[b.SHAMPOO],
        visibility="hidden",
        starts_at=(NOW - timedelta(days=1)).isoformat(),
        ends_at=(NOW + timedelta(days=5)).isoformat(),
    )
    b.create_live_campaign(module_client, module_operator, built.program_id, now=NOW, coupon_id=coupon["id"])
    return {"world": built, "token": module_make_token("member", built.owner)}


def test_the_feed_page_shows_todays_products_with_the_estimate(
    client: TestClient, world: dict[str, Any]
) -> None:
    assert client.get("/m/feed", follow_redirects=False).status_code in {303, 401}
    member_sign_in(client, world["token"])
    page = client.get("/m/feed")
    assert page.status_code == 200
    assert "今日选品" in page.text
    assert "飘柔 去屑洗发水 500ml" in page.text
    assert "¥24.90" in page.text
    assert "¥49.90" in page.text
    assert "¥1.24" in page.text  # floor(2490 × 2500 × 2000 / 10^8) fen
    cheap = client.get("/m/feed?max_yuan=30")
    assert 'data-sku="LQ-SHAMPOO"' in cheap.text
    assert 'data-sku="YD-TEE"' not in cheap.text
    assert client.get("/m/feed?max_yuan=abc").status_code == 200  # an unreadable amount filters nothing


def test_every_feed_item_shows_a_picture(client: TestClient, world: dict[str, Any]) -> None:
    """A product without an image of its own shows its drawn tile, never an empty box."""
    member_sign_in(client, world["token"])
    page = client.get("/m/feed").text
    items = re.findall(r'data-testid="feed-item" data-sku="([^"]+)"', page)
    images = re.findall(r'<img src="([^"]+)"[^>]*data-testid="feed-image"', page)
    assert items
    tile = re.compile(r"/img/products/(\d+)/(.+)\.png")
    assert [m.group(2) for image in images if (m := tile.fullmatch(image))] == items
    assert (
        len({m.group(1) for image in images if (m := tile.fullmatch(image))}) == 1
    )  # the program's organization
    assert client.get(images[0]).headers["content-type"] == "image/png"


def test_the_post_builder_makes_one_post_per_group(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    member_sign_in(client, world["token"])
    fw: b.FeedWorld = world["world"]
    builder = client.get(f"/m/posts?sku={b.SHAMPOO}&sku={b.TEE}")
    assert builder.status_code == 200
    assert builder.text.count('data-testid="group-pick"') == 3
    made = client.post(
        "/m/posts",
        data={"sku": [b.SHAMPOO, b.TEE], "group_id": fw.groups[:2], "slot": "now"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"].startswith("/m/posts?made=2")
    listed = client.get(made.headers["location"])
    assert listed.text.count('data-testid="post"') == 2
    assert "券后 ¥24.90" in listed.text
    refused = client.post(
        "/m/posts", data={"sku": [b.SHAMPOO], "group_id": [fw.other_group]}, follow_redirects=False
    )
    assert "error=group_not_found" in refused.headers["location"]
    assert "这不是你的群" in client.get(refused.headers["location"]).text
    with factory() as session:
        post_id = session.scalar(select(func.max(GroupPost.id)))
    copied = client.post(f"/m/posts/{post_id}/copied", follow_redirects=False)
    assert copied.status_code == 303
    assert "已发群" in client.get("/m/posts").text


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "white").save(out, format="PNG")
    return out.getvalue()


def test_the_live_codes_page_makes_a_code_and_takes_qr_images(
    client: TestClient, world: dict[str, Any]
) -> None:
    member_sign_in(client, world["token"])
    fw: b.FeedWorld = world["world"]
    assert (
        "error=capacity"
        in client.post(
            "/m/live-codes", data={"group_id": fw.groups, "capacity": "zero"}, follow_redirects=False
        ).headers["location"]
    )
    made = client.post(
        "/m/live-codes", data={"group_id": fw.groups[:2], "capacity": "400"}, follow_redirects=False
    )
    assert made.headers["location"] == "/m/live-codes?saved=1"
    page = client.get("/m/live-codes")
    code = re.search(r'data-code="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
    assert page.text.count('data-testid="live-code-group"') == 2
    qr = client.get(f"/m/live-codes/{code}/qr.png")
    assert (qr.status_code, qr.headers["content-type"]) == (200, "image/png")
    bad = client.post(
        f"/m/live-codes/{code}/groups/{fw.groups[0]}/qr",
        files={"image": ("qr.txt", b"hello", "text/plain")},
        follow_redirects=False,
    )
    assert "error=image_type" in bad.headers["location"]
    good = client.post(
        f"/m/live-codes/{code}/groups/{fw.groups[0]}/qr",
        files={"image": ("qr.png", png(), "image/png")},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert "已上传二维码" in client.get("/m/live-codes").text
    visit = client.get(f"/g/{code}")
    assert f'data-group-id="{fw.groups[0]}"' in visit.text


def _read_by(name: str) -> set[str]:
    """The variables a template reads, with those of the templates it extends or includes."""
    env = pages.templates.env
    assert env.loader is not None
    tree = env.parse(env.loader.get_source(env, name)[0])
    found = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        found |= _read_by(str(other))
    return found


def test_the_live_codes_page_hands_its_template_only_what_it_reads(
    client: TestClient, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    handed: list[tuple[str, set[str]]] = []

    def spy(request: Any, name: str, status_code: int = 200, **context: Any) -> Any:
        handed.append((name, set(context)))
        return pages.render(request, name, status_code, **context)

    monkeypatch.setattr(workspace_live_codes, "render", spy)
    member_sign_in(client, world["token"])
    assert client.get("/m/live-codes").status_code == 200
    [(name, context)] = handed
    assert context - _read_by(name) == set()


def test_the_console_publishes_campaigns(
    client: TestClient, factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    console_sign_in(client, factory)
    fw: b.FeedWorld = world["world"]
    page = client.get("/console/campaigns")
    assert page.status_code == 200
    assert "今日爆款" in page.text
    assert 'href="/console/campaigns/new"' in page.text
    on_program = client.get(f"/console/campaigns?program={fw.program_id}").text
    assert f'href="/console/campaigns/new?program={fw.program_id}"' in on_program
    preset = client.get(f"/console/campaigns/new?program={fw.program_id}").text
    assert f'<option value="{fw.program_id}" selected' in preset
    form = {
        "program_id": str(fw.program_id),
        "name": "双12预热",
        "skus": f"{b.TEE}\n{b.SHAMPOO}",
        "boost_percent": "5",
        "starts_at": "2026-12-10T00:00",
        "ends_at": "2026-12-12T23:59",
        "copy_text": "提前加购",
    }
    made = client.post("/console/campaigns/new", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    assert made.headers["location"] == f"/console/campaigns?program={fw.program_id}"
    with factory() as session:
        campaign = session.scalar(select(Campaign).where(Campaign.name == "双12预热"))
        assert campaign is not None
        assert campaign.commission_boost_bp == 500
        assert campaign.starts_at == datetime(2026, 12, 9, 16, 0, tzinfo=UTC)  # Shanghai midnight
    refused = client.post("/console/campaigns/new", data={**form, "boost_percent": "95"})
    assert refused.status_code == 422
    assert "的佣金比例将超过 100%" in refused.text
    # a time that is not one is shown beside its field, focused, with what was typed kept
    bad_time = client.post("/console/campaigns/new", data={**form, "name": "双12返场", "ends_at": "12月12日"})
    assert bad_time.status_code == 422
    assert 'data-testid="error-ends_at" data-code="invalid_datetime"' in bad_time.text
    assert 'data-testid="campaign-edit-ends" autofocus' in bad_time.text
    assert 'value="双12返场"' in bad_time.text
    with factory() as session:
        assert session.scalar(select(Campaign).where(Campaign.name == "双12返场")) is None

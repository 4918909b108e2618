"""The push composer, the pushes and a push's messages in the workspace, and the console's CRM page,
through HTTP (tests/browser has them in Chromium)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.campaigns import builders as fb
from tests.conftest import TokenMaker, row_counts
from tests.crm import push_builders as pb
from tests.crm.push_builders import PushWorld
from tests.sign_in import console_sign_in, member_sign_in

pytestmark = pytest.mark.world_per_module


def _sign_in(client: TestClient, make_token: TokenMaker, world: PushWorld) -> None:
    member_sign_in(client, make_token("member", world.feed.owner))


def test_compose_preview_send_and_mark_sent(
    client: TestClient, make_token: TokenMaker, world: PushWorld
) -> None:
    assert client.get("/m/pushes/new", follow_redirects=False).status_code in {303, 401}
    _sign_in(client, make_token, world)
    page = client.get(f"/m/pushes/new?sku={fb.TEE}")
    assert page.status_code == 200
    assert page.text.count('data-testid="customer-pick"') == 4  # the owner's book, not the other's
    key = re.search(r'name="key" value="([^"]+)"', page.text)
    assert key is not None
    form = {"customer_id": [world.wang, world.zhao], "sku": [fb.SHAMPOO], "template": "", "key": key.group(1)}
    preview = client.post("/m/pushes/preview", data=form)
    assert preview.status_code == 200
    assert "王女士您好，飘柔 去屑洗发水 500ml ¥49.90：" in preview.text  # the campaign is over by now
    bad = client.post("/m/pushes/preview", data={**form, "template": "{phone}"})
    assert (bad.status_code, 'data-testid="push-error"' in bad.text) == (422, True)
    sent = client.post("/m/pushes", data=form, follow_redirects=False)
    assert sent.status_code == 303
    again = client.post("/m/pushes", data=form, follow_redirects=False)
    assert again.headers["location"] == sent.headers["location"]  # a resent form is the same push
    shown = client.get(sent.headers["location"])
    assert shown.text.count('data-testid="message"') == 1
    assert "没有营销同意" in shown.text  # 赵先生 skipped
    assert 'data-testid="copy-message"' in shown.text
    mark = re.search(r'action="(/m/pushes/\d+/messages/\d+/sent)"', shown.text)
    assert mark is not None
    assert client.post(mark.group(1), follow_redirects=False).status_code == 303
    after = client.get(sent.headers["location"])
    assert 'data-testid="mark-sent"' not in after.text
    listed = client.get("/m/pushes")
    assert listed.text.count('data-testid="push-row"') == 1


def test_nothing_chosen_comes_back_with_the_reason(
    client: TestClient, make_token: TokenMaker, world: PushWorld
) -> None:
    _sign_in(client, make_token, world)
    answer = client.post("/m/pushes", data={"sku": [fb.TEE], "key": "k1"})
    assert answer.status_code == 422
    assert "请选择客户或分群" in answer.text


def test_another_members_push_page_is_not_found(
    client: TestClient, make_token: TokenMaker, world: PushWorld
) -> None:
    made = pb.push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    member_sign_in(client, make_token("member", world.feed.other_owner))
    assert client.get(f"/m/pushes/{made['id']}").status_code == 404


def test_the_console_page_saves_settings_and_shows_the_secret_once(
    client: TestClient, factory: sessionmaker[Session], world: PushWorld
) -> None:
    console_sign_in(client, factory)
    page = client.get(f"/console/crm?program_id={world.feed.program_id}")
    assert page.status_code == 200
    assert 'data-testid="crm-figures"' in page.text
    form = {
        "program_id": world.feed.program_id,
        "channel": "webhook",
        "cap_pushes": 3,
        "cap_days": 7,
        "quiet_start": "21:30",
        "quiet_end": "08:00",
        "target": "https://crm.brand.example/hook?token=abc",
    }
    saved = client.post("/console/crm/settings", data=form, follow_redirects=False)
    assert saved.status_code == 200
    assert "whsec_" in saved.text
    again = client.get(f"/console/crm?program_id={world.feed.program_id}")
    assert "whsec_" not in again.text
    assert "https://crm.brand.example/hook?…" in again.text
    assert "abc" not in again.text.split('data-testid="crm-target-masked"')[1][:80]
    refused = client.post(
        "/console/crm/settings", data={**form, "quiet_start": "late"}, follow_redirects=False
    )
    assert "error=bad_quiet_hours" in refused.headers["location"]
    robot = {
        **form,
        "channel": "wecom_robot",
        "target": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    }
    refused = client.post("/console/crm/settings", data=robot, follow_redirects=False)
    assert "error=target_not_for_robot" in refused.headers["location"]
    told = client.get(refused.headers["location"])
    assert "企业微信群机器人渠道不使用目标地址" in told.text


def test_a_push_page_shows_only_known_errors_never_the_text_of_its_address(
    client: TestClient, make_token: TokenMaker, world: PushWorld
) -> None:
    made = pb.push(client, world, customer_ids=[world.wang], skus=[fb.TEE])
    _sign_in(client, make_token, world)
    known = client.get(f"/m/pushes/{made['id']}?error=not_a_task")
    assert "此消息由计划设定的渠道发送。" in known.text  # a known code: its translated message
    crafted = client.get(f"/m/pushes/{made['id']}", params={"error": "客服电话 400-000-0000 请立即转账"})
    assert crafted.status_code == 200
    assert 'data-testid="push-error"' in crafted.text
    assert "400-000-0000" not in crafted.text
    assert "操作未成功，请重试。" in crafted.text


def test_a_key_too_long_for_the_push_comes_back_to_the_composer(
    client: TestClient, make_token: TokenMaker, factory: sessionmaker[Session], world: PushWorld
) -> None:
    """The form's key is stored behind ``m-`` in a 64-character column: a longer one is refused on the
    composer, nothing written, and the composer carries a fresh key."""
    _sign_in(client, make_token, world)
    long_key = "k" * 63
    form = {"customer_id": [world.li], "sku": [fb.TEE], "template": "", "key": long_key}
    before = row_counts(factory)
    refused = client.post("/m/pushes", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "text/html" in refused.headers["content-type"]
    assert 'data-testid="push-error"' in refused.text
    assert long_key not in refused.text
    assert row_counts(factory) == before
    fresh = re.search(r'name="key" value="([^"]+)"', refused.text)
    assert fresh is not None
    sent = client.post("/m/pushes", data={**form, "key": "k" * 62}, follow_redirects=False)
    assert sent.status_code == 303, sent.text

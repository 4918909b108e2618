"""Absolute URLs come from NEIGOU_PUBLIC_URL, never from the Host header; unknown hosts are refused."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.kit.settings import Settings
from neigou.network.recruit_codes import recruit_code
from neigou.web.app import create_app
from tests.campaigns import builders as feed_world
from tests.conftest import SECRET, TokenMaker, bearer
from tests.links.builders import build, make_link

EVIL = {"Host": "evil.example"}


def test_an_unknown_host_is_refused_but_the_probes_answer(
    client: TestClient, operator: dict[str, str]
) -> None:
    refused = client.get("/api/v1/programs", headers={**operator, **EVIL, "Accept-Language": "en"})
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "invalid_host"
    assert refused.json()["detail"] == "This server does not answer for the host the request named."
    for host in ("%00", "a;b=c", '"', "evil.example:99999"):
        odd = client.post("/webhooks/v1/orders", headers={"Host": host}, content=b"{}")
        assert (odd.status_code, odd.json()["code"]) == (400, "invalid_host")
    page = client.get("/console/login", headers=EVIL)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert "本服务器不为请求所指的主机提供服务。" in page.text
    assert client.get("/healthz", headers=EVIL).status_code == 200  # orchestrators call probes by address
    assert client.get("/api/v1/programs", headers=operator).status_code == 200


def test_links_point_at_the_public_url_whatever_the_host(
    settings: Settings, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    # Every host trusted: the links still never name the one a request claims.
    configured = settings.model_copy(update={"public_url": "https://shop.example/", "trusted_hosts": "*"})
    with TestClient(create_app(configured, session_factory=factory)) as client:
        operator = bearer(make_token("operator"))
        world = build(client, operator, make_token)
        link = make_link(client, {**operator, **EVIL}, member_id=world.member_id)
        assert link["url"] == f"https://shop.example/l/{link['code']}"
        recruiting = client.get(
            f"/api/v1/members/{world.member_id}/recruiting-link", headers={**operator, **EVIL}
        ).json()
        assert recruiting["url"] == f"https://shop.example/j/{recruit_code(SECRET, world.member_id)}"
        assert recruiting["poster_url"].startswith("https://shop.example/api/v1/members/")
        code = recruit_code(SECRET, world.member_id)
        joined = client.post(f"/j/{code}", data={"name": "小李", "phone": "13812340000"}, headers=EVIL)
        assert joined.status_code == 201, joined.text
        assert "https://shop.example/m/login?code=ngc_" in joined.text
        assert "evil.example" not in joined.text + str(link) + str(recruiting)


def test_posts_links_point_at_the_public_url_whatever_the_host(
    settings: Settings, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    configured = settings.model_copy(update={"public_url": "https://shop.example/", "trusted_hosts": "*"})
    with TestClient(create_app(configured, session_factory=factory)) as client:
        world = feed_world.build(client, bearer(make_token("operator")), make_token)
        path = f"/api/v1/members/{world.owner}/posts"
        body = {"group_ids": world.groups[:1], "skus": [feed_world.SHAMPOO], "at": feed_world.AT.isoformat()}
        made = client.post(path, json=body, headers={**world.owner_headers, **EVIL})
        assert made.status_code == 201, made.text
        post = made.json()["posts"][0]
        listed = client.get(path, headers={**world.owner_headers, **EVIL}).json()[0]
        copied = client.post(f"{path}/{post['id']}/copied", headers={**world.owner_headers, **EVIL}).json()
        for shown in (post, listed, copied):
            code = shown["links"][0]["code"]
            assert shown["links"][0]["url"] == f"https://shop.example/l/{code}"
            assert f"https://shop.example/l/{code}" in shown["text"]
            assert "evil.example" not in str(shown)


def test_trusted_hosts_default_to_the_public_url_and_loopback(
    settings: Settings, factory: sessionmaker[Session], make_token: TokenMaker
) -> None:
    configured = settings.model_copy(update={"public_url": "https://shop.example"})
    assert configured.allowed_hosts == ["shop.example", "localhost", "127.0.0.1"]
    listed = settings.model_copy(update={"trusted_hosts": "shop.example, *.shop.example"})
    assert listed.allowed_hosts == ["shop.example", "*.shop.example"]
    with TestClient(create_app(listed, session_factory=factory), base_url="https://m.shop.example") as client:
        assert client.get("/console/login").status_code == 200
        assert client.get("/console/login", headers={"Host": "shop.example"}).status_code == 200
        assert client.get("/console/login", headers={"Host": "testserver"}).status_code == 400

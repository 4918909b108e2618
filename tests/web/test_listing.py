"""Console lists: search, sort, entity filter and numbered pages with the total (the audit log)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.audit import service as audit
from neigou.audit.models import AuditEntry
from neigou.kit.actor import Actor
from neigou.web import listing
from tests.sign_in import console_sign_in

START = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def _log(factory: sessionmaker[Session], n: int) -> None:
    with factory.begin() as session:
        for i in range(n):
            who = Actor(kind="operator", ref=str(i % 3), label=["王芳", "李强", "ops_100%"][i % 3])
            entity = "coupon" if i % 2 else "program"
            audit.record(session, actor=who, action=f"{entity}.updated", entity=entity, entity_id=i)
        session.flush()
        for i, entry in enumerate(session.query(AuditEntry).order_by(AuditEntry.id)):
            entry.at = START + timedelta(minutes=i)


def _rows(text: str) -> list[str]:
    return re.findall(r'data-testid="audit-row">(.*?)</tr>', text, re.S)


def test_the_audit_log_pages_searches_sorts_and_filters(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(factory, 7)
    console_sign_in(client, factory)
    page = client.get("/console/audit")
    assert page.status_code == 200
    rows = _rows(page.text)
    # the seven entries and the creation of the operator's account, newest first
    assert len(rows) == 8
    # an action in words, its code beside for whoever searches for it; an unknown one by its code
    assert "创建后台账号" in rows[0]
    assert 'title="user.create"' in rows[0]
    assert '<small class="muted"><code>user.create</code></small>' in rows[0]
    assert "<code>program.updated</code>" in rows[1]
    assert "muted" not in rows[1]
    assert "2026-03-01 09:06:00" in rows[1]  # in the deployment's zone (UTC+8)
    assert "共 8 条" in page.text
    oldest = client.get("/console/audit?sort=at").text
    assert "2026-03-01 09:00:00" in _rows(oldest)[0]
    assert 'aria-sort="ascending"' in oldest
    assert "/console/audit?sort=-at" in oldest.replace("&amp;", "&") or "sort=-at" in oldest
    coupons = client.get("/console/audit?entity=coupon").text
    assert len(_rows(coupons)) == 3
    found = client.get("/console/audit", params={"q": "李强"}).text
    assert len(_rows(found)) == 2
    assert "与“李强”相符：2 条" in found
    # LIKE wildcards are searched as text: only the actor whose name holds "100%"
    assert len(_rows(client.get("/console/audit", params={"q": "100%"}).text)) == 2
    assert len(_rows(client.get("/console/audit", params={"q": "0%"}).text)) == 2
    assert "没有符合的记录" in client.get("/console/audit", params={"q": "无此人"}).text
    monkeypatch.setattr(listing, "DEFAULT_SIZE", 3)
    first = client.get("/console/audit?sort=at").text
    assert len(_rows(first)) == 3
    assert "第 1 / 3 页" in first
    last = client.get("/console/audit?sort=at&page=3").text
    assert len(_rows(last)) == 2
    assert "2026-03-01 09:06:00" in _rows(last)[0]


def test_list_parameters_are_checked(client: TestClient, factory: sessionmaker[Session]) -> None:
    console_sign_in(client, factory)
    assert client.get("/console/audit", params={"q": "x" * 101}).status_code == 422
    assert client.get("/console/audit", params={"sort": "at; drop"}).status_code == 422
    assert client.get("/console/audit", params={"page": 0}).status_code == 422
    # an unknown column or entity falls back to the default list
    assert client.get("/console/audit", params={"sort": "nope", "entity": "nope"}).status_code == 200


def test_the_audit_log_needs_an_operator(client: TestClient) -> None:
    response = client.get("/console/audit?q=x", follow_redirects=False)
    assert response.status_code == 303


def _links(page: str) -> list[str]:
    """Every link of the list region (sort headers, entity tabs, pager) with its query."""
    region = page[page.index('<div id="list"') :]
    return [h.replace("&amp;", "&") for h in re.findall(r'href="(/console/audit[^"]*)"', region)]


def test_every_list_link_keeps_the_readers_language(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(factory, 7)
    console_sign_in(client, factory)
    monkeypatch.setattr(listing, "DEFAULT_SIZE", 3)
    page = client.get("/console/audit?lang=en&entity=coupon&q=&sort=at")
    assert "Page 1 of 1 · 3 in all" in page.text
    links = _links(page.text)
    assert any("sort=-at" in h for h in links)  # a header
    assert any("entity=program" in h for h in links)  # a tab
    assert all("lang=en" in h for h in links), links
    paged = client.get("/console/audit?lang=en&sort=at")
    assert any("page=2" in h for h in _links(paged.text))
    assert all("lang=en" in h for h in _links(paged.text))
    # the search box sends the language with the text it searches for
    assert re.search(r'<input type="hidden" name="lang" value="en">', paged.text)
    assert "Search" in client.get("/console/audit", params={"lang": "en", "q": "李强"}).text
    # a language asked in the query holds for the pages the reader goes on to through the navigation
    nav = page.text[: page.text.index("<main>")].replace("&amp;", "&")
    assert 'href="/console/links?lang=en"' in nav
    assert 'class="brand" href="/console?lang=en"' in nav
    assert page.cookies.get("neigou_lang") is None  # the cookie stays the reader's own choice
    plain = client.get("/console/audit").text
    assert 'href="/console/links"' in plain
    assert 'name="lang"' not in plain
    assert 'href="/console/links"' in client.get("/console/audit?lang=xx").text
    chinese = client.get("/console/audit?lang=zh-CN")
    assert '<input type="hidden" name="lang" value="zh-CN">' in chinese.text
    english = _rows(client.get("/console/audit?lang=en").text)
    assert "Console user created" in english[0]
    assert "<code>user.create</code>" in english[0]


def test_the_audit_log_finds_an_action_by_its_words_or_its_code(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    _log(factory, 3)
    console_sign_in(client, factory)
    for q in ("后台账号", "user.create"):
        found = _rows(client.get("/console/audit", params={"q": q}).text)
        assert len(found) == 1, q
        assert "创建后台账号" in found[0]
    assert len(_rows(client.get("/console/audit", params={"q": "console USER", "lang": "en"}).text)) == 1
    # the words of either language find it, whatever the page's language
    for q, lang in (("console user", "zh-CN"), ("后台账号", "en"), ("Console User", "")):
        found = _rows(client.get("/console/audit", params={"q": q, "lang": lang}).text)
        assert len(found) == 1, (q, lang)
        assert 'title="user.create"' in found[0]


def _actions(text: str) -> list[str]:
    return re.findall(r'<td title="([^"]+)" data-testid="audit-action">', text)


def test_the_audit_log_sorts_actions_by_the_words_shown(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    with factory.begin() as session:
        for action in ("withdrawal.approve", "link.create", "order.refund", "program.updated"):
            audit.record(
                session,
                actor=Actor(kind="operator", ref="1", label="王芳"),
                action=action,
                entity="x",
                entity_id=1,
            )
    console_sign_in(client, factory)  # logs user.create
    english = _actions(client.get("/console/audit", params={"sort": "action", "lang": "en"}).text)
    # Console user created, Order refunded, Share link created, Withdrawal approved; a code no word names last
    assert english == ["user.create", "order.refund", "link.create", "withdrawal.approve", "program.updated"]
    chinese = _actions(client.get("/console/audit", params={"sort": "action"}).text)
    # by pinyin: 创建分享链接 (chuàng jiàn fēn), 创建后台账号 (chuàng jiàn hòu), 订单退款 (dìng), 批准提现 (pī);
    # by code point 批 (U+6279) would come before 订 (U+8BA2)
    assert chinese == ["link.create", "user.create", "order.refund", "withdrawal.approve", "program.updated"]
    backwards = _actions(client.get("/console/audit", params={"sort": "-action", "lang": "en"}).text)
    assert backwards == english[::-1]


def test_actions_sort_by_the_words_the_reader_sees_chinese_by_pinyin(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    """安排群提醒 (ān), 驳回提现 (bó), 创建商品 (chuàng): by code point 创 (U+521B) comes before 安 (U+5B89)
    and 驳 (U+9A73); a Chinese reader looks for them by pinyin. The account's creation, 创建后台账号
    (chuàng jiàn hòu), comes before 创建商品 (chuàng jiàn shāng)."""
    with factory.begin() as session:
        who = Actor(kind="operator", ref="1", label="王芳")
        for action in ("product.create", "withdrawal.reject", "group.alerts.run"):
            audit.record(session, actor=who, action=action, entity="program", entity_id=1)
    console_sign_in(client, factory)
    pinyin = ["group.alerts.run", "withdrawal.reject", "user.create", "product.create"]
    assert _actions(client.get("/console/audit?sort=action").text) == pinyin
    assert _actions(client.get("/console/audit?sort=-action").text) == pinyin[::-1]
    # English by letter: Console user created, Group alert queued, Product created, Withdrawal rejected
    english = ["user.create", "group.alerts.run", "product.create", "withdrawal.reject"]
    assert _actions(client.get("/console/audit?sort=action&lang=en").text) == english

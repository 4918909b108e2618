"""A refusal code a page is sent back with is shown in words, in the page's language: the gate's
``overloaded`` on the landing page, ``withdrawal_before_available`` on the workspace earnings page; a
code the page has no words for (or one typed into the address) shows a generic message, never the code."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TokenMaker
from tests.links.builders import build, make_link
from tests.sign_in import member_sign_in

GENERIC = {"zh": "操作未成功，请重试。", "en": "That did not work; please try again."}
LANDING = {
    "overloaded": {
        "zh": "当前使用人数较多，请稍后再试。",
        "en": "Many people are using the service right now. Please try again in a moment.",
    },
}
EARNINGS = {
    "withdrawal_before_available": {
        "zh": "部分余额尚未到可提现时间，请几分钟后再试。",
        "en": "Part of this balance is not available yet; please try again in a few minutes.",
    },
}
UNKNOWN = "no_such_refusal"


def _shown(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', page, re.S)
    assert found, testid
    return html.unescape(" ".join(found.group(1).split()))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_landing_page_names_the_gate_overloaded_and_unknown_codes(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, lang: str
) -> None:
    world = build(client, operator, make_token)
    code = make_link(client, operator, member_id=world.member_id, coupon_id=world.hidden_id)["code"]
    suffix = "&lang=en" if lang == "en" else ""
    for error, words in [*((e, w[lang]) for e, w in LANDING.items()), (UNKNOWN, GENERIC[lang])]:
        page = client.get(f"/p/{code}?error={error}{suffix}")
        assert page.status_code == 200
        shown = _shown(page.text, "claim-error")
        assert shown == words, (error, shown)
        assert error not in shown


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_earnings_page_names_a_withdrawal_before_available_and_unknown_codes(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, lang: str
) -> None:
    world = build(client, operator, make_token)
    member_sign_in(client, make_token("member", world.member_id))
    suffix = "&lang=en" if lang == "en" else ""
    for error, words in [*((e, w[lang]) for e, w in EARNINGS.items()), (UNKNOWN, GENERIC[lang])]:
        page = client.get(f"/m/earnings?error={error}{suffix}")
        assert page.status_code == 200
        shown = _shown(page.text, "withdraw-error")
        assert shown == words, (error, shown)
        assert error not in shown
    payee = _shown(client.get(f"/m/earnings?payee_error={UNKNOWN}{suffix}").text, "payee-error")
    assert payee == GENERIC[lang]


@pytest.mark.parametrize(("path", "testid"), [("/m/links", "link-error"), ("/m/events", "event-error")])
def test_the_workspaces_links_and_events_pages_show_an_unknown_code_in_words(
    client: TestClient, operator: dict[str, str], make_token: TokenMaker, path: str, testid: str
) -> None:
    world = build(client, operator, make_token)
    member_sign_in(client, make_token("member", world.member_id))
    for lang, suffix in (("zh", ""), ("en", "&lang=en")):
        page = client.get(f"{path}?error={UNKNOWN}{suffix}")
        assert page.status_code == 200, page.text
        assert _shown(page.text, testid) == GENERIC[lang]

"""A form keeps the language it was shown in however often it is refused and sent again.

A refused form is shown again (422) at the address it was posted to, which has no ``?lang=``: the next
submit names that address in its ``Referer``, so the language must travel with the form itself (the
``form_lang`` field ``csrf_field()`` writes). These tests submit forms as a browser does: every field
the page's form holds, the page's address as the ``Referer``, and the token from the form's field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from tests.conftest import row_counts
from tests.factories import create_member, create_program
from tests.sign_in import session_client

ORIGIN = "http://testserver"
OTHER = {"en": "zh-CN", "zh-CN": "en"}
TYPED = {"text", "hidden", "tel", "number", "date", "email", "url", "search", "datetime-local"}
ERRORS = {  # the summary of a refused console form, in each language
    "en": "Please fix the fields marked below; nothing was saved.",
    "zh-CN": "请修改下面标出的字段；尚未保存任何内容。",
}


@dataclass
class PageForm:
    action: str
    method: str
    enctype: str
    testid: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page and the values a browser would send for their hidden and text inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []
        self._open: PageForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = PageForm(
                a.get("action", ""),
                a.get("method", "get").lower(),
                a.get("enctype", ""),
                a.get("data-testid", ""),
            )
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None and a.get("name") and a.get("type", "text") in TYPED:
            self._open.fields.append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def forms_of(html: str) -> list[PageForm]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def the_form(html: str, action: str) -> PageForm:
    found = [
        f for f in forms_of(html) if f.method == "post" and f.action.split("?")[0].split("#")[0] == action
    ]
    assert len(found) == 1, [f.action for f in forms_of(html)]
    return found[0]


def submit(
    browser: TestClient,
    page: str,
    form: PageForm,
    changes: dict[str, str],
    files: dict[str, tuple[str, bytes, str]] | None = None,
) -> tuple[httpx2.Response, str]:
    """Send ``form`` from the page at ``page`` (its address, the Referer) with ``changes`` typed in: the
    answer, and the address the browser shows it at (the form's action). An upload sends its token in
    its multipart body only, as a browser does."""
    sent = dict(form.fields) | changes
    action = form.action.split("#")[0] or page.removeprefix(ORIGIN)
    headers = {"Referer": page}
    answer = browser.post(action, data=sent, files=files, headers=headers, follow_redirects=False)
    return answer, ORIGIN + action


@pytest.fixture
def program(client: TestClient, operator: dict[str, str]) -> dict[str, int]:
    made = create_program(client, operator)
    member = create_member(client, operator, made["id"], "王芳", customer_ref="13900000001")
    return {"id": made["id"], "member": member["id"]}


@pytest.mark.parametrize("shown_in", ["en", "zh-CN"])
def test_a_console_form_refused_twice_stays_in_its_language(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int], shown_in: str
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", OTHER[shown_in])
    path = f"/console/programs/{program['id']}/edit"
    page = f"{ORIGIN}{path}?lang={shown_in}"
    shown = browser.get(page)
    assert f'<html lang="{shown_in}">' in shown.text
    before = row_counts(factory)
    html = shown.text
    for _ in range(3):  # refused, sent again from the refusal's page, and again
        answer, page = submit(browser, page, the_form(html, path), {"name": ""})
        assert answer.status_code == 422, answer.text
        assert f'<html lang="{shown_in}">' in answer.text
        assert ERRORS[shown_in] in answer.text
        assert ERRORS[OTHER[shown_in]] not in answer.text
        assert f'href="/console?lang={shown_in}"' in answer.text  # its links keep it too
        assert "lang=" not in page  # the address the browser shows has none
        html = answer.text
    assert row_counts(factory) == before
    # Sent right at last, its answer (a redirect) keeps the language.
    saved, _ = submit(browser, page, the_form(html, path), {"name": "Renamed"})
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].endswith(f"lang={shown_in}")
    assert browser.cookies.get("neigou_lang") == OTHER[shown_in]  # the cookie stays the language switch's


def test_a_member_form_refused_twice_stays_in_its_language(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int]
) -> None:
    browser = session_client(app, factory, Role.MEMBER, program["member"])
    browser.cookies.set("neigou_lang", "zh-CN")
    page = f"{ORIGIN}/m/customers/new?lang=en"
    shown = browser.get(page)
    assert shown.status_code == 200, shown.text
    html = shown.text
    for _ in range(2):
        answer, page = submit(browser, page, the_form(html, "/m/customers"), {"phone": "12345"})
        assert answer.status_code == 422, answer.text
        assert '<html lang="en">' in answer.text
        assert 'data-code="invalid_customer_ref"' in answer.text
        assert "Add customer" in answer.text
        assert "添加顾客" not in answer.text
        html = answer.text
    added, _ = submit(browser, page, the_form(html, "/m/customers"), {"phone": "13700001234"})
    assert added.status_code == 303, added.text
    assert added.headers["location"].endswith("&lang=en")


def test_an_upload_form_refused_twice_stays_in_its_language(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int]
) -> None:
    """A multipart form (a file after the token and the language) carries its language the same way."""
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", "zh-CN")
    page = f"{ORIGIN}/console/programs/{program['id']}/groups?view=alerts&lang=en"
    html = browser.get(page).text
    action = f"/console/programs/{program['id']}/groups/import"
    bad = {"file": ("counts.csv", b"owner_member_id,group\n1,x\n", "text/csv")}
    for _ in range(2):
        answer, page = submit(browser, page, the_form(html, action), {}, files=bad)
        assert answer.status_code == 422, answer.text
        assert '<html lang="en">' in answer.text
        html = answer.text


def _edit_form(browser: TestClient, program_id: int, lang: str) -> tuple[str, PageForm]:
    path = f"/console/programs/{program_id}/edit"
    return path, the_form(browser.get(f"{path}?lang={lang}").text, path)


def test_the_action_counts_first_then_the_field_then_the_referer(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int]
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    path, form = _edit_form(browser, program["id"], "en")
    assert ("form_lang", "en") in form.fields
    typed = dict(form.fields) | {"name": ""}
    chinese_page = {"Referer": f"{ORIGIN}{path}?lang=zh-CN"}
    by_field = browser.post(path, data=typed, headers=chinese_page)
    assert '<html lang="en">' in by_field.text
    by_action = browser.post(f"{path}?lang=zh-CN", data=typed, headers={"Referer": f"{ORIGIN}{path}?lang=en"})
    assert '<html lang="zh-CN">' in by_action.text
    unknown = browser.post(path, data=typed | {"form_lang": "xx"}, headers=chinese_page)
    assert '<html lang="zh-CN">' in unknown.text  # not a language we speak: the Referer's
    browser.cookies.set("neigou_lang", "en")
    plain = browser.post(path, data={k: v for k, v in typed.items() if k != "form_lang"})
    assert '<html lang="en">' in plain.text  # no language on the form: the cookie's, as before
    assert "form_lang" not in plain.text  # and its forms carry none


def test_the_field_never_chooses_the_language_of_another_request(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int]
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", "zh-CN")
    path = f"/console/programs/{program['id']}/edit"
    page = browser.get(f"{path}?form_lang=en")
    assert '<html lang="zh-CN">' in page.text
    assert "form_lang" not in page.text


def test_a_form_refused_for_its_token_is_answered_in_its_language_and_changes_nothing(
    app: FastAPI, factory: sessionmaker[Session], program: dict[str, int]
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    browser.cookies.set("neigou_lang", "zh-CN")
    path, form = _edit_form(browser, program["id"], "en")
    before = row_counts(factory)
    typed = dict(form.fields) | {"name": "Renamed"}
    for token in ("", typed["csrftoken"][:-2] + "xx"):
        refused = browser.post(
            path, data=typed | {"csrftoken": token}, headers={"Referer": f"{ORIGIN}{path}"}
        )
        assert refused.status_code == 403
        assert 'data-code="csrf_failed"' in refused.text
        assert '<html lang="en">' in refused.text
    # A language field first and no token at all is refused the same (the token is still the check).
    tokenless = browser.post(path, data={"form_lang": "en", "name": "Renamed"})
    assert tokenless.status_code == 403
    assert row_counts(factory) == before
    # From another site, the form is refused before its body is read.
    cross = browser.post(path, data=typed, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert 'data-code="cross_origin"' in cross.text
    assert '<html lang="zh-CN">' in cross.text
    assert row_counts(factory) == before

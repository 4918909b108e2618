"""The ``form_lang`` field: written by ``csrf_field()`` into every POST form of a page shown in a language
asked for, and read from the start of a posted form's body, which is then handed on whole."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neigou.web import form_language
from neigou.web.form_language import HEAD_BYTES, reading_language_field, sent_in
from neigou.web.forms import csrf_field
from neigou.web.i18n import FORM_LANGUAGE
from neigou.web.pages import templates
from neigou.web.paths import TEMPLATE_DIR
from tests.aio import run
from tests.web.test_forms import POST_FORM

URLENCODED = "application/x-www-form-urlencoded"
BOUNDARY = "----form7MA4YWxk"


def _scope(content_type: str, query: str = "", **extra: object) -> Scope:
    return {
        "type": "http",
        "method": "POST",
        "path": "/console/programs/1/edit",
        "query_string": query.encode(),
        "headers": [(b"content-type", content_type.encode()), (b"host", b"testserver")],
        **extra,
    }


async def _nowhere(message: Message) -> None:
    raise AssertionError(message)  # none of these apps answers


async def _through(app: ASGIApp, scope: Scope, receive: Receive) -> None:
    await reading_language_field(app)(scope, receive, _nowhere)


def _read(scope: Scope, body: bytes, chunk: int) -> tuple[str, bytes]:
    """The language read from ``body`` sent ``chunk`` bytes at a time to an app that reads it whole, and
    the body that app got."""
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]
    messages: list[Message] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    got: list[bytes] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def app(inner: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            got.append(message.get("body", b""))
            more = message.get("more_body", False)

    run(_through(app, scope, receive))
    return sent_in(scope), b"".join(got)


def _multipart(*parts: tuple[str, str, str | None]) -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n{value}\r\n".encode()
    return out + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_the_field_is_read_however_the_body_arrives_and_the_body_is_handed_on_whole(chunk: int) -> None:
    body = b"csrftoken=abc.def&form_lang=en&name=" + b"x" * 10_000
    assert _read(_scope(URLENCODED), body, chunk) == ("en", body)
    multipart = _multipart(
        ("csrftoken", "abc", None), ("form_lang", "zh-CN", None), ("file", "a,b\n" * 5000, "c.csv")
    )
    assert _read(_scope(f"multipart/form-data; boundary={BOUNDARY}"), multipart, chunk) == (
        "zh-CN",
        multipart,
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (URLENCODED, b"csrftoken=abc&form_lang=fr"),  # not a language we speak
        (URLENCODED, b"csrftoken=abc&form_lang=zh"),
        (URLENCODED, b"csrftoken=abc&name=" + b"x" * HEAD_BYTES + b"&form_lang=en"),  # past the head
        (
            f"multipart/form-data; boundary={BOUNDARY}",
            _multipart(("file", "x", "a.csv"), ("form_lang", "en", None)),
        ),
        (f"multipart/form-data; boundary={BOUNDARY}", b"--nonsense\r\n\r\n"),
        ("multipart/form-data", b"form_lang=en"),  # no boundary
        ("application/json", b'{"form_lang": "en"}'),
        ("text/plain", b"form_lang=en"),
    ],
)
def test_no_language_is_read_from_anything_else(content_type: str, body: bytes) -> None:
    lang, handed_on = _read(_scope(content_type), body, 5)
    assert (lang, handed_on) == ("", body)


def test_nothing_is_read_for_the_field_and_a_body_cut_short_is_not_whole() -> None:
    scope = _scope(URLENCODED)
    asked: list[str] = []

    async def receive() -> Message:
        asked.append("receive")
        return {"type": "http.request", "body": b"form_lang=en"}

    async def unread(inner: Scope, receive: Receive, send: Send) -> None:
        return None

    run(_through(unread, scope, receive))
    assert (asked, sent_in(scope)) == ([], "")  # an app that does not read the body: nothing is read
    messages: list[Message] = [
        {"type": "http.request", "body": b"csrftoken=a&form_lang=en", "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def cut() -> Message:
        return messages.pop(0)

    async def reads_two(inner: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await receive()

    scope = _scope(URLENCODED)
    run(_through(reads_two, scope, cut))
    assert sent_in(scope) == ""  # its last pair may have been longer


def test_a_field_cut_short_at_the_end_of_the_head_is_not_read() -> None:
    """``form_lang=en-GB`` cut after ``en`` is not English: only a pair seen whole counts."""
    body = b"csrftoken=abc&name=" + b"x" * (HEAD_BYTES - 32) + b"&form_lang=en-GB&more=1"
    assert body.index(b"form_lang=") + len(b"form_lang=en") == HEAD_BYTES  # the head ends inside it
    assert _read(_scope(URLENCODED), body, len(body)) == ("", body)
    assert _read(_scope(URLENCODED), body[:HEAD_BYTES], len(body))[0] == "en"  # that same text, whole


def _csrf_field(query: str, **scope: object) -> str:
    request = Request(_scope(URLENCODED, query, csrftoken=lambda: "tok", **scope))
    template = templates.env.from_string("{{ csrf_field() }}", globals={"csrf_field": csrf_field})
    rendered: str = template.render(request=request)
    return rendered


def test_csrf_field_writes_the_language_the_page_was_asked_in() -> None:
    field = '<input type="hidden" name="form_lang" value="{}">'
    assert _csrf_field("lang=en").endswith(field.format("en"))
    answer = {FORM_LANGUAGE: lambda: "zh-CN"}  # a form's answer
    assert _csrf_field("", **answer).endswith(field.format("zh-CN"))
    assert _csrf_field("") == '<input type="hidden" name="csrftoken" value="tok">'  # the cookie's page
    assert "form_lang" not in _csrf_field("lang=fr")


def test_every_post_form_is_a_template_form_so_it_carries_its_language() -> None:
    """``tests/web/test_forms.py`` walks every template and fails on a POST form that does not start with
    ``csrf_field()``, which carries the language; a form built in Python would escape that walk."""
    built = [
        f"{p.name}:{text.count(chr(10), 0, m.start()) + 1}"
        for p in sorted(Path(form_language.__file__).parent.rglob("*.py"))
        for text in [p.read_text(encoding="utf-8")]
        for m in re.finditer(r"<form\b", text, re.IGNORECASE)
    ]
    assert built == [], "a form written outside the templates: " + ", ".join(built)
    walked = [
        t for t in Path(TEMPLATE_DIR).rglob("*.html") if POST_FORM.search(t.read_text(encoding="utf-8"))
    ]
    assert len(walked) >= 28  # the walk sees the page forms

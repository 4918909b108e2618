"""A form with a file is sent as a browser sends it: its CSRF token is the first field of the multipart
body (no ``X-CSRFToken`` header). The right token lets the upload through to its route; a missing,
wrong or late one (after a file) is the 403 refusal page, and nothing is imported."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.models import Role
from neigou.web.form_language import HEAD_BYTES
from neigou.web.forms import CSRF_COOKIE
from tests.conftest import row_counts
from tests.pages import refusal_code
from tests.sign_in import session_client
from tests.web.test_forms import _refused, _token

BOUNDARY = "----chromiumFormBoundary7MA4"
GOOD = "sku,title,price_yuan,commission_rate_bp\nMP-1,多部件商品,1,100\n".encode()


def test_a_multipart_form_with_its_token_in_the_body_is_imported(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    token = _token(browser, "/console/products")
    done = browser.post(
        "/console/products/import",
        data={"csrftoken": token},
        files={"file": ("c.csv", GOOD, "text/csv")},
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    assert 'data-testid="import-result"' in done.text
    assert "多部件商品" in done.text


def _multipart(*parts: tuple[str, bytes, str | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart body with ``parts`` (name, value, filename) in this order, and its content type."""
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    body = out + f"--{BOUNDARY}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def test_a_multipart_form_without_its_token_first_is_refused(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    """No token, a wrong one, a forged cookie, or the token only after the file: the 403 page (in the
    form's language), and nothing imported."""
    browser = session_client(app, factory, Role.OPERATOR)
    token = _token(browser, "/console/products").encode()
    file = ("file", GOOD, "c.csv")
    before = row_counts(factory)
    for parts in (
        [file],
        [("csrftoken", b"", None), file],
        [("csrftoken", token[:-2] + b"xx", None), file],
        [("csrftoken", token + b"x", None), file],
        [("dry_run", b"on", None), file, ("csrftoken", token, None)],  # the token after the file
    ):
        body, headers = _multipart(*parts)
        _refused(browser.post("/console/products/import", content=body, headers=headers), "csrf_failed")
    english, headers = _multipart(("csrftoken", b"wrong", None), ("form_lang", b"en", None), file)
    refused = browser.post("/console/products/import", content=english, headers=headers)
    _refused(refused, "csrf_failed")
    assert "This form has expired" in refused.text
    # A cookie not signed with the site's secret is no token, even when the field repeats it.
    forged = "forged.value"
    browser.cookies.set(CSRF_COOKIE, forged)
    body, headers = _multipart(("csrftoken", forged.encode(), None), file)
    _refused(browser.post("/console/products/import", content=body, headers=headers), "csrf_failed")
    assert row_counts(factory) == before


def test_a_large_upload_arriving_in_pieces_goes_through_with_its_token(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    browser = session_client(app, factory, Role.OPERATOR)
    token = _token(browser, "/console/products").encode()
    rows = b"".join(f"BIG-{i},大件{i},1,100\n".encode() for i in range(1500))
    body, headers = _multipart(
        ("csrftoken", token, None), ("file", b"sku,title,price_yuan,commission_rate_bp\n" + rows, "c.csv")
    )
    assert len(body) > 4 * HEAD_BYTES

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 100):  # the token itself is cut across pieces
            yield body[start : start + 100]

    done = browser.post("/console/products/import", content=pieces(), headers=headers)
    assert done.status_code == 200, done.text
    assert "1500" in done.text
    assert 'data-testid="import-result"' in done.text


def test_the_live_code_upload_reaches_its_route_with_the_token_in_its_body(
    app: FastAPI, factory: sessionmaker[Session]
) -> None:
    """The member's QR upload form, sent with a console session: past the token, the route's own
    refusal of a role that is not a member's (chosen once the route is, after the form checks)."""
    browser = session_client(app, factory, Role.OPERATOR)
    token = _token(browser, "/console/products").encode()
    body, headers = _multipart(("csrftoken", token, None), ("image", b"\x89PNG", "qr.png"))
    answer = browser.post(
        "/m/live-codes/nope/groups/1/qr", content=body, headers=headers, follow_redirects=False
    )
    assert answer.status_code == 403, answer.text
    assert refusal_code(answer) == "forbidden"

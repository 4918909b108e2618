"""Log redaction takes a credential's every parameter after its scheme (Digest's ``username="…",
nonce="…", response="…"``), and each mobile of a list written and parted alike
(``1381 234 5678 1391 234 5678``); a long line stays quick."""

from __future__ import annotations

import time

import pytest

from neigou.kit.logging import REDACTED, redact_text

pytestmark = pytest.mark.no_database

DIGEST = (
    'username="buyer", realm="shop@example.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", '
    'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", '
    'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        (f"Authorization: Digest {DIGEST}", f"Authorization: Digest {REDACTED}"),
        (f"Authorization: Digest {DIGEST} status=401", f"Authorization: Digest {REDACTED} status=401"),
        (f"Proxy-Authorization: Digest {DIGEST}", f"Proxy-Authorization: Digest {REDACTED}"),
        (
            "authorization=Digest username=x, realm=y, nonce=abc, response=def",
            f"authorization=Digest {REDACTED}",
        ),
        ('Authorization: Digest username="x",realm="y",response="z"', f"Authorization: Digest {REDACTED}"),
        # as JSON writes the header (its quotes escaped) and as a dict's repr does
        (
            '{"Authorization": "Digest username=\\"x\\", nonce=\\"n\\", response=\\"r\\"", "status": 401}',
            f'{{"Authorization": "{REDACTED}", "status": 401}}',
        ),
        (
            "{'authorization': 'Digest username=\"x\", nonce=\"n\", response=\"r\"', 'status': 401}",
            f"{{'authorization': '{REDACTED}', 'status': 401}}",
        ),
        # a token after the scheme still goes alone: what follows it is no parameter of it
        ("Authorization: Token abc, next=1", f"Authorization: Token {REDACTED}, next=1"),
        ("authorization=Token abc&y=2", f"authorization=Token {REDACTED}&y=2"),
    ],
)
def test_every_parameter_of_a_credential_after_its_scheme_is_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted
    assert redact_text(redacted) == redacted
    for secret in ("buyer", "dcd98b7102dd", "0a4f113b", "6629fae4", "nonce=", "response="):
        assert secret not in redact_text(text)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("1381 234 5678 1391 234 5678", "[phone] [phone]"),
        ("1381-234-5678-1391-234-5678", "[phone]-[phone]"),
        ("1381\t234\t5678\t1391\t234\t5678", "[phone]\t[phone]"),
        ("call 13812 345678 13912 345678 now", "call [phone] [phone] now"),
        ("0138 1234 5678 0139 1234 5678", "[phone] [phone]"),
        ("13 81 23 45 678 13 91 23 45 678", "[phone] [phone]"),
        ("1381 234 5678 1391 234 5678 1371 234 5678.", "[phone] [phone] [phone]."),
        ("1381-234-5678 1391-234-5678", "[phone] [phone]"),
        ("1381-234-5678,1391-234-5678", "[phone],[phone]"),
        ("buyers 1381-234-5678, 1391-234-5678", "buyers [phone], [phone]"),
        ("customer_ref=13812 345678 13912 345678 next", f"customer_ref={REDACTED} next"),
    ],
)
def test_each_mobile_of_a_list_written_and_parted_alike_is_redacted(text: str, redacted: str) -> None:
    assert redact_text(text) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "ids 13 14 15 16 17 18 19 20 21 22 23",
        "amounts 1380 1234 5678 fen",
        "totals 1381 234 5678.5",
    ],
)
def test_a_list_that_makes_no_mobiles_is_kept(text: str) -> None:
    assert redact_text(text) == text


def test_a_long_line_is_redacted_quickly() -> None:
    """Every line is redacted: 100 KB of what the rules read (credentials, lists of mobiles, signatures
    and the shapes that make them scan) takes milliseconds. A generous bound, no benchmark, on this
    thread's CPU time: a loaded machine leaves a thread waiting for a CPU for seconds, which wall time
    would count."""
    piece = (
        f"Authorization: Digest {DIGEST} 1381-234-5678 1391-234-5678 x-hub-signature-256=sha256=abc "
        "13 14 15 authorization: x a=b, c=d "
    )
    line = piece * (100_000 // len(piece) + 1)
    started = time.thread_time()
    redacted = redact_text(line)
    assert time.thread_time() - started < 2
    assert "1381" not in redacted
    assert "6629fae4" not in redacted
    assert "sha256=abc" not in redacted
    for shape in ('authorization: x a="', "1381 234 5678 ", "13 ", "13-" * 3 + "1.5 ", "a=b, " * 3):
        started = time.thread_time()
        redact_text(shape * (100_000 // len(shape)))
        assert time.thread_time() - started < 2


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("Cookie: a=1; neigou_csrf=tok123; neigou_session=sess456", f"Cookie: {REDACTED}"),
        ("cookie: a=1;neigou_session=sess456 status=200", f"cookie: {REDACTED} status=200"),
        ("GET / cookie=a=1; neigou_session=sess456 status=200", f"GET / cookie={REDACTED} status=200"),
        ('headers={"Cookie": "a=1; neigou_session=sess456"}', f'headers={{"Cookie": "{REDACTED}"}}'),
        ("Set-Cookie: neigou_session=sess456; Path=/; HttpOnly", f"Set-Cookie: {REDACTED}; HttpOnly"),
    ],
)
def test_every_cookie_of_a_cookie_header_is_redacted(text: str, redacted: str) -> None:
    """Not only the first cookie's value: the session and the CSRF token after it go too."""
    assert redact_text(text) == redacted
    assert "sess456" not in redact_text(text)

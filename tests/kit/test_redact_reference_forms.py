"""Log redaction leaves no part of a shopper's reference however a line writes it: a mobile of any
country that ``kit.phones`` reads as one (after its international prefix), a value under a secret's name
unquoted (``"phone": 85261234567``), written ``key: value`` or under a bracketed key (``customer_ref[]=``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from neigou.kit.logging import REDACTED, redact_text
from neigou.kit.phones import customer_ref, parse_phone

pytestmark = pytest.mark.no_database

OPENID = "oAbCdEf123456"
HONG_KONG = "+85261234567"


def test_a_hong_kong_mobile_is_a_customer_reference() -> None:
    assert customer_ref("+852 6123 4567") == customer_ref(HONG_KONG) == HONG_KONG


@pytest.mark.parametrize(
    "line",
    [
        "customer_ref=+852 6123 4567",  # the key's value went only to its first group
        "shopper +852 6123 4567 claimed",  # a mobile of another country in free text
        '{"phone": 85261234567}',  # a JSON number under a phone key
        "customer_ref: oAbCdEf123456",  # ``key:`` read as ``key=``
        "openid: oAbCdEf123456",
        "GET /l/abc?customer_ref[]=oAbCdEf123456 HTTP/1.1",  # an access-log line, the key bracketed
    ],
)
def test_no_part_of_the_reference_is_left(line: str) -> None:
    redacted = redact_text(line)
    assert "6123" not in redacted
    assert "4567" not in redacted
    assert OPENID not in redacted


@pytest.mark.parametrize(
    ("line", "redacted"),
    [
        ("customer_ref=+852 6123 4567 done", f"customer_ref={REDACTED} done"),
        ("phone=0085261234567&x=1", f"phone={REDACTED}&x=1"),
        ("shopper +852 6123 4567, 3 items", "shopper [phone], 3 items"),
        ("shopper +852 6123 4567 2 items", "shopper [phone] 2 items"),  # a count after it stays
        ("call (+852) 6123-4567.", "call ([phone]."),
        ("uk 0044 7911 123456 ok", "uk [phone] ok"),
        ("us +1 415-555-2671 ok", "us [phone] ok"),
        (
            "wide \uff0b\uff18\uff15\uff12 \uff16\uff11\uff12\uff13 \uff14\uff15\uff16\uff17 ok",
            "wide [phone] ok",
        ),
        ("GET /search?q=%2B85261234567 HTTP/1.1", "GET /search?q=[phone] HTTP/1.1"),
        ("tel:+852-6123-4567", "tel:[phone]"),
        ('{"phone": 85261234567, "qty": 2}', f'{{"phone": {REDACTED}, "qty": 2}}'),
        ("{'mobile': 13812345678}", f"{{'mobile': {REDACTED}}}"),
        ('customer_ref: "oAbCdEf123456" ok', f'customer_ref: "{REDACTED}" ok'),
        ('customer_ref="oAbCdEf123456" ok', f'customer_ref="{REDACTED}" ok'),
        ("openid:\toAbCdEf123456, next", f"openid:\t{REDACTED}, next"),
        ("customerRef: +852 6123 4567 ok", f"customerRef: {REDACTED} ok"),
        ("GET /l/abc?customer_ref[0]=oAbCdEf123456&a=1", f"GET /l/abc?customer_ref[0]={REDACTED}&a=1"),
        ("GET /l/abc?customer_ref%5B%5D=oAbCdEf123456", f"GET /l/abc?customer_ref%5B%5D={REDACTED}"),
        ("GET /x?user[openid]=oAbCdEf123456", f"GET /x?user[openid]={REDACTED}"),
        ("GET /x?access_token[]=oAbCdEf123456", f"GET /x?access_token[]={REDACTED}"),
    ],
)
def test_each_form_is_redacted_whole(line: str, redacted: str) -> None:
    assert redact_text(line) == redacted


@pytest.mark.parametrize(
    "line",
    [
        "hk office +852 2123 4567",  # a landline: kit.phones reads no mobile there
        "balance +1 2 3 4 fen, +12345 points",
        "version 00123 build 0012345678",
        "at 2026-12-06T15:03:13+08:00 took 12:30",
        "GET /x?items[]=3&page[size]=20 HTTP/1.1",
        "error: not_claimed, status: 409",
        "amounts +86 +86 +86",
    ],
)
def test_other_numbers_and_keys_are_kept(line: str) -> None:
    assert parse_phone("+852 2123 4567") is not None
    assert redact_text(line) == line


@pytest.mark.parametrize(
    "line",
    [
        "customer_ref: oAbCdEf123456 and phone=+852 6123 4567",
        "upstream refused Authorization: Bearer xyz123secret",
        '{"openid": "oAbCdEf123456", "phone": 85261234567}',
        "shopper +852 6123 4567 via GET /l/abc?customer_ref[]=oAbCdEf123456",
    ],
)
def test_a_line_redacted_twice_stays_as_it_was(line: str) -> None:
    once = redact_text(line)
    assert redact_text(once) == once


def test_a_scheme_before_a_credential_is_kept() -> None:
    assert redact_text("Authorization: Bearer xyz123secret") == f"Authorization: Bearer {REDACTED}"


def test_the_new_forms_take_linear_time_on_long_adversarial_text() -> None:
    """Each prefix reads a bounded run and a line parses a few numbers at most: 200,000 characters of
    each shape take well under the bound (run in a process of its own, as ``test_redact`` does)."""
    script = (
        "from neigou.kit.logging import redact_text\n"
        "n = 20_000\n"
        "shapes = ['a:' * n * 5, 'token: ' * n, '[[' * n * 5 + '=x', '+1 2 3 4 5 6 7 8 9 0 1 ' * n,\n"
        "          '00 00 ' * n * 3, '+852 6123 4567 ' * n, '\"phone\": 1, ' * n, 'a[phone]=' * n,\n"
        "          '0085261234567+' * n, '%2B1%20415%20555%202671 ' * n]\n"
        "for text in shapes:\n"
        "    redact_text(text)\n"
        "print(len(shapes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "10"

"""One rule says which key names a secret or a shopper's identity (``kit.redact.names_secret``): a query
parameter's key in a log line and a structured log field's name are read alike."""

from __future__ import annotations

import logging

import pytest

from neigou.kit.logging import REDACTED, RedactingFilter, redact_reply, redact_text, redact_value
from neigou.kit.redact import names_secret

pytestmark = pytest.mark.no_database

VALUE = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
SECRET_NAMES = [
    "api_key",
    "x_token",
    "customerRef",
    "customer_ref_hash",
    "openid",
    "openId",
    "unionid",
    "userOpenid",
    "phoneNumber",
    "accessToken",
    "app_secret",
    "appKey",
    "key",
    "sign",
    "authorization",
    "cookie",
    "set-cookie",
    "passwd",
    "payee_keys",
    "target_sealed",
    "webhook-signature",
    "x-api-key",
    "client_credentials",
    # ``signature`` anywhere in the name, whatever a sender's header adds round it
    "x-hub-signature-256",
    "x-signature",
    "X-Signature",
    "x-shop-signature-v2",
    "x-signature-timestamp",
    "signatureValue",
    "signatures",
    "x_sha256_signature_hex",
]
KEPT_NAMES = [
    "page_size",
    "status",
    "program_id",
    "customer_refs",
    "iphone_model",
    "problem",
    "run",
    "live_code",
    "design",
    "signup_at",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_a_secrets_name_is_redacted_as_a_field_and_as_a_query_key(name: str) -> None:
    assert names_secret(name)
    assert redact_value(None, {name: VALUE}) == {name: REDACTED}  # a structured field …
    assert redact_value(name, VALUE) == REDACTED
    line = f"GET /x?a=1&{name}={VALUE}&b=2 HTTP/1.1"  # … and a query's key, by the same rule
    assert redact_text(line) == line.replace(VALUE, REDACTED)


@pytest.mark.parametrize("name", KEPT_NAMES)
def test_other_names_are_kept_in_both(name: str) -> None:
    assert not names_secret(name)
    assert redact_value(None, {name: "7"}) == {name: "7"}
    assert redact_text(f"GET /x?{name}=7 HTTP/1.1") == f"GET /x?{name}=7 HTTP/1.1"


def test_a_fields_name_is_read_decoded_and_in_snake_case() -> None:
    fields = {"customer%5FRef": VALUE, "%61pi_key": VALUE, "userPhone": VALUE}
    assert redact_value(None, fields) == dict.fromkeys(fields, REDACTED)


@pytest.mark.parametrize(
    "query",
    [f"customer_ref={VALUE}", f"customerRef={VALUE}", f"openId={VALUE}", f"token={VALUE}", f"appKey={VALUE}"],
)
def test_an_access_lines_query_loses_a_share_links_reference_or_a_token(query: str) -> None:
    """uvicorn's access line (``kit.logging.uvicorn_log_config`` puts the filter on its handler)."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/l/k7Qm2xPa?from=timeline&{query}", "1.1", 302),
        None,
    )
    RedactingFilter().filter(record)
    line = record.getMessage()
    assert "/l/k7Qm2xPa?from=timeline&" in line
    assert VALUE not in line
    assert line.endswith(f'={REDACTED} HTTP/1.1" 302')


def test_a_quoted_pair_is_read_by_the_same_rule() -> None:
    """JSON a receiver echoed, a dict's repr in an error: a value under a secret's or an identity's
    name is redacted, the other values kept."""
    echoed = (
        f'{{"openid": "{VALUE}", "customerRef":"{VALUE}", "webhook-signature":"v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",'
        f' "msg": "invalid receiver", "errcode": "40001"}}'
    )
    assert redact_text(echoed) == (
        f'{{"openid": "{REDACTED}", "customerRef":"{REDACTED}", "webhook-signature":"{REDACTED}",'
        f' "msg": "invalid receiver", "errcode": "40001"}}'
    )
    # A value under such a name goes unquoted too: a number (a phone sent as a JSON number).
    row = f"{{'customer_ref_hash': '{VALUE}', 'program_id': 3, 'code': 13812345678, 'qty': 2}}"
    assert (
        redact_text(row)
        == f"{{'customer_ref_hash': '{REDACTED}', 'program_id': 3, 'code': {REDACTED}, 'qty': 2}}"
    )


def test_a_stored_reply_loses_what_the_receiver_echoed() -> None:
    """A webhook receiver's or robot's refusal echoing what it was sent: kept on the row redacted."""
    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y0f7h3r0b07"
    reply = f'400 {{"errmsg": "bad request", "echo": {{"openId": "{VALUE}", "app_secret": "s3cr3t-value"}}}}'
    kept = redact_reply(reply, robot, limit=500)
    assert VALUE not in kept
    assert "s3cr3t-value" not in kept
    assert '"errmsg": "bad request"' in kept


@pytest.mark.parametrize(
    "line",
    [
        "X-Hub-Signature-256: sha256=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        "x-shop-signature-v2=v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN",
        '{"x-signature": "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN"}',
    ],
)
def test_a_header_holding_signature_in_its_name_loses_its_value(line: str) -> None:
    redacted = redact_text(line)
    assert "5257a869" not in redacted
    assert "K5oZfzN95Z9" not in redacted
    assert REDACTED in redacted

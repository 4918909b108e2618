"""One rule says which key names a secret or a shopper's identity (``kit.redact.names_secret``): a query
parameter's key in a log line and a structured log field's name are read alike."""

from __future__ import annotations

import logging

import pytest

from neigou.kit.logging import REDACTED, RedactingFilter, redact_text, redact_value
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

"""The one rule for showing a URL that carries a secret, and the redaction of its path's key from text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neigou.kit.logging import redact_url
from neigou.kit.urls import is_path_token, masked_url, path_secrets, path_tokens

pytestmark = pytest.mark.no_database

FEISHU_HOOK = "2f1a6b6e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
SLACK_TOKEN = "aB3dE5gH7jK9mN1pQ3sT5vW7"

MASKED = [
    (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k3y",
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…",
    ),
    ("https://oapi.dingtalk.com/robot/send?access_token=abc123", "https://oapi.dingtalk.com/robot/send?…"),
    (
        f"https://open.feishu.cn/open-apis/bot/v2/hook/{FEISHU_HOOK}",
        "https://open.feishu.cn/open-apis/bot/v2/hook/…",
    ),
    (
        f"https://hooks.slack.com/services/T0123ABCD/B0456EFGH/{SLACK_TOKEN}",
        "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/…",
    ),
    ("https://user:pa55word@shop.example:8443/hooks?t=1#top", "https://shop.example:8443/hooks?…"),
    ("https://shop.example/hooks/", "https://shop.example/hooks/"),
    # Route words, short ids and plain numbers stay readable.
    (
        "https://shop.example/api/v2/orders/123456789012345678/notify",
        "https://shop.example/api/v2/orders/123456789012345678/notify",
    ),
    ("https://shop.example/webhook-receiver_endpoint", "https://shop.example/webhook-receiver_endpoint"),
    ("https://shop.example/a/abc123def456ghi7/x", "https://shop.example/a/…/x"),
    ("https://shop.example/a/abc123def456ghi/x", "https://shop.example/a/abc123def456ghi/x"),  # 15 characters
]


@pytest.mark.parametrize(("url", "shown"), MASKED)
def test_a_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert masked_url(url) == shown


@pytest.mark.parametrize(
    ("segment", "token"),
    [
        ("abc123def456ghi7", True),
        ("ABC-123_def-456-x", True),
        ("abcdefghijklmnopqrstuvwxyz", False),
        ("1234567890123456789", False),
        ("abc123def456ghi", False),
        ("abc123def456ghi7.json", True),  # any piece of it
        ("index.json", False),
        ("send;token=s3cr3tT0ken99", True),
        ("token=s3cr3tT0ken99", True),
        ("c2VjcmV0LXRva2VuLXZhbHVl%2Bx%3D%3D", True),
        ("eyJhbGciOiJ4In0.e30.", True),  # a JWT, however short
        ("2026-12-07T09:40:00Z", False),
        ("v1.2.3", False),
        ("", False),
    ],
)
def test_what_counts_as_a_path_token(segment: str, token: bool) -> None:
    assert is_path_token(segment) is token


TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
tokens = st.tuples(
    st.sampled_from("abcdefXYZ"),
    st.sampled_from("0123456789"),
    st.text(TOKEN_ALPHABET, min_size=14, max_size=60),
).map(lambda t: t[0] + t[2] + t[1])
words = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=20)


@given(
    user=st.text("abcdef0123", min_size=1, max_size=10),
    password=st.text("abcdef0123", min_size=1, max_size=10),
    before=st.lists(words, max_size=3),
    token=tokens,
    after=st.lists(words, max_size=2),
    query=st.text("abcdef0123=&", min_size=0, max_size=20),
)
def test_no_credential_survives_masking(
    *, user: str, password: str, before: list[str], token: str, after: list[str], query: str
) -> None:
    path = "/".join(["", *before, token, *after])
    url = f"https://{user}:{password}@robot.example{path}" + (f"?{query}" if query else "")
    shown = masked_url(url)
    assert token not in shown
    assert "@" not in shown
    assert shown.startswith("https://robot.example/")
    assert shown.endswith("?…") == bool(query)
    assert shown.split("?")[0].split("/")[3:] == [*before, "…", *after]
    assert path_tokens(url) == [token]


@given(token=tokens)
def test_error_text_loses_the_path_token_of_the_called_url(token: str) -> None:
    url = f"https://open.feishu.cn/open-apis/bot/v2/hook/{token}?sign=s1gnatur3"
    text = f"POST {url} failed: 404 hook {token} not found (s1gnatur3)"
    redacted = redact_url(text, url)
    assert token not in redacted
    assert "s1gnatur3" not in redacted
    assert "open.feishu.cn/open-apis/bot/v2/hook/***" in redacted


def test_error_text_loses_the_user_and_password_of_the_called_url() -> None:
    url = "https://gw-user:pa%24%24w0rd-9@gateway.example/router/rest?app=1"
    text = f"Client error '403 Forbidden' for url '{url}' (pa$$w0rd-9)"
    redacted = redact_url(text, url)
    assert "pa%24%24w0rd-9" not in redacted
    assert "pa$$w0rd-9" not in redacted
    assert "gw-user" not in redacted
    assert "@gateway.example/router/rest" in redacted
    assert redact_url("no url here", "not a url", "https://@host/", "https://a:b@") == "no url here"


@pytest.mark.parametrize("limit", [10, 30, 200])
def test_a_cut_masked_url_fits_its_column_and_keeps_its_query_mark(limit: int) -> None:
    url = "https://robot.example/" + "route/" * 60 + "send?key=k3y"
    shown = masked_url(url, limit=limit)
    assert len(shown) == limit
    assert shown.endswith("?…")
    assert shown == masked_url(url)[: limit - 2] + "?…"
    assert masked_url("https://robot.example/send", limit=200) == "https://robot.example/send"


TELEGRAM_TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"
MATRIX_TOKEN = "s3cr3tT0ken99"
BASE64 = "c2VjcmV0LXRva2VuLXZhbHVl%2Bx%3D%3D"
# A credential in a path segment beside ``:``, ``.``, ``;``, ``=`` or ``%``: the URL, how it is shown, and
# the secret that must never be shown nor left in error text (as written and decoded).
PATH_CREDENTIALS = [
    (
        f"https://api.telegram.org/bot123456789:{TELEGRAM_TOKEN}/sendMessage",
        "https://api.telegram.org/…/sendMessage",
        (TELEGRAM_TOKEN,),
    ),
    (f"https://shop.example/in/{JWT}", "https://shop.example/in/…", (JWT, JWT.split(".")[2])),
    (
        f"https://shop.example/send;token={MATRIX_TOKEN}",
        "https://shop.example/send;…",
        (MATRIX_TOKEN,),
    ),
    (
        f"https://shop.example/in/{BASE64}",
        "https://shop.example/in/…",
        (BASE64, "c2VjcmV0LXRva2VuLXZhbHVl", "c2VjcmV0LXRva2VuLXZhbHVl+x=="),
    ),
    (
        f"https://shop.example/hook/key%3D{MATRIX_TOKEN}/notify?x=1",
        "https://shop.example/hook/…/notify?…",
        (MATRIX_TOKEN,),
    ),
]


@pytest.mark.parametrize(("url", "shown", "secrets"), PATH_CREDENTIALS)
def test_a_path_credential_beside_punctuation_is_masked(
    url: str, shown: str, secrets: tuple[str, ...]
) -> None:
    assert masked_url(url) == shown
    assert not [s for s in secrets if s in masked_url(url)]
    assert masked_url(url, limit=200) == shown
    assert path_tokens(url)


@pytest.mark.parametrize(("url", "shown", "secrets"), PATH_CREDENTIALS)
def test_error_text_loses_a_path_credential_beside_punctuation(
    url: str, shown: str, secrets: tuple[str, ...]
) -> None:
    quoted = " / ".join(secrets)
    text = f"Client error '401 Unauthorized' for url '{url}': token {quoted} refused"
    redacted = redact_url(text, url)
    assert not [s for s in secrets if s.lower() in redacted.lower()], redacted
    assert shown.partition("://")[2].split("/")[0] in redacted  # the host stays readable
    assert "401 Unauthorized" in redacted
    assert path_secrets(url) >= {s for s in secrets if "/" not in s}


def test_route_words_beside_punctuation_stay_readable() -> None:
    url = "https://shop.example/api/v2.1/feed:latest/index.json"
    assert masked_url(url) == url
    assert path_tokens(url) == []
    assert path_secrets(url) == set()


def test_a_plain_matrix_value_is_not_taken_out_of_the_rest_of_the_text() -> None:
    # The reviewer's example: ``;x=1234`` took every ``1234`` out, also inside another hook's id.
    url = "https://hooks.example.com/v1/send;x=1234"
    assert redact_url("/v1/hooks/abcdefghij12345 and 1234", url) == "/v1/hooks/abcdefghij12345 and 1234"
    assert path_secrets(url) == {"x=1234", "x%3D1234"}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.example.com/v1/send;v=2024", "https://hooks.example.com/v1/send;***"),
        ("https://hooks.example.com/v1/send;x=1234;v=2024", "https://hooks.example.com/v1/send;***;***"),
        ("https://hooks.example.com/v1/send;2024", "https://hooks.example.com/v1/send***"),
        ("https://hooks.example.com/v=2024/send", "https://hooks.example.com/***/send"),
    ],
)
def test_a_plain_path_parameter_is_redacted_only_as_that_parameter(url: str, shown: str) -> None:
    text = f"POST {url} failed in 2024: hook 1234 of abcdefghij12345, 2024-03-24"
    assert redact_url(text, url) == f"POST {shown} failed in 2024: hook 1234 of abcdefghij12345, 2024-03-24"


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        (f"token={MATRIX_TOKEN}", MATRIX_TOKEN),  # the name names a secret
        ("sign=9f8e7d6c", "9f8e7d6c"),
        (f"sid={SLACK_TOKEN}", SLACK_TOKEN),  # a key, whatever its name
        (SLACK_TOKEN, SLACK_TOKEN),  # a key without a name
    ],
)
def test_a_secret_matrix_value_is_taken_out_wherever_the_text_writes_it(parameter: str, value: str) -> None:
    url = f"https://hooks.example.com/v1/send;{parameter}"
    redacted = redact_url(f"POST {url} failed: {value} refused", url)
    assert value not in redacted
    assert redacted.startswith("POST https://hooks.example.com/v1/send")
    assert redacted.endswith(" refused")

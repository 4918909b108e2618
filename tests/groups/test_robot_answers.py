"""What a robot's 2xx answer comes to: its JSON read as untrusted text (``kit.json_input``)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from neigou.groups.webhook import send_markdown

pytestmark = pytest.mark.no_database
URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"
AT = datetime(2026, 3, 1, tzinfo=UTC)


def test_an_answer_nested_past_the_parsers_depth_is_an_outcome() -> None:
    depth = 100_000
    body = ("[" * depth + "]" * depth).encode()
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=body))
    # The message went out (2xx): the outcome says so, an exception would leave the attempt unfinished.
    outcome = send_markdown(URL, "hello", secret=None, at=AT, transport=transport)
    assert (outcome.ok, outcome.http_status) == (True, 200)


def test_a_refusal_in_an_answer_is_read() -> None:
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, json={"errcode": 93000, "errmsg": "invalid webhook url"})
    )
    outcome = send_markdown(URL, "hello", secret=None, at=AT, transport=transport)
    # its status and errcode only: the robot's errmsg may echo the message (docs/privacy.md)
    assert (outcome.ok, outcome.detail, outcome.errcode) == (False, "HTTP 200 errcode 93000", 93000)

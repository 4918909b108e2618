"""A stored send summary (``kit.attempts.refusal``, a send that broke off) is told on a page as a sentence
in its reader's language; a fixed reason with a label of its own is left as it is."""

from __future__ import annotations

import pytest

from neigou.kit.attempts import refusal, refusal_note
from neigou.kit.i18n import translate


@pytest.mark.parametrize(
    ("stored", "english", "chinese"),
    [
        (refusal(500), "the receiver answered HTTP 500", "对方返回 HTTP 500"),
        (
            refusal(200, errcode=93000),
            "the receiver answered HTTP 200, error code 93000",
            "对方返回 HTTP 200，错误码 93000",
        ),
        ("errcode -1", "the receiver answered error code -1", "对方返回错误码 -1"),
        (refusal(None, error="ConnectError"), "the call failed (ConnectError)", "调用失败（ConnectError）"),
        ("ReadError while sending", "the call broke off (ReadError)", "发送中断（ReadError）"),
        (
            "ValueError while sending; it may have been posted",
            "the call broke off (ValueError); it may have been posted",
            "发送中断（ValueError）；消息可能已经发出",
        ),
        (refusal(None), "nobody answered", "对方无应答"),
        ("refused", "the receiver refused it", "对方拒收"),
        ("no webhook configured", "no webhook configured", "no webhook configured"),
    ],
)
def test_a_stored_summary_is_told_in_the_readers_language(stored: str, english: str, chinese: str) -> None:
    note = refusal_note(stored)
    assert (translate(note, "en"), translate(note, "zh-CN")) == (english, chinese)

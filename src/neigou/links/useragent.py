"""User-agent classes of a click: pure, cached, cheap enough for the redirect path."""

from __future__ import annotations

import enum
import re
from functools import lru_cache


class UaClass(enum.StrEnum):
    """What opened a link, from its user-agent: WeChat's browser, another phone, a desktop, a bot."""

    WECHAT = "wechat"
    MOBILE = "mobile"
    DESKTOP = "desktop"
    BOT = "bot"


# Link previews in chat apps, search crawlers, scripts and headless browsers are not shoppers.
_BOT = re.compile(
    r"bot|spider|crawl|slurp|preview|fetch|curl|wget|python|httpx|java/|go-http|okhttp|headless|wrk|scrapy",
    re.IGNORECASE,
)
_WECHAT = re.compile(r"MicroMessenger|WxWork", re.IGNORECASE)
_MOBILE = re.compile(r"Mobile|Android|iPhone|iPad|iPod|HarmonyOS|Windows Phone", re.IGNORECASE)


@lru_cache(maxsize=2048)
def classify(user_agent: str) -> UaClass:
    """wechat, mobile, desktop or bot; an empty user-agent is a bot (browsers always send one)."""
    if not user_agent.strip() or _BOT.search(user_agent):
        return UaClass.BOT
    if _WECHAT.search(user_agent):
        return UaClass.WECHAT
    if _MOBILE.search(user_agent):
        return UaClass.MOBILE
    return UaClass.DESKTOP


@lru_cache(maxsize=2048)
def ua_class_value(user_agent: str) -> str:
    """``classify``'s class as the plain string a click row carries (a tenth of a µs less than ``.value``)."""
    return classify(user_agent).value

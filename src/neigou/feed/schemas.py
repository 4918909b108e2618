"""Request and response bodies of the feed and posts API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from neigou.feed.models import Delivery, PostStatus, Slot
from neigou.kit.instants import Instant


class FeedItemOut(BaseModel):
    """A campaign product in the member's feed, priced for the group."""

    # The feed's one item type: ``feed.service.feed_items`` makes these for the API and the pages alike.
    # The selling copy is ``copy_text`` here (``copy`` would shadow ``BaseModel.copy``), ``copy`` in JSON.
    model_config = ConfigDict(frozen=True)

    campaign_id: int
    campaign_name: str
    sku: str
    title: str
    image_url: str | None
    category_id: int | None
    price_fen: int
    group_price_fen: int
    coupon_id: int | None
    commission_rate_bp: int
    boost_bp: int
    # A fixed pool per unit (``PUT /sku-commissions/{sku}``) instead of the rate: the boost leaves it as it is.
    fixed_commission_fen: int | None = None
    est_commission_fen: int
    conversion_bp: int
    score: int
    ends_at: dt.datetime
    copy_text: str | None = Field(serialization_alias="copy")


class FeedOut(BaseModel):
    """The feed at a moment, at the member's tier then."""

    at: dt.datetime
    tier_code: str | None
    share_bp: int
    items: list[FeedItemOut]


class PostsCreate(BaseModel):
    """Posts for several groups at once: the same products, each group with its own links."""

    model_config = ConfigDict(extra="forbid")

    group_ids: list[int] = Field(min_length=1, max_length=50)
    skus: list[str] = Field(min_length=1, max_length=20)
    at: Instant | None = None
    slot: Slot = Slot.NOW


class PostLinkOut(BaseModel):
    """A link made for a post: it carries the post's group and the product's campaign."""

    sku: str
    code: str
    url: str
    group_id: int | None
    campaign_id: int | None


class PostOut(BaseModel):
    """A post for one group, with its links and what they brought."""

    id: int
    group_id: int
    text: str
    slot: Slot
    scheduled_at: dt.datetime
    delivery: Delivery
    status: PostStatus
    links: list[PostLinkOut]
    clicks: int
    claims: int
    orders: int


class PostsOut(BaseModel):
    """Posts made together."""

    posts: list[PostOut]


class RobotIn(BaseModel):
    """A group's WeCom robot URL (…/cgi-bin/webhook/send?key=…), or null to remove it."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https://qyapi\.weixin\.qq\.com/cgi-bin/webhook/send\?key=[\w-]+$",
    )


class RobotOut(BaseModel):
    """Whether a group has a robot; the key in its URL is never shown back."""

    group_id: int
    configured: bool

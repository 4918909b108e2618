"""Posts a group owner sends to their groups (one per group), the links made for them, and the WeCom
robots that deliver them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from neigou.kit.db import Base, BigId, UTCDateTime, str_enum

# The characters a post's text holds (``GroupPost.text``), however it is delivered.
POST_TEXT_CHARS = 4000


class Slot(enum.StrEnum):
    """When a post goes out: now, or the next morning, noon or evening slot (program time)."""

    NOW = "now"
    MORNING = "morning"
    NOON = "noon"
    EVENING = "evening"


class Delivery(enum.StrEnum):
    """Through the group's WeCom robot, or as a task the owner copies into the group."""

    ROBOT = "robot"
    TASK = "task"


class PostStatus(enum.StrEnum):
    """Scheduled (robot, not yet due), to copy (task), sent, copied, or failed (robot refused)."""

    SCHEDULED = "scheduled"
    TO_COPY = "to_copy"
    SENT = "sent"
    COPIED = "copied"
    FAILED = "failed"


class GroupPost(Base):
    """One post for one group: the copy text with the group's own links."""

    __tablename__ = "group_posts"
    __table_args__ = (
        Index("ix_group_posts_member_scheduled", "member_id", "scheduled_at"),
        Index("ix_group_posts_due", "status", "scheduled_at"),
        # Posts made again under the owner's key find the first ones instead of posting twice.
        Index("uq_group_posts_request", "member_id", "request_id", "group_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(POST_TEXT_CHARS))
    slot: Mapped[Slot] = mapped_column(str_enum(Slot))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery))
    status: Mapped[PostStatus] = mapped_column(str_enum(PostStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class GroupPostLink(Base):
    """A share link made for a post (its group and campaign are on the link)."""

    __tablename__ = "group_post_links"
    __table_args__ = (UniqueConstraint("post_id", "link_id"), Index("ix_group_post_links_link", "link_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("group_posts.id", ondelete="CASCADE"))
    link_id: Mapped[int] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)


class GroupRobot(Base):
    """A group's WeCom robot (企业微信群机器人); its URL carries the robot's key, a secret, so it is
    kept sealed (``kit.sealed``, the payee keys) and opened only to send."""

    __tablename__ = "group_robots"

    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"), primary_key=True)
    webhook_url_sealed: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

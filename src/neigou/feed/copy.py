"""The text of a post for one group (pure): title, group price against app price, the coupon price,
the campaign's selling copy and the group's own link, for each product."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from neigou.kit.i18n import Message, translate

# The group's language: posts are read in the chat group, whoever builds them.
POST_LOCALE = "zh-CN"


@dataclass(frozen=True)
class PostItem:
    """One product of a post."""

    title: str
    price_fen: int
    group_price_fen: int
    copy: str | None
    url: str


def yuan(fen: int) -> str:
    """Fen as a price tag: 2490 → ``"24.90"``."""
    return f"{fen // 100}.{fen % 100:02d}"


def item_text(item: PostItem) -> str:
    """The lines of one product in a post, in the group's language."""
    if item.group_price_fen < item.price_fen:
        price = Message(
            "Group price ¥{group} (¥{app} in the app), ¥{group} after coupon",
            group=yuan(item.group_price_fen),
            app=yuan(item.price_fen),
        )
    else:
        price = Message("Price ¥{price}", price=yuan(item.price_fen))
    lines = [f"【{item.title}】", translate(price, POST_LOCALE)]
    if item.copy:
        lines.append(item.copy)
    lines.append(f"👉 {item.url}")
    return "\n".join(lines)


def post_text(items: Sequence[PostItem]) -> str:
    """A post's text: its products separated by a blank line."""
    return "\n\n".join(item_text(item) for item in items)

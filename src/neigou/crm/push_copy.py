"""The text of a push message for one customer (pure): a template with the customer's name, the
product, its group price against its app price and the message's tracked link.

Templates use ``{name}``, ``{product}``, ``{group_price}``, ``{app_price}`` and ``{link}`` (prices
in yuan, ``24.90``); anything else in braces is refused before a push is written.

A robot message (``robot_text``) is posted in a chat group that other people read, so it carries no
personal data of its customer: never their name, remark, phone or openid, nor the salesperson's words
for them (a template is refused on that channel), only the offer's public title and prices and the
member's tracked link, in the program's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

from neigou.kit.i18n import Message, translate

# The customer's language: the message is read in their chat app, whoever composes it.
MESSAGE_LOCALE = "zh-CN"
FIELDS = ("name", "product", "group_price", "app_price", "link")
MAX_TEMPLATE = 1000


@dataclass(frozen=True)
class MessageItem:
    """What one message says about its customer and product."""

    name: str | None
    product: str
    price_fen: int
    group_price_fen: int
    url: str


def yuan(fen: int) -> str:
    """Fen as a price tag: 2490 → ``"24.90"``."""
    return f"{fen // 100}.{fen % 100:02d}"


def template_problem(template: str) -> Message | None:
    """Why a template cannot be used (None when it can)."""
    if len(template) > MAX_TEMPLATE:
        return Message("A template is at most {n} characters.", n=MAX_TEMPLATE)
    try:
        parts = list(Formatter().parse(template))
    except ValueError:
        return Message("The template has an unmatched brace; write {{ or }} for a brace itself.")
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in FIELDS or spec or conversion:
            return Message(  # the field as written is not repeated: a name or a number may be typed there
                "The template has a field it cannot fill: use {known}.",
                known=", ".join("{" + f + "}" for f in FIELDS),
            )
    return None


def _values(item: MessageItem) -> dict[str, str]:
    return {
        "name": item.name or translate(Message("dear customer"), MESSAGE_LOCALE),
        "product": item.product,
        "group_price": yuan(item.group_price_fen),
        "app_price": yuan(item.price_fen),
        "link": item.url,
    }


def default_text(item: MessageItem) -> Message:
    """The program's words when the salesperson writes none: with the saving when there is one."""
    values = _values(item)
    if item.group_price_fen < item.price_fen:
        return Message(
            "Hi {name}, {product} is ¥{group_price} in our group (¥{app_price} in the app): {link}", **values
        )
    return Message("Hi {name}, {product} at ¥{app_price}: {link}", **values)


def robot_text(item: MessageItem) -> str:
    """The message posted through a group robot: the offer and its link, the same for every customer (the
    item's name is never read)."""
    values = {k: v for k, v in _values(item).items() if k != "name"}
    if item.group_price_fen < item.price_fen:
        words = Message(
            "{product} is ¥{group_price} in our group (¥{app_price} in the app): {link}", **values
        )
    else:
        words = Message("{product} at ¥{app_price}: {link}", **values)
    return translate(words, MESSAGE_LOCALE)


def text_for(template: str | None, item: MessageItem, *, robot: bool) -> str:
    """A message's text on its channel: ``robot_text`` on the robot channel, else ``render``."""
    return robot_text(item) if robot else render(template, item)


def render(template: str | None, item: MessageItem) -> str:
    """The message: ``template`` (or the default) filled in for the item's customer and product."""
    if template is None:
        return translate(default_text(item), MESSAGE_LOCALE)
    return template.format(**_values(item))

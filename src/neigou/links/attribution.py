"""Which member an order pays: attribution rules as pure code.

Touches are identified interactions of one shopper with members' share links (clicks by a known
shopper, coupon claims). The program's model decides among them:

- ``last_click``: the latest touch within ``window_days`` before the order;
- ``first_click``: the earliest touch within the window;
- ``locked``: the shopper is bound for good to the member of their first touch ever (no window).

An order that carries a link code is attributed to that link's member whatever the model says:
the shop saw the link in the very purchase. A purchase by the attributed member themselves is
attributed but flagged, so the commission rules can honour the program's self-purchase setting.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


class Model(enum.StrEnum):
    """Attribution models a program may choose."""

    LAST_CLICK = "last_click"
    FIRST_CLICK = "first_click"
    LOCKED = "locked"


class Basis(enum.StrEnum):
    """Why an order went to its member (or to nobody)."""

    ORDER_LINK = "order_link"
    LAST_TOUCH = "last_touch"
    FIRST_TOUCH = "first_touch"
    LOCKED_BINDING = "locked_binding"
    NO_TOUCH = "no_touch"


@dataclass(frozen=True)
class Touch:
    """A shopper's identified interaction with a member's link."""

    member_id: int
    at: datetime
    link_code: str
    group_id: int | None = None


@dataclass(frozen=True)
class Attribution:
    """The member (and group) an order is attributed to, and why."""

    member_id: int | None
    group_id: int | None
    basis: Basis
    link_code: str | None = None
    self_purchase: bool = False


def attribute(
    *,
    model: Model,
    window_days: int,
    ordered_at: datetime,
    touches: Sequence[Touch],
    order_link: Touch | None = None,
    buyer_member_ids: frozenset[int] = frozenset(),
) -> Attribution:
    """Attribute one order; ``buyer_member_ids`` are the members the buyer is (for self-purchase)."""
    if ordered_at.tzinfo is None:
        raise ValueError("ordered_at must carry a time zone")
    if window_days < 0:
        raise ValueError("window_days must be >= 0")
    chosen, basis = _choose(model, window_days, ordered_at, touches, order_link)
    if chosen is None:
        return Attribution(member_id=None, group_id=None, basis=Basis.NO_TOUCH)
    return Attribution(
        member_id=chosen.member_id,
        group_id=chosen.group_id,
        basis=basis,
        link_code=chosen.link_code,
        self_purchase=chosen.member_id in buyer_member_ids,
    )


def needs_touches(order_link: Touch | None) -> bool:
    """Whether the shopper's touches can change the answer: not when the order carries its own link,
    which wins whatever the model (callers leave such orders' touches unloaded)."""
    return order_link is None


def _choose(
    model: Model, window_days: int, ordered_at: datetime, touches: Sequence[Touch], order_link: Touch | None
) -> tuple[Touch | None, Basis]:
    if not needs_touches(order_link):
        return order_link, Basis.ORDER_LINK
    before = sorted(
        (t for t in touches if t.at <= ordered_at), key=lambda t: (t.at, t.link_code, t.member_id)
    )
    if model is Model.LOCKED:
        return (before[0], Basis.LOCKED_BINDING) if before else (None, Basis.NO_TOUCH)
    start = ordered_at - timedelta(days=window_days)
    window = [t for t in before if t.at >= start]
    if not window:
        return None, Basis.NO_TOUCH
    if model is Model.FIRST_CLICK:
        return window[0], Basis.FIRST_TOUCH
    return window[-1], Basis.LAST_TOUCH

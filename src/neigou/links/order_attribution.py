"""The one way an order is attributed: a batch of orders (one for the API and webhooks, thousands for a
file) has its links, its buyers' touches or bindings and its buyers' memberships loaded once, and
the pure rule (``links.attribution``) decides each order, an order's own link included.

Costs a few queries per program in the batch, none per order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neigou.kit.i18n import Message
from neigou.links import attribution, lookups
from neigou.programs.models import AttributionModel, Program


@dataclass(frozen=True)
class OrderToAttribute:
    """What attribution needs of an order."""

    program_id: int
    customer_ref_hash: str
    link_code: str | None
    ordered_at: datetime


@dataclass(frozen=True)
class OrderAttribution:
    """An order's attribution, and the coupon its own link carries (pricing applies it)."""

    attribution: attribution.Attribution
    link_coupon_id: int | None
    # The campaign of the order's own link: its boost applies to the campaign's skus in its window.
    link_campaign_id: int | None = None


@dataclass(frozen=True)
class UnknownLink:
    """The order names a link code that does not exist in its program: the order is refused."""

    link_code: str
    code: str = "unknown_link"

    @property
    def message(self) -> Message:
        """Why (translated when rendered)."""
        return Message("{field} names no share link.", field="link_code")


def attribute_orders(
    session: Session, orders: Sequence[OrderToAttribute], programs: Mapping[int, Program]
) -> list[OrderAttribution | UnknownLink]:
    """Attribute each order (in input order); ``programs`` holds every order's program.

    An order carrying its own link is attributed to it whatever the model and the time, so its answer
    depends only on the link and whether the buyer is the link's member: it is decided once per such
    pair in the batch (the rule's answer, shared)."""
    links = lookups.links_by_code(session, {o.link_code for o in orders if o.link_code})
    own: list[lookups.LinkFacts | UnknownLink | None] = [_own_link(o, links) for o in orders]
    touched = _touches(
        session,
        [o for o, link in zip(orders, own, strict=True) if link is None],
        programs,
    )
    buyers = {
        (program_id, customer): members
        for program_id, customers in lookups.by_program(
            (o.program_id, o.customer_ref_hash) for o in orders
        ).items()
        for customer, members in lookups.buyers(session, program_id, customers).items()
    }
    by_link: dict[tuple[str, bool], OrderAttribution] = {}
    results: list[OrderAttribution | UnknownLink] = []
    for order, link in zip(orders, own, strict=True):
        if isinstance(link, UnknownLink):
            results.append(link)
            continue
        key = (order.program_id, order.customer_ref_hash)
        members = buyers.get(key, frozenset())
        if link is not None:
            shared = (link.code, link.member_id in members)
            if shared not in by_link:
                by_link[shared] = _decide(programs[order.program_id], order, link, (), members)
            results.append(by_link[shared])
            continue
        results.append(_decide(programs[order.program_id], order, None, touched.get(key, ()), members))
    return results


def _decide(
    program: Program,
    order: OrderToAttribute,
    link: lookups.LinkFacts | None,
    touches: Sequence[attribution.Touch],
    members: frozenset[int],
) -> OrderAttribution:
    found = attribution.attribute(
        model=attribution.Model(program.attribution_model.value),
        window_days=program.attribution_window_days,
        ordered_at=order.ordered_at,
        touches=touches,
        order_link=_as_touch(link, order.ordered_at),
        buyer_member_ids=members,
    )
    return OrderAttribution(
        found,
        link.coupon_id if link is not None else None,
        link.campaign_id if link is not None else None,
    )


def _own_link(
    order: OrderToAttribute, links: Mapping[str, lookups.LinkFacts]
) -> lookups.LinkFacts | UnknownLink | None:
    if not order.link_code:
        return None
    link = links.get(order.link_code)
    if link is None or link.program_id != order.program_id:
        return UnknownLink(order.link_code)
    return link


def _as_touch(link: lookups.LinkFacts | None, at: datetime) -> attribution.Touch | None:
    if link is None:
        return None
    return attribution.Touch(member_id=link.member_id, at=at, link_code=link.code, group_id=link.group_id)


def _touches(
    session: Session, orders: Sequence[OrderToAttribute], programs: Mapping[int, Program]
) -> dict[tuple[int, str], Sequence[attribution.Touch]]:
    """The touches the rule may choose from, per (program, customer): under ``locked`` the binding,
    otherwise the touches in the window of the batch's earliest order up to its latest."""
    found: dict[tuple[int, str], Sequence[attribution.Touch]] = {}
    for program_id, customers in lookups.by_program(
        (o.program_id, o.customer_ref_hash) for o in orders
    ).items():
        program = programs[program_id]
        if program.attribution_model is AttributionModel.LOCKED:
            for customer, binding in lookups.bindings(session, program_id, customers).items():
                found[(program_id, customer)] = (binding,)
            continue
        times = [o.ordered_at for o in orders if o.program_id == program_id]
        since = min(times) - timedelta(days=program.attribution_window_days)
        for customer, touches in lookups.touches(
            session, program_id, customers, since=since, until=max(times)
        ).items():
            found[(program_id, customer)] = touches
    return found

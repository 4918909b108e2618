"""A customer's suggestions: the signals read set-based (``crm.signals``), scored by ``crm.recommend``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from neigou.crm import recommend, signals
from neigou.crm.models import Customer
from neigou.offers.models import Product
from neigou.programs.service import require_program

DEFAULT_LIMIT = 10
MAX_LIMIT = 50


@dataclass(frozen=True)
class Recommendation:
    """A suggestion with the product it names."""

    suggestion: recommend.Suggestion
    product: Product


def recommendations(
    session: Session, *, customer: Customer, at: datetime, limit: int
) -> list[Recommendation]:
    """The best ``limit`` products for ``customer`` at ``at`` with their reasons; none for an erased customer."""
    if customer.erased_at is not None:
        return []
    program = require_program(session, customer.program_id)
    bought = signals.purchases(
        session,
        program_id=program.id,
        customer_ref_hash=customer.customer_ref_hash,
        member_id=customer.member_id,
        at=at,
    )
    co = signals.co_purchases(
        session,
        program_id=program.id,
        customer_ref_hash=customer.customer_ref_hash,
        anchors=bought.anchors,
        bought=bought.skus,
    )
    campaigns = signals.live_campaigns(session, program_id=program.id, at=at)
    # What the customer bought through this member, read now: never the derived categories, which
    # may predate the last order (or a rule that once read the whole program).
    categories = frozenset(bought.categories[:3])
    found = signals.candidates(
        session,
        signals.Signals(
            organization_id=program.organization_id,
            tags=frozenset(customer.tags or ()),
            categories=categories,
            co_bought=frozenset(co),
            campaign_skus=frozenset(campaigns),
            excluded=bought.recent,
        ),
        at=at,
    )
    titles = {p.sku: p.title for p, _, _ in found}
    missing = {anchor for _, anchor in co.values()} - titles.keys()
    titles |= signals.titles(session, program.organization_id, missing)
    products = {p.sku: p for p, _, _ in found}
    power = customer.spending_power or customer.spending_power_derived
    profile = recommend.Profile(
        tags=frozenset(customer.tags or ()),
        preferred_categories=categories,
        spending_power=power.value if power is not None else None,
    )
    candidates = [
        recommend.Candidate(
            sku=p.sku,
            title=p.title,
            price_fen=p.price_fen,
            category=code,
            category_name=name,
            tags=frozenset(p.tags or ()),
            added_at=p.created_at,
            co_buyers=co.get(p.sku, (0, ""))[0],
            bought_with=titles.get(co[p.sku][1]) if p.sku in co else None,
            campaign=campaigns.get(p.sku),
        )
        for p, code, name in found
    ]
    bands = signals.price_bands(session, organization_id=program.organization_id)
    best = recommend.recommend(profile, candidates, bands, at, limit=limit)
    return [Recommendation(suggestion=s, product=products[s.sku]) for s in best]

"""Each new order of a batch built for its write (``orders.ingest``): its head, priced lines and earners."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.campaigns import repository as campaigns
from neigou.links.order_attribution import OrderAttribution
from neigou.orders import batch_rows, commission, row_writes
from neigou.orders.inputs import OrderIn
from neigou.orders.lookups import ProductTerms
from neigou.orders.models import CommissionState, OrderSource
from neigou.orders.offer_snapshot import OfferBook
from neigou.programs.models import Program

# A new order ready to be built: the order, its customer's hash, its attribution and its earners.
Pending = tuple[OrderIn, str, OrderAttribution, list[commission.Earner]]


def build(
    session: Session,
    pending: dict[int, Pending],
    programs_by_id: dict[int, Program],
    products: dict[int, dict[str, ProductTerms]],
    *,
    source: OrderSource,
    now: datetime,
) -> list[row_writes.NewOrder]:
    """Each pending order's head, lines and earners."""
    book = OfferBook(
        session,
        start=min(o.paid_at for o, _, _, _ in pending.values()),
        end=max(o.paid_at for o, _, _, _ in pending.values()),
        coupon_ids={a.link_coupon_id for _, _, a, _ in pending.values() if a.link_coupon_id is not None},
        organization_ids={p.organization_id for p in programs_by_id.values()},
    )
    boosts = campaigns.boost_terms(
        session, {a.link_campaign_id for _, _, a, _ in pending.values() if a.link_campaign_id is not None}
    )
    # Each organization's list prices: an order is priced with its program's organization's products.
    prices = {o: {sku: terms.price_fen for sku, terms in own.items()} for o, own in products.items()}
    todo: list[row_writes.NewOrder] = []
    pending_state = CommissionState.PENDING
    programs = {i: (p.organization_id, prices.get(p.organization_id, {})) for i, p in programs_by_id.items()}
    for order, ref_hash, attributed, chain in pending.values():
        found, (organization_id, listed) = attributed.attribution, programs[order.program_id]
        coupon_id, own = attributed.link_coupon_id, products.get(organization_id, {})
        lines, paid_fen, list_total = batch_rows.priced_lines(
            order.items, own, boosts.get(attributed.link_campaign_id or 0), order.paid_at
        )
        head = row_writes.OrderHead(
            order.program_id,
            order.external_id,
            ref_hash,
            order.link_code,
            order.event_id,
            found.member_id,
            found.group_id,
            found.basis.value,
            found.self_purchase,
            paid_fen,
            order.paid_at,
            pending_state,
            batch_rows.snapshot_of(book, order, listed, coupon_id, organization_id, list_total=list_total),
            source,
            now,
        )
        todo.append(row_writes.NewOrder(head, lines, chain))
    return todo

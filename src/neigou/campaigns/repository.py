"""Every query of the campaigns domain."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from neigou.campaigns.estimate import BoostTerms
from neigou.campaigns.models import Campaign, CampaignItem
from neigou.kit.paging import Page, Paged, Sortable, paginate


def get_campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign | None:
    """A campaign by id; ``lock`` reads it ``FOR UPDATE`` (its items are replaced next)."""
    return session.get(Campaign, campaign_id, with_for_update=True if lock else None, populate_existing=lock)


def _campaigns(program_id: int | None, live_at: datetime | None) -> Select[Campaign]:
    stmt = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id.desc())
    if program_id is not None:
        stmt = stmt.where(Campaign.program_id == program_id)
    if live_at is not None:
        stmt = stmt.where(Campaign.starts_at <= live_at, Campaign.ends_at > live_at)
    return stmt


def page_campaigns(
    session: Session, page: Page, *, program_id: int | None = None, live_at: datetime | None = None
) -> Paged[Campaign]:
    """A page of campaigns, newest start first, and their number."""
    return paginate(session, _campaigns(program_id, live_at), page)


def live_campaigns(session: Session, *, program_id: int, at: datetime) -> list[Campaign]:
    """The program's campaigns live at ``at``."""
    return list(session.scalars(_campaigns(program_id, at)))


def items_of(session: Session, campaign_ids: Collection[int]) -> dict[int, list[CampaignItem]]:
    """Each campaign's items in their listed order (one query)."""
    found: dict[int, list[CampaignItem]] = {cid: [] for cid in campaign_ids}
    if not campaign_ids:
        return found
    rows = session.scalars(
        select(CampaignItem)
        .where(CampaignItem.campaign_id.in_(sorted(campaign_ids)))
        .order_by(CampaignItem.campaign_id, CampaignItem.position)
    )
    for item in rows:
        found[item.campaign_id].append(item)
    return found


def delete_items(session: Session, campaign_id: int) -> None:
    """Remove a campaign's items (before its new list is added)."""
    session.execute(delete(CampaignItem).where(CampaignItem.campaign_id == campaign_id))
    session.flush()


def boost_terms(session: Session, campaign_ids: Collection[int]) -> dict[int, BoostTerms]:
    """The boost terms of these campaigns (one query for the campaigns, one for their skus)."""
    if not campaign_ids:
        return {}
    campaigns = session.scalars(select(Campaign).where(Campaign.id.in_(sorted(campaign_ids)))).all()
    items = items_of(session, [c.id for c in campaigns])
    return {
        c.id: BoostTerms(
            boost_bp=c.commission_boost_bp,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            skus=frozenset(i.sku for i in items[c.id]),
        )
        for c in campaigns
    }


SORTS: dict[str, Sortable] = {
    "starts": Campaign.starts_at,
    "ends": Campaign.ends_at,
    "name": Campaign.name,
    "boost": Campaign.commission_boost_bp,
}
SEARCH: tuple[Sortable, ...] = (Campaign.name,)
STATES = ("live", "upcoming", "ended")


def campaigns_statement(*, program_id: int | None, state: str | None, at: datetime) -> Select[Campaign]:
    """Campaigns (of a program) that are ``live``, ``upcoming`` or ``ended`` at ``at`` (``None``: all),
    newest start first: what the console's list pages through."""
    stmt = _campaigns(program_id, at if state == "live" else None)
    if state == "upcoming":
        stmt = stmt.where(Campaign.starts_at > at)
    elif state == "ended":
        stmt = stmt.where(Campaign.ends_at <= at)
    return stmt

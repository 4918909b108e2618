"""HTTP endpoints of campaigns (``/api/v1``): operators publish, edit and list them; a merchant
publishes and edits campaigns of its own skus and sees its own."""

from __future__ import annotations

from fastapi import APIRouter, status

from neigou.auth.dependencies import OperatorOrMerchant
from neigou.campaigns import repository as repo
from neigou.campaigns import service
from neigou.campaigns.schemas import CampaignCreate, CampaignOut, CampaignUpdate
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.instants import Instant
from neigou.kit.paging import PageDep

router = APIRouter(tags=["campaigns"])


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
def create_campaign(body: CampaignCreate, session: SessionDep, principal: OperatorOrMerchant) -> CampaignOut:
    """Publish a campaign (选品库) for a program's group owners."""
    campaign = service.create_campaign(session, data=body, actor=principal.actor, at=utcnow())
    return service.campaigns_out(session, [campaign])[0]


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(
    session: SessionDep,
    principal: OperatorOrMerchant,
    page: PageDep,
    program_id: int | None = None,
    live_at: Instant | None = None,
) -> list[CampaignOut]:
    """Campaigns, newest start first; ``live_at`` keeps those live at that moment."""
    found = repo.page_campaigns(session, page, program_id=program_id, live_at=live_at)
    page.answer(found.total)
    return service.campaigns_out(session, list(found.items))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: int, session: SessionDep, principal: OperatorOrMerchant) -> CampaignOut:
    """One campaign with its skus."""
    return service.campaigns_out(session, [service.require_campaign(session, campaign_id)])[0]


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def update_campaign(
    campaign_id: int, body: CampaignUpdate, session: SessionDep, principal: OperatorOrMerchant
) -> CampaignOut:
    """Edit a campaign that has not ended: its name, copy, boost, window, coupon or skus. Once it has
    started, its start (409 ``campaign_started``), boost and skus (409 ``terms_locked``) stay as
    published: an order paid during it may be reported later and is priced by it as it stands; it can
    still end earlier (now at the earliest) or later, and change its name, copy and coupon."""
    campaign = service.require_campaign(session, campaign_id, lock=True)
    service.update_campaign(session, campaign=campaign, data=body, actor=principal.actor, at=utcnow())
    return service.campaigns_out(session, [campaign])[0]

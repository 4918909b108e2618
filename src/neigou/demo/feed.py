"""The demo's campaigns (选品库) and a group live code: a live-care campaign with the hidden coupon and a
commission boost, a garment campaign without a coupon, one that has ended (it never shows in the feed),
and a live code over the sample owner's groups whose capacity some have reached."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neigou.campaigns.schemas import CampaignCreate
from neigou.campaigns.service import create_campaign
from neigou.demo.offers import GARMENTS, SHAMPOO_SKU
from neigou.groups import repository as groups
from neigou.groups.live_codes import create_live_code
from neigou.kit.actor import Actor

LIVE_CODE_CAPACITY = 300


def seed_feed(
    session: Session,
    *,
    program_id: int,
    sample_owner_id: int,
    hidden_coupon_id: int,
    now: datetime,
    actor: Actor,
) -> None:
    """Three campaigns of the partner program and the sample owner's live code."""
    campaigns = [
        CampaignCreate(
            program_id=program_id,
            name="澜泉洗护节",
            skus=[SHAMPOO_SKU, "LQ-CONDITIONER-400", "LQ-BODYWASH-750"],
            coupon_id=hidden_coupon_id,
            commission_boost_bp=500,
            starts_at=now - timedelta(hours=6),
            ends_at=now + timedelta(days=3),
            copy="氨基酸洗发，蓬松一整天；群内专享隐藏券，App 里领不到",
        ),
        CampaignCreate(
            program_id=program_id,
            name="衣朵换季上新",
            skus=GARMENTS[:3],
            starts_at=now - timedelta(days=2),
            ends_at=now + timedelta(days=5),
            copy="新疆棉，男女同款，换季囤起来",
        ),
        CampaignCreate(
            program_id=program_id,
            name="禾实年货节（已结束）",
            skus=["HS-RICE-5KG", "HS-NUTS-30"],
            commission_boost_bp=300,
            starts_at=now - timedelta(days=10),
            ends_at=now - timedelta(days=1),
        ),
    ]
    for data in campaigns:
        # Published when it opened (one still to open, now), after its program, products and coupon.
        create_campaign(session, data=data, actor=actor, at=min(data.starts_at, now))
    owned = [g.id for g in groups.groups_of_owners(session, [sample_owner_id])][:4]
    if owned:
        create_live_code(
            session,
            owner_member_id=sample_owner_id,
            group_ids=owned,
            capacity=LIVE_CODE_CAPACITY,
            actor=actor,
            at=now,
        )

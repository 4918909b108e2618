"""HTTP endpoint of a customer's suggestions (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from neigou.auth.dependencies import OperatorOrMember
from neigou.crm.recommendation_schemas import RecommendationOut, RecommendationsOut
from neigou.crm.recommendations import DEFAULT_LIMIT, MAX_LIMIT, recommendations
from neigou.crm.service import require_customer
from neigou.kit.clock import utcnow
from neigou.kit.deps import ReaderLocale, SessionDep
from neigou.kit.i18n import translate

router = APIRouter(tags=["crm"])


@router.get("/customers/{customer_id}/recommendations", response_model=RecommendationsOut)
def get_recommendations(
    customer_id: int,
    session: SessionDep,
    principal: OperatorOrMember,
    locale: ReaderLocale,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> RecommendationsOut:
    """Products for this customer, best first, each with its reasons (404 for another member's customer)."""
    customer = require_customer(session, principal, customer_id)
    found = recommendations(session, customer=customer, at=utcnow(), limit=limit)
    return RecommendationsOut(
        items=[
            RecommendationOut(
                sku=r.suggestion.sku,
                title=r.product.title,
                price_fen=r.product.price_fen,
                score=r.suggestion.score,
                reasons=[translate(reason, locale) for reason in r.suggestion.reasons],
            )
            for r in found
        ]
    )

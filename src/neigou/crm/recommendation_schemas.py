"""The answer of ``GET /customers/{id}/recommendations``."""

from __future__ import annotations

from pydantic import BaseModel


class RecommendationOut(BaseModel):
    """A product suggested for the customer, its score and why, in the reader's language."""

    sku: str
    title: str
    price_fen: int
    score: int
    reasons: list[str]


class RecommendationsOut(BaseModel):
    """Suggestions, best first."""

    items: list[RecommendationOut]

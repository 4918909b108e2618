"""Drawn product pictures: a product without an image of its own gets a tile with its name and price.

A sku is unique within its organization only, so a tile's path names the organization whose product it
draws (``/img/products/{organization_id}/{sku}.png``, as the landing page and the feed link it). The
route is public (a share link's page shows it to anyone): it draws only a product on sale, so a
withdrawn product's title and price are not shown by it."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response

from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.links.poster import product_tile_png
from neigou.offers import repository as offers

router = APIRouter(include_in_schema=False)
TILE_SIZE = 600


@lru_cache(maxsize=512)
def _tile(sku: str, title: str, price_fen: int) -> bytes:
    return product_tile_png(title, price_fen, TILE_SIZE, key=sku)


@router.get("/img/products/{organization_id}/{sku}.png", response_model=None)
def product_image(
    organization_id: Annotated[int, Path(ge=1, le=2**62)],
    sku: Annotated[str, Path(min_length=1, max_length=64)],
    session: SessionDep,
) -> Response:
    """The tile of the organization's product ``sku`` as PNG (a day in caches); an unknown sku, another
    organization's or one not on sale is a 404 ``product_not_found`` (problem+json: an image is fetched
    by its page's ``<img>``, ``web.paths.FETCHED``)."""
    product = offers.products_by_sku(session, [sku], organization_id=organization_id).get(sku)
    if product is None or not product.active:
        raise NotFound(Message("This product does not exist."), code="product_not_found")
    return Response(
        _tile(product.sku, product.title, product.price_fen),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )

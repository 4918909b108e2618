"""Products without a picture get a drawn tile with their name and price, on the landing page too; the
tile's path names the product's organization and only a product on sale is drawn."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.links.poster import product_tile
from neigou.offers.models import Product
from tests.offers import factories as offers


def _organization(factory: sessionmaker[Session], sku: str) -> int:
    with factory() as session:
        return int(session.execute(select(Product.organization_id).where(Product.sku == sku)).scalar_one())


def test_a_product_tile_is_a_png_of_its_own_colour(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    offers.product(client, operator, "TILE-1", 2490, commission_rate_bp=1000, title="蓝月亮洗衣液 2kg")
    offers.product(client, operator, "TILE-2", 5900, commission_rate_bp=1000, title="纯棉圆领T恤")
    home = _organization(factory, "TILE-1")
    first = client.get(f"/img/products/{home}/TILE-1.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert "max-age" in first.headers["cache-control"]
    image = Image.open(io.BytesIO(first.content))
    assert image.size == (600, 600)
    second = Image.open(io.BytesIO(client.get(f"/img/products/{home}/TILE-2.png").content))
    assert image.getpixel((5, 300)) != second.getpixel((5, 300)), "each sku keeps a colour of its own"
    # the title is drawn: the tile is not one flat colour
    assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 2
    assert client.get(f"/img/products/{home}/NOPE.png").status_code == 404
    assert client.get(f"/img/products/{home + 1000}/TILE-1.png").status_code == 404  # not that organization's
    assert client.get("/img/products/TILE-1.png").status_code == 404  # the path names the organization


def test_a_tile_is_drawn_only_for_a_product_on_sale(
    client: TestClient, operator: dict[str, str], factory: sessionmaker[Session]
) -> None:
    made = offers.product(client, operator, "TILE-OFF", 2490, title="下架的商品")
    home = _organization(factory, "TILE-OFF")
    assert client.get(f"/img/products/{home}/TILE-OFF.png").status_code == 200
    assert (
        client.patch(f"/api/v1/products/{made['id']}", json={"active": False}, headers=operator).status_code
        == 200
    )
    gone = client.get(f"/img/products/{home}/TILE-OFF.png")
    assert (gone.status_code, gone.json()["code"]) == (404, "product_not_found")


def test_tiles_differ_by_title_and_price() -> None:
    one = product_tile("洗衣液", 2490, (200, 200), key="A").tobytes()
    assert one != product_tile("洗衣液", 3490, (200, 200), key="A").tobytes()
    assert one != product_tile("T恤", 2490, (200, 200), key="A").tobytes()

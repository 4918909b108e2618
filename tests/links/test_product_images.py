"""Products without a picture get a drawn tile with their name and price, on the landing page too."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from neigou.links.poster import product_tile
from tests.offers import factories as offers


def test_a_product_tile_is_a_png_of_its_own_colour(client: TestClient, operator: dict[str, str]) -> None:
    offers.product(client, operator, "TILE-1", 2490, commission_rate_bp=1000, title="蓝月亮洗衣液 2kg")
    offers.product(client, operator, "TILE-2", 5900, commission_rate_bp=1000, title="纯棉圆领T恤")
    first = client.get("/img/products/TILE-1.png")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/png"
    assert "max-age" in first.headers["cache-control"]
    image = Image.open(io.BytesIO(first.content))
    assert image.size == (600, 600)
    second = Image.open(io.BytesIO(client.get("/img/products/TILE-2.png").content))
    assert image.getpixel((5, 300)) != second.getpixel((5, 300)), "each sku keeps a colour of its own"
    # the title is drawn: the tile is not one flat colour
    assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 2
    assert client.get("/img/products/NOPE.png").status_code == 404


def test_tiles_differ_by_title_and_price() -> None:
    one = product_tile("洗衣液", 2490, (200, 200), key="A").tobytes()
    assert one != product_tile("洗衣液", 3490, (200, 200), key="A").tobytes()
    assert one != product_tile("T恤", 2490, (200, 200), key="A").tobytes()

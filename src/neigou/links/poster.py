"""Share posters: a PNG with the product, the group price against the app price, and the link's QR code.

Rendered with Pillow and the CJK font shipped in this package (a GB2312 subset of Noto Sans SC,
SIL OFL), so Chinese renders on a fresh machine. Product images are used only when they are local
files; nothing is fetched from the network while rendering — a drawn placeholder stands in.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M  # type: ignore[import-untyped]

from neigou.kit.money import format_yuan

FONT_PATH = Path(__file__).parent / "fonts" / "NotoSansSC-Regular-GB2312.otf"
WIDTH, HEIGHT = 750, 1200
ACCENT = (217, 72, 15)
INK = (31, 35, 40)
MUTED = (110, 119, 129)
PAPER = (255, 255, 255)


@dataclass(frozen=True)
class PosterData:
    """What a poster shows."""

    title: str
    url: str
    code: str
    app_price_fen: int
    group_price_fen: int
    coupon_name: str | None = None
    sharer: str | None = None
    image_path: Path | None = None


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont:
    """The shipped CJK font at a size, laid out by Pillow's own engine: Chinese needs no shaping, and
    libraqm refuses some input (stray control or combining characters in a title) with an error."""
    return ImageFont.truetype(str(FONT_PATH), size, layout_engine=ImageFont.Layout.BASIC)


def _wrap(draw: ImageDraw.ImageDraw, text: str, size: int, width: int, lines: int) -> list[str]:
    """Break CJK text by characters to fit ``width``; the last line ends with … when cut."""
    out: list[str] = []
    current = ""
    for char in text:
        if draw.textlength(current + char, font=font(size)) > width:
            out.append(current)
            current = char
            if len(out) == lines:
                break
        else:
            current += char
    else:
        out.append(current)
        return out[:lines]
    last = out[lines - 1]
    while last and draw.textlength(last + "…", font=font(size)) > width:
        last = last[:-1]
    out[lines - 1] = last + "…"
    return out[:lines]


def fit_line(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> str:
    """``text`` cut with … to fit on one line ``width`` pixels wide."""
    if draw.textlength(text, font=font(size)) <= width:
        return text
    while text and draw.textlength(text + "…", font=font(size)) > width:
        text = text[:-1]
    return text + "…"


def centred_line(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, fill: tuple[int, int, int]) -> None:
    """One line of text centred across the poster at ``y`` (cut with … to fit its margins)."""
    line = fit_line(draw, text, size, WIDTH - 80)
    draw.text(((WIDTH - draw.textlength(line, font=font(size))) / 2, y), line, font=font(size), fill=fill)


def png_bytes(canvas: Image.Image) -> bytes:
    """A drawn poster as PNG bytes."""
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _product_image(data: PosterData, box: tuple[int, int]) -> Image.Image:
    if data.image_path is not None and data.image_path.is_file():
        try:
            with Image.open(data.image_path) as source:
                image = source.convert("RGB")
            image.thumbnail(box)
            return image
        except OSError:
            pass
    return _placeholder(data.title, box)


TILE_COLOURS = (
    (217, 72, 15),
    (12, 133, 153),
    (47, 158, 68),
    (132, 94, 247),
    (230, 119, 0),
    (214, 51, 108),
    (25, 113, 194),
    (102, 168, 15),
)


def _tile_colour(key: str) -> tuple[int, int, int]:
    return TILE_COLOURS[sum(key.encode("utf-8")) % len(TILE_COLOURS)]


def product_tile(title: str, price_fen: int | None, box: tuple[int, int], key: str = "") -> Image.Image:
    """A drawn product picture for a product without one: its name and price on a colour of its own."""
    colour = _tile_colour(key or title)
    image = Image.new("RGB", box, colour)
    draw = ImageDraw.Draw(image)
    width, height = box
    pad = max(16, width // 12)
    draw.rounded_rectangle(
        (pad // 2, pad // 2, width - pad // 2, height - pad // 2),
        radius=pad,
        outline=PAPER,
        width=max(2, width // 150),
    )
    size = max(18, width // 9)
    lines = _wrap(draw, title.strip() or "?", size, width - 2 * pad, 3)
    y = pad * 2
    for line in lines:
        draw.text((pad, y), line, font=font(size), fill=PAPER)
        y += int(size * 1.35)
    if price_fen is not None:
        price = format_yuan(price_fen)
        big = max(22, width // 7)
        draw.text((pad, height - pad * 2 - big), price, font=font(big), fill=PAPER)
    return image


def product_tile_png(title: str, price_fen: int | None, size: int = 600, key: str = "") -> bytes:
    """:func:`product_tile` as PNG bytes, ``size`` pixels square."""
    buffer = io.BytesIO()
    product_tile(title, price_fen, (size, size), key).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _placeholder(title: str, box: tuple[int, int]) -> Image.Image:
    """A drawn stand-in for a product without a local picture: its tile, without the price."""
    return product_tile(title, None, box)


def qr_image(url: str, size: int) -> Image.Image:
    """The QR code of ``url``, ``size`` pixels square."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=2)
    code.add_data(url)
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    return image.resize((size, size), Image.Resampling.NEAREST)


def render_poster(data: PosterData) -> bytes:
    """The poster as PNG bytes."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, WIDTH, 96), fill=ACCENT)
    header = f"{data.sharer} 的群内专享" if data.sharer else "群内专享价"
    draw.text((40, 26), header[:24], font=font(36), fill=PAPER)
    picture = _product_image(data, (670, 560))
    canvas.paste(picture, ((WIDTH - picture.width) // 2, 126 + (560 - picture.height) // 2))
    y = 716
    for line in _wrap(draw, data.title, 34, 670, 2):
        draw.text((40, y), line, font=font(34), fill=INK)
        y += 48
    y = max(y + 12, 830)
    saved = data.app_price_fen - data.group_price_fen
    label = "券后 " if data.coupon_name or saved > 0 else ""
    draw.text((40, y), label, font=font(36), fill=ACCENT)
    price_x = 40 + draw.textlength(label, font=font(36))
    draw.text((price_x, y - 18), format_yuan(data.group_price_fen), font=font(64), fill=ACCENT)
    if saved > 0:
        app = f"App {format_yuan(data.app_price_fen)}"
        app_x = price_x + draw.textlength(format_yuan(data.group_price_fen), font=font(64)) + 24
        draw.text((app_x, y + 8), app, font=font(30), fill=MUTED)
        width = draw.textlength(app, font=font(30))
        draw.line((app_x, y + 28, app_x + width, y + 28), fill=MUTED, width=2)
        draw.rounded_rectangle((40, y + 66, 40 + 230, y + 112), radius=10, fill=(255, 244, 230))
        draw.text((56, y + 72), f"省 {format_yuan(saved)}", font=font(30), fill=ACCENT)
    qr = qr_image(data.url, 240)
    canvas.paste(qr, (WIDTH - 40 - 240, HEIGHT - 40 - 240))
    draw.text((40, HEIGHT - 250), "长按识别二维码", font=font(34), fill=INK)
    draw.text((40, HEIGHT - 200), "领券购买" if data.coupon_name else "立即购买", font=font(34), fill=INK)
    if data.coupon_name:
        for index, line in enumerate(_wrap(draw, data.coupon_name, 24, 380, 2)):
            draw.text((40, HEIGHT - 140 + index * 34), line, font=font(24), fill=MUTED)
    draw.text((40, HEIGHT - 64), data.url, font=font(20), fill=MUTED)
    return png_bytes(canvas)

"""The recruiting poster: who invites, the program, and the QR code of the recruiting link.

Drawn with the share poster's building blocks (the shipped CJK font and the QR renderer), so it
renders on a fresh machine and never fetches anything.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from neigou.links.poster import ACCENT, HEIGHT, INK, MUTED, PAPER, WIDTH, font, qr_image


@dataclass(frozen=True)
class RecruitPosterData:
    """What a recruiting poster shows."""

    inviter: str
    program: str
    url: str


def _fit(draw: ImageDraw.ImageDraw, text: str, size: int, width: int) -> str:
    """``text`` cut with … to fit on one line."""
    if draw.textlength(text, font=font(size)) <= width:
        return text
    while text and draw.textlength(text + "…", font=font(size)) > width:
        text = text[:-1]
    return text + "…"


def _centred(draw: ImageDraw.ImageDraw, y: int, text: str, size: int, fill: tuple[int, int, int]) -> None:
    line = _fit(draw, text, size, WIDTH - 80)
    draw.text(((WIDTH - draw.textlength(line, font=font(size))) / 2, y), line, font=font(size), fill=fill)


def render_recruit_poster(data: RecruitPosterData) -> bytes:
    """The poster as PNG bytes."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, WIDTH, 360), fill=ACCENT)
    _centred(draw, 90, f"{data.inviter} 邀请你加入", 44, PAPER)
    _centred(draw, 170, data.program, 34, PAPER)
    _centred(draw, 250, "一起分享群内专享好价", 30, (255, 228, 204))
    qr = qr_image(data.url, 420)
    canvas.paste(qr, ((WIDTH - 420) // 2, 430))
    _centred(draw, 880, "长按识别二维码，填写姓名和手机号即可加入", 30, INK)
    _centred(draw, 940, "Scan to join the team", 28, MUTED)
    _centred(draw, HEIGHT - 80, data.url, 20, MUTED)
    out = io.BytesIO()
    canvas.save(out, format="PNG", optimize=True)
    return out.getvalue()

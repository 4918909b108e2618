"""The recruiting poster: who invites, the program, and the QR code of the recruiting link.

Drawn with the share poster's building blocks (the shipped CJK font and the QR renderer), so it
renders on a fresh machine and never fetches anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from neigou.links.poster import ACCENT, HEIGHT, INK, MUTED, PAPER, WIDTH, centred_line, png_bytes, qr_image


@dataclass(frozen=True)
class RecruitPosterData:
    """What a recruiting poster shows."""

    inviter: str
    program: str
    url: str


def render_recruit_poster(data: RecruitPosterData) -> bytes:
    """The poster as PNG bytes."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, WIDTH, 360), fill=ACCENT)
    centred_line(draw, 90, f"{data.inviter} 邀请你加入", 44, PAPER)
    centred_line(draw, 170, data.program, 34, PAPER)
    centred_line(draw, 250, "一起分享群内专享好价", 30, (255, 228, 204))
    qr = qr_image(data.url, 420)
    canvas.paste(qr, ((WIDTH - 420) // 2, 430))
    centred_line(draw, 880, "长按识别二维码，填写姓名和手机号即可加入", 30, INK)
    centred_line(draw, 940, "Scan to join the team", 28, MUTED)
    centred_line(draw, HEIGHT - 80, data.url, 20, MUTED)
    return png_bytes(canvas)

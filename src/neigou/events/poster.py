"""The invitation poster of an employee's code: who invites, the event, when it starts, the code and the
QR of the live page it opens.

Drawn with the share poster's building blocks (the shipped CJK font, centred lines and the QR
renderer), so it renders on a fresh machine and never fetches anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw

from neigou.links.poster import ACCENT, HEIGHT, INK, MUTED, PAPER, WIDTH, centred_line, png_bytes, qr_image


@dataclass(frozen=True)
class InvitationPosterData:
    """What an invitation poster shows; ``starts`` is the start as the program's clock reads it."""

    inviter: str
    event: str
    starts: str
    code: str
    url: str


def render_invitation_poster(data: InvitationPosterData) -> bytes:
    """The poster as PNG bytes."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, WIDTH, 380), fill=ACCENT)
    centred_line(draw, 70, f"{data.inviter} 邀请你参加", 40, PAPER)
    centred_line(draw, 150, data.event, 48, PAPER)
    centred_line(draw, 240, f"开场 {data.starts}", 32, (255, 228, 204))
    centred_line(draw, 300, "员工内购价 · 亲友专享名额", 28, (255, 228, 204))
    qr = qr_image(data.url, 400)
    canvas.paste(qr, ((WIDTH - 400) // 2, 430))
    centred_line(draw, 860, f"邀请码 {data.code}", 40, INK)
    centred_line(draw, 930, "长按识别二维码进入直播间，一个邀请码仅限一位亲友", 26, INK)
    centred_line(draw, 980, "Scan to join the live event", 26, MUTED)
    centred_line(draw, HEIGHT - 80, data.url, 20, MUTED)
    return png_bytes(canvas)

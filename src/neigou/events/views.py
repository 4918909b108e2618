"""API views of the live board."""

from __future__ import annotations

from neigou.events.repository import Board
from neigou.events.schemas import BoardOut, MemberGmvOut, SkuSalesOut


def board_out(board: Board) -> BoardOut:
    """The board as the API and the live stream send it."""
    return BoardOut(
        orders=board.orders,
        gmv_fen=board.gmv_fen,
        reservations=board.reservations,
        top_members=[MemberGmvOut(member_id=m, gmv_fen=g) for m, g in board.top_members],
        top_skus=[SkuSalesOut(sku=s, quantity=q, gmv_fen=g) for s, q, g in board.top_skus],
    )

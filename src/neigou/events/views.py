"""API views of the live board."""

from __future__ import annotations

from neigou.events.repository import Board, BoardLabels
from neigou.events.schemas import BoardOut, LiveBoardOut, LiveMemberOut, LiveSkuOut, MemberGmvOut, SkuSalesOut


def board_out(board: Board) -> BoardOut:
    """The board as the API sends it (figures and keys only)."""
    return BoardOut(
        orders=board.orders,
        gmv_fen=board.gmv_fen,
        reservations=board.reservations,
        top_members=[MemberGmvOut(member_id=m, gmv_fen=g) for m, g in board.top_members],
        top_skus=[SkuSalesOut(sku=s, quantity=q, gmv_fen=g) for s, q, g in board.top_skus],
    )


def live_board_out(board: Board, labels: BoardLabels) -> LiveBoardOut:
    """The board as the console's page and its live stream show it: each seller with its name, each
    sku with its product's title."""
    return LiveBoardOut(
        orders=board.orders,
        gmv_fen=board.gmv_fen,
        reservations=board.reservations,
        top_members=[
            LiveMemberOut(member_id=m, gmv_fen=g, name=labels.names.get(m)) for m, g in board.top_members
        ],
        top_skus=[
            LiveSkuOut(sku=s, quantity=q, gmv_fen=g, title=labels.titles.get(s, s))
            for s, q, g in board.top_skus
        ],
    )

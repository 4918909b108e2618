"""The invite tree as nested nodes for display."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_NODES = 500


@dataclass
class Node:
    """A member in the invite tree with the members they invited."""

    id: int
    name: str
    tier: str | None
    children: list[Node] = field(default_factory=list)


def build_forest(rows: list[tuple[int, int | None, str, str | None]]) -> tuple[list[Node], bool]:
    """Roots (members without an inviter) with their downlines; True when cut at MAX_NODES."""
    truncated = len(rows) > MAX_NODES
    nodes = {mid: Node(mid, name, tier) for mid, _inv, name, tier in rows[:MAX_NODES]}
    roots: list[Node] = []
    for mid, inviter, _name, _tier in rows[:MAX_NODES]:
        parent = nodes.get(inviter) if inviter is not None else None
        (parent.children if parent is not None else roots).append(nodes[mid])
    return roots, truncated

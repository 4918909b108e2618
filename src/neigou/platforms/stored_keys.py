"""The stored platform orders and lines a batch's rows belong to, ids stored before one form included.

Rows are read with their ids in one form (``rows.numeric_id``, ``rows.order_sn``: ASCII digits, no
leading zeros). A platform order or line stored before that rule holds its id as the row carried it,
trimmed (``0880100``, ``８８０100``, a line key ``01``). When an order's one form finds no stored order,
the forms its rows of the batch were written in are looked up too (one query for the batch, only when a
row was written otherwise), and a stored order found so is the order: it moves forward under its stored
id, nothing is renamed. A line alike, among its order's stored lines. The one form wins where both are
stored. New orders and lines are stored in the one form.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.integrations.models import Integration
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.platforms.models import PlatformOrder
from neigou.platforms.rows import LineStatus, Platform, PlatformLine

V = TypeVar("V")


@dataclass
class Written:
    """Per order of a batch (by its one-form id), the other forms its rows wrote its id in; per line
    (order and one-form key), the other forms of its key."""

    ids: dict[str, set[str]] = field(default_factory=dict)
    keys: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add(self, line: PlatformLine) -> None:
        """Note the forms ``line``'s row wrote its ids in, where they are not the one form."""
        if line.written_id is not None and line.written_id != line.external_id:
            self.ids.setdefault(line.external_id, set()).add(line.written_id)
        if line.written_key is not None and line.written_key != line.line_key:
            self.keys.setdefault((line.external_id, line.line_key), set()).add(line.written_key)


def stored_key(have: Mapping[str, V], key: str, written: Collection[str]) -> str:
    """The key a line is stored under among its order's lines ``have``: ``key`` (its one form) when
    stored or when no form it was written in is, else the first such form stored."""
    if key in have:
        return key
    return next((form for form in sorted(written) if form in have), key)


def lock_orders(
    session: Session,
    integration: Integration,
    platform: Platform,
    merged: Mapping[str, Mapping[str, PlatformLine]],
    *,
    written: Written,
    now: datetime,
) -> dict[str, PlatformOrder]:
    """The platform orders of the batch by their one-form id, created where new, locked for this
    transaction."""
    scope = (PlatformOrder.program_id == integration.program_id, PlatformOrder.platform == platform)
    chosen = {external_id: external_id for external_id in merged}  # stored id -> one form
    forms = {form for external_id in merged for form in written.ids.get(external_id, ())}
    if forms:
        present = set(
            session.scalars(
                select(PlatformOrder.external_id).where(
                    *scope, PlatformOrder.external_id.in_(sorted(forms | set(merged)))
                )
            )
        )
        for external_id in merged:
            old = sorted(present & written.ids.get(external_id, set()))
            if external_id not in present and old:
                del chosen[external_id]
                chosen[old[0]] = external_id
    rows = []
    # In one order for every batch: two batches inserting shared orders in opposite orders would each
    # wait on the other's uncommitted key (a deadlock on PostgreSQL)
    for external_id, lines in sorted(merged.items()):
        if chosen.get(external_id) != external_id:
            continue  # stored under a form written before
        first = min(lines.values(), key=lambda line: line.paid_at)
        rows.append(
            {
                "program_id": integration.program_id,
                "integration_id": integration.id,
                "platform": platform,
                "external_id": external_id,
                "order_id": None,
                "link_code": first.link_code,
                "status": LineStatus.UNPAID,
                "paid_at": first.paid_at,
                "skip_code": None,
                "updated_at": now,
            }
        )
    insert_ignoring_duplicates(
        session, PlatformOrder, rows, index_elements=("program_id", "platform", "external_id")
    )
    found = session.scalars(
        select(PlatformOrder)
        .where(*scope, PlatformOrder.external_id.in_(sorted(chosen)))
        .order_by(PlatformOrder.id)
        .with_for_update()
    )
    return {chosen[row.external_id]: row for row in found}

"""What the audit log keeps of a claim once its shopper opted out.

A ``coupon.claim`` entry (``claims``, ``claim_batches``) records the claim's id and its shopper's masked
reference in ``after``. The opt-out (``privacy.service.erase``) redacts that reference to the erased
marker in the entries of the claims it tombstones, whoever recorded them (an entry of a platform
administrator names no organization), keeping the claim's id: the log still tells who took which
unit when, never of whom.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, bindparam, cast, select, update
from sqlalchemy.orm import Session

from neigou.audit.models import AuditEntry
from neigou.kit.bulk import chunks, table_of
from neigou.kit.ids import ERASED
from neigou.kit.scoping import unscoped

ACTION = "coupon.claim"
ENTITY = "coupon"
AUDIT = table_of(AuditEntry)


def redact_claims(session: Session, claims: Collection[tuple[int, int]]) -> int:
    """Redact the shopper's masked reference in the audit entries of these (claim id, coupon id);
    how many entries changed (one statement to read and one to write per chunk of claims)."""
    changed = 0
    with unscoped(session):
        for part in chunks(sorted(claims)):
            ids = {claim_id for claim_id, _ in part}
            found = session.execute(
                select(AuditEntry.id, AuditEntry.after).where(
                    AuditEntry.action == ACTION,
                    AuditEntry.entity == ENTITY,
                    AuditEntry.entity_id.in_(sorted({str(coupon) for _, coupon in part})),
                    # Claim ids pass 32 bits (``as_integer`` casts to INTEGER on PostgreSQL).
                    cast(AuditEntry.after["claim_id"].as_string(), BigInteger).in_(sorted(ids)),
                )
            ).all()
            redacted = [
                {"entry": entry_id, "kept": {**after, "customer": ERASED}}
                for entry_id, after in found
                if _named(after)
            ]
            if redacted:
                session.execute(
                    update(AUDIT)
                    .where(AUDIT.c.id == bindparam("entry"))
                    .values(after=bindparam("kept", type_=AUDIT.c.after.type)),
                    redacted,
                )
            changed += len(redacted)
    return changed


def _named(after: dict[str, Any] | None) -> bool:
    return after is not None and after.get("customer") not in (None, ERASED)

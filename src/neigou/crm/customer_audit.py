"""What the audit log keeps of a customer: which personal fields an operator changed, never their values.

A ``customer.update`` entry records the changed fields by name, each with the marker ``changed``
(``CHANGED``), in ``after`` (``before`` stays empty): the log answers who changed what and when without
holding a name, job, birthday, tags or spending power. The opt-out (``crm.erasure``) redacts what
earlier entries of the erased customers hold in clear (values of these fields, the masked reference
of ``customer.create``) to the erased marker, keeping the field names.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from neigou.audit.models import AuditEntry
from neigou.kit.bulk import chunks
from neigou.kit.ids import ERASED
from neigou.kit.scoping import unscoped

CHANGED = "changed"
ENTITY = "customer"
# The fields of a customer entry that name or describe the shopper.
PERSONAL = frozenset({"name", "job", "spending_power", "tags", "birthday", "customer"})


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, str]:
    """The fields whose value changed, by name, each marked ``changed``."""
    return {name: CHANGED for name in after if before.get(name) != after[name]}


def _redacted(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: ERASED if k in PERSONAL and v not in (None, CHANGED) else v for k, v in values.items()}


def redact_entries(session: Session, customer_ids: Collection[int]) -> int:
    """Redact the personal values of these customers' audit entries (whoever recorded them: an entry
    of a platform administrator names no organization); how many entries changed."""
    changed = 0
    with unscoped(session):
        for part in chunks(sorted(customer_ids)):
            entries = session.execute(
                select(AuditEntry.id, AuditEntry.before, AuditEntry.after).where(
                    AuditEntry.entity == ENTITY, AuditEntry.entity_id.in_([str(i) for i in part])
                )
            ).all()
            for entry_id, before, after in entries:
                kept = (_redacted(before), _redacted(after))
                if kept == (before, after):
                    continue
                session.execute(
                    update(AuditEntry)
                    .where(AuditEntry.id == entry_id)
                    .values(before=kept[0], after=kept[1])
                    .execution_options(synchronize_session=False)
                )
                changed += 1
    return changed

"""What the opt-out erases of the customer book (``privacy.service.erase`` calls it in its transaction).

Set-based, one statement per kind: the customer rows of the shopper are redacted in place (name,
job, birthday, tags, derived taste and the reference go; ``erased_at`` is stamped, so the row is
gone from every list and lookup while a push's counts still add up), their consent history is
deleted, and the text of every message pushed to them is replaced, and so is a refusal stored in its
``last_error`` (an older receiver's answer may echo the text); those still waiting to go out are
cancelled first (failed, ``opted_out``: ``push_cancel``), so none is sent. Their audit entries keep
the fields' names, their values redacted (``customer_audit``), counted as ``audit_entries``. Their personal push links stay active
(a shopper following one still lands on the product), but the push report stops counting what comes
through them after ``erased_at`` (``push_engagement``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, select, update
from sqlalchemy.orm import Session

from neigou.crm import customer_audit
from neigou.crm.models import Consent, Customer, PushMessage, SkipReason
from neigou.crm.push_cancel import cancel_pending
from neigou.kit.ids import ERASED

KINDS = ("customers", "consents", "push_messages", "audit_entries")


def erase_customers(
    session: Session, *, customer_ref_hash: str, program_id: int | None, tombstone: str, at: datetime
) -> dict[str, int]:
    """Redact the shopper's customer rows (in one program, or all), delete their consents, blank the
    messages pushed to them and redact their audit entries' values; rows affected per kind (the audit
    entries counted are those whose values changed)."""
    ids = select(Customer.id).where(Customer.customer_ref_hash == customer_ref_hash)
    if program_id is not None:
        ids = ids.where(Customer.program_id == program_id)
    audited = customer_audit.redact_entries(session, [int(i) for i in session.scalars(ids)])
    # A stored refusal may hold what an earlier receiver echoed of the text: it goes with the text;
    # the fixed reasons of a cancelled message (``opted_out``, ``no_consent``) name nobody and stay.
    kept = PushMessage.last_error.is_(None) | PushMessage.last_error.in_([r.value for r in SkipReason])
    statements = {
        "consents": delete(Consent).where(Consent.customer_id.in_(ids)),
        "push_messages": update(PushMessage)
        .where(PushMessage.customer_id.in_(ids))
        .values(text=ERASED, last_error=case((kept, PushMessage.last_error), else_=ERASED)),
        "customers": update(Customer)
        .where(Customer.id.in_(ids))
        .values(
            customer_ref_hash=tombstone,
            customer_ref_masked=ERASED,
            name=None,
            job=None,
            birthday=None,
            tags=[],
            preferred_categories=[],
            spending_power=None,
            spending_power_derived=None,
            # What the shopper did (derived from their orders and clicks) and the link that brought
            # them go too: the nightly derivation skips erased rows, so nothing fills them again.
            last_purchase_at=None,
            last_click_at=None,
            derived_at=None,
            source_link_id=None,
            erased_at=at,
            updated_at=at,
        ),
    }
    cancel_pending(session, ids, SkipReason.OPTED_OUT)
    counts: dict[str, int] = {"audit_entries": audited}
    for kind, statement in statements.items():  # customers last: the others find them by the hash
        result = session.execute(statement.execution_options(synchronize_session=False))
        counts[kind] = int(getattr(result, "rowcount", 0) or 0)
    return counts

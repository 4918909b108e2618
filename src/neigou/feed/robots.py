"""A group's WeCom robot: the URL the group's posts are delivered to, sealed at rest (it carries the
robot's key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.feed.models import GroupRobot
from neigou.kit.actor import Actor
from neigou.kit.db import row_to_put
from neigou.kit.sealed import Sealer


def set_robot(
    session: Session, *, group_id: int, webhook_url: str | None, sealer: Sealer, actor: Actor, at: datetime
) -> None:
    """Set, replace or (None) remove a group's robot; the URL is stored sealed and the key is never
    written to the audit log."""
    if webhook_url is None:
        gone = session.get(GroupRobot, group_id, with_for_update=True, populate_existing=True)
        before = {"configured": gone is not None}
        if gone is not None:
            session.delete(gone)
    else:
        sealed = sealer.seal(webhook_url)
        fresh = {"group_id": group_id, "webhook_url_sealed": sealed, "updated_at": at}
        row, created = row_to_put(session, GroupRobot, fresh, key=["group_id"])
        before = {"configured": not created}
        row.webhook_url_sealed, row.updated_at = sealed, at
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="group.robot",
        entity="group",
        entity_id=group_id,
        before=before,
        after={"configured": webhook_url is not None},
        at=at,
    )

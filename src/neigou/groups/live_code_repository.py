"""Queries of live codes (one public QR code rotating over an owner's groups): every read is one
statement."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neigou.groups.models import LiveCode, LiveCodeAlert, LiveCodeGroup, RobotAlertStatus
from neigou.kit.attempts import due_for_retry
from neigou.kit.paging import Page, Paged, paginate
from neigou.programs.repository import of_live_organization


def get_live_code_by_code(session: Session, code: str) -> LiveCode | None:
    """A live code by its public code."""
    return session.scalar(select(LiveCode).where(LiveCode.code == code))


def live_code_groups(session: Session, live_code_ids: Collection[int]) -> dict[int, list[LiveCodeGroup]]:
    """Each live code's groups in rotation order (one query; images stay unloaded)."""
    found: dict[int, list[LiveCodeGroup]] = {i: [] for i in live_code_ids}
    if not live_code_ids:
        return found
    for row in session.scalars(
        select(LiveCodeGroup)
        .where(LiveCodeGroup.live_code_id.in_(sorted(live_code_ids)))
        .order_by(LiveCodeGroup.live_code_id, LiveCodeGroup.position)
    ):
        found[row.live_code_id].append(row)
    return found


def page_live_codes(session: Session, page: Page, *, owner_member_id: int) -> Paged[LiveCode]:
    """A page of an owner's live codes, newest first, and their number."""
    stmt = select(LiveCode).where(LiveCode.owner_member_id == owner_member_id).order_by(LiveCode.id.desc())
    return paginate(session, stmt, page)


def live_codes_of_owner(session: Session, owner_member_id: int) -> list[LiveCode]:
    """An owner's live codes, newest first."""
    return list(
        session.scalars(
            select(LiveCode).where(LiveCode.owner_member_id == owner_member_id).order_by(LiveCode.id.desc())
        )
    )


def latest_alerts(session: Session, live_code_ids: Collection[int]) -> dict[int, LiveCodeAlert]:
    """The latest "all groups full" alert of each of these live codes that has one."""
    if not live_code_ids:
        return {}
    latest = (
        select(func.max(LiveCodeAlert.id))
        .where(LiveCodeAlert.live_code_id.in_(live_code_ids))
        .group_by(LiveCodeAlert.live_code_id)
    )
    return {
        a.live_code_id: a for a in session.scalars(select(LiveCodeAlert).where(LiveCodeAlert.id.in_(latest)))
    }


def robot_alerts_due(session: Session, at: datetime, *, limit: int) -> list[LiveCodeAlert]:
    """Alerts whose robot message failed and whose backoff has passed, or whose first attempt's queued
    job was lost (``kit.attempts.FIRST_ATTEMPT_GRACE``), oldest first."""
    return list(
        session.scalars(
            select(LiveCodeAlert)
            .where(
                LiveCodeAlert.robot_status == RobotAlertStatus.PENDING,
                due_for_retry(LiveCodeAlert.robot_attempts, LiveCodeAlert.robot_next_attempt_at, at),
                LiveCodeAlert.live_code_id.in_(
                    select(LiveCode.id).where(of_live_organization(LiveCode.program_id))
                ),
            )
            .order_by(LiveCodeAlert.robot_next_attempt_at, LiveCodeAlert.id)
            .limit(limit)
        )
    )


def live_code_qr(session: Session, live_code_id: int, group_id: int) -> tuple[bytes, str] | None:
    """The uploaded join QR image of a group of a live code, with its content type."""
    row = session.execute(
        select(LiveCodeGroup.qr_image, LiveCodeGroup.qr_content_type).where(
            LiveCodeGroup.live_code_id == live_code_id, LiveCodeGroup.group_id == group_id
        )
    ).first()
    if row is None or row[0] is None or row[1] is None:
        return None
    return bytes(row[0]), str(row[1])

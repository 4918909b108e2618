"""Queries of a program's group alerts and their daily message records (one statement each)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neigou.groups.models import AlertDelivery, GroupAlert


def list_alerts(
    session: Session, program_id: int, alert_date: date, owner_member_id: int | None = None
) -> list[GroupAlert]:
    """A program's alerts for a date (optionally one owner's)."""
    query = (
        select(GroupAlert)
        .where(GroupAlert.program_id == program_id, GroupAlert.alert_date == alert_date)
        .order_by(GroupAlert.kind.desc(), GroupAlert.owner_member_id, GroupAlert.group_id)
    )
    if owner_member_id is not None:
        query = query.where(GroupAlert.owner_member_id == owner_member_id)
    return list(session.scalars(query))


def latest_alert_date(session: Session, program_id: int, on: date) -> date | None:
    """The latest date on or before ``on`` that has alerts for the program."""
    return session.scalar(
        select(func.max(GroupAlert.alert_date)).where(
            GroupAlert.program_id == program_id, GroupAlert.alert_date <= on
        )
    )


def recent_alerts_of_owner(session: Session, owner_member_id: int, *, limit: int = 20) -> list[GroupAlert]:
    """An owner's latest alerts, newest date first."""
    return list(
        session.scalars(
            select(GroupAlert)
            .where(GroupAlert.owner_member_id == owner_member_id)
            .order_by(GroupAlert.alert_date.desc(), GroupAlert.id)
            .limit(limit)
        )
    )


def get_delivery(session: Session, program_id: int, alert_date: date) -> AlertDelivery | None:
    """The alert message record of a program and date."""
    return session.scalar(
        select(AlertDelivery).where(
            AlertDelivery.program_id == program_id, AlertDelivery.alert_date == alert_date
        )
    )

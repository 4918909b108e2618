"""API views of the compliance report (shared by the API and the pages that embed it)."""

from __future__ import annotations

from neigou.groups.compliance import Compliance, Standing
from neigou.groups.forecast import Projection
from neigou.groups.models import GroupPlatform
from neigou.groups.schemas import (
    CheckpointOut,
    ComplianceOut,
    ComplianceSummaryOut,
    ForecastOut,
    GroupStandingOut,
    OwnerSummaryOut,
)


def forecast_out(projection: Projection | None) -> ForecastOut | None:
    """The API view of a forecast."""
    if projection is None:
        return None
    return ForecastOut(
        date=projection.on,
        required=projection.required,
        projected=projection.projected,
        short_by=projection.short_by,
        at_risk=projection.at_risk,
        pace_per_week=projection.pace_per_week,
    )


def standing_out(standing: Standing) -> GroupStandingOut:
    """The API view of one group's standing."""
    return GroupStandingOut(
        group_id=standing.group_id,
        name=standing.name,
        platform=GroupPlatform(standing.platform),
        owner_member_id=standing.owner_member_id,
        owner_name=standing.owner_name,
        required=standing.required,
        actual=standing.actual,
        observed_at=standing.observed_at,
        met=standing.met,
        forecast=forecast_out(standing.forecast),
    )


def compliance_out(report: Compliance) -> ComplianceOut:
    """The API view of a compliance report."""
    groups = report.groups
    return ComplianceOut(
        program_id=report.program_id,
        date=report.on,
        timezone=report.timezone,
        required=report.required,
        checkpoint=CheckpointOut(date=report.checkpoint[0], required=report.checkpoint[1])
        if report.checkpoint
        else None,
        groups=[standing_out(s) for s in groups],
        owners=[
            OwnerSummaryOut(
                owner_member_id=o.owner_member_id,
                owner_name=o.owner_name,
                groups=o.groups,
                met=o.met,
                missed=o.missed,
                at_risk=o.at_risk,
                members=o.members,
            )
            for o in report.owners
        ],
        at_risk=[s.group_id for s in report.at_risk],
        summary=ComplianceSummaryOut(
            groups=len(groups),
            met=sum(1 for s in groups if s.met),
            missed=sum(1 for s in groups if not s.met),
            without_count=sum(1 for s in groups if s.actual is None),
            at_risk=len(report.at_risk),
            members=sum(s.actual or 0 for s in groups),
        ),
    )

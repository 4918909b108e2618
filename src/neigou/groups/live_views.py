"""Live codes as the API and the workspace show them: groups, latest counts, scans (a few queries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.groups import live_code_repository as live_repo
from neigou.groups import repository as repo
from neigou.groups import scan_counts
from neigou.groups.live_codes import routes_into
from neigou.groups.models import LiveCode, LiveCodeAlert, RobotAlertStatus
from neigou.groups.schemas import LiveCodeGroupOut, LiveCodeOut, LiveCodeRobotAlertOut
from neigou.kit.settings import settings_of


def live_url(base_url: str, code: str) -> str:
    """The public stable link of a live code."""
    return f"{base_url.rstrip('/')}/g/{code}"


def live_codes_out(
    session: Session, codes: list[LiveCode], *, base_url: str, at: datetime
) -> list[LiveCodeOut]:
    """Views of these live codes with each group's latest count at ``at``. Only the groups a code still
    sends visitors to are shown (``live_codes.routes_into``: active and still the code owner's): an
    archived group, or one handed over to another member (whose name and count are theirs now), is
    left out, as a scan passes it over, and ``all_full`` is judged over those shown."""
    rows = live_repo.live_code_groups(session, [c.id for c in codes])
    group_ids = {r.group_id for group_rows in rows.values() for r in group_rows}
    found = {g.id: g for g in repo.groups_by_id(session, group_ids)}
    counts = repo.latest_counts(session, before=at, group_ids=group_ids)
    alerts = live_repo.latest_alerts(session, [c.id for c in codes])
    # Scans counted since the last flush, under the serving app's settings (where the scans were counted).
    unflushed = scan_counts.pending(settings_of(session))
    out = []
    for live in codes:
        groups = [
            LiveCodeGroupOut(
                group_id=r.group_id,
                name=found[r.group_id].name,
                latest_count=counts[r.group_id][0] if r.group_id in counts else None,
                full=counts.get(r.group_id, (0, at))[0] >= live.capacity,
                scans=r.scans + unflushed.get(scan_counts.group_field(r.id), 0),
                has_qr=r.qr_content_type is not None,
            )
            for r in rows[live.id]
            if r.group_id in found and routes_into(live, found[r.group_id])
        ]
        out.append(
            LiveCodeOut(
                id=live.id,
                code=live.code,
                url=live_url(base_url, live.code),
                owner_member_id=live.owner_member_id,
                capacity=live.capacity,
                all_full=all(g.full for g in groups),
                full_since=live.full_since,
                full_scans=live.full_scans + unflushed.get(scan_counts.full_field(live.id), 0),
                groups=groups,
                robot_alert=robot_alert_out(alerts.get(live.id)),
            )
        )
    return out


def robot_alert_out(alert: LiveCodeAlert | None) -> LiveCodeRobotAlertOut | None:
    """The robot message of an alert; None without one (or made before robot messages had a state)."""
    if alert is None or alert.robot_status is None:
        return None
    return LiveCodeRobotAlertOut(
        alert_id=alert.id,
        full_since=alert.full_since,
        status=alert.robot_status,
        attempts=alert.robot_attempts,
        next_attempt_at=alert.robot_next_attempt_at,
        # A pending message's ``robot_sent_at`` is when a run began sending it (``feed.full_alerts``).
        sent_at=alert.robot_sent_at if alert.robot_status is RobotAlertStatus.SENT else None,
        detail=alert.robot_detail,
    )

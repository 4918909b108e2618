"""A group live code whose groups are all full alerts its owner through a group robot.

``groups.live_codes`` announces ``group.live_code_full`` once per full spell; the listener here defers
a job (keyed by the alert, so a redelivered job sends nothing twice) that posts one markdown message
through the WeCom robot of the code's first group, in rotation order, that has one. The owner sits in
that group; the program's integrations get the same event as an outbound webhook
(``integrations.events``). A code none of whose groups has a robot is alerted in the app only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.orm import Session

from neigou.feed import repository as repo
from neigou.groups import repository as groups
from neigou.groups.live_codes import LIVE_CODE_FULL
from neigou.groups.webhook import Outcome, fit, send_markdown
from neigou.kit import jobs
from neigou.kit.events import Event, listen

ALERT_JOB = "feed.live_code_full"
log = structlog.get_logger(__name__)


@listen(LIVE_CODE_FULL)
def queue_robot_alert(session: Session, event: Event) -> None:
    """Send the alert after the scan's commit."""
    jobs.defer(session, ALERT_JOB, key=f"live-code-full:{event.data['alert_id']}", payload=event.data)


@jobs.job(ALERT_JOB)
def robot_alert_job(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """Post the alert through the first robot of the code's groups."""
    outcome = send_robot_alert(session, payload, at=at)
    if outcome is not None and not outcome.ok:
        log.warning("live_code_full.robot_refused", live_code=payload["live_code"], detail=outcome.detail)


def send_robot_alert(
    session: Session, payload: dict[str, Any], *, at: datetime, transport: httpx.BaseTransport | None = None
) -> Outcome | None:
    """Post the alert of ``payload`` (the event's data); None when no group of the code has a robot."""
    order = [int(g["group_id"]) for g in payload["groups"]]
    robots = repo.robots(session, order)
    first = next((g for g in order if g in robots), None)
    if first is None:
        return None
    return send_markdown(
        robots[first].webhook_url, message(session, payload), secret=None, at=at, transport=transport
    )


def message(session: Session, payload: dict[str, Any]) -> str:
    """The robot's markdown: the code, the capacity and each group's latest count."""
    names = {
        g.id: g.name for g in groups.groups_by_id(session, [int(g["group_id"]) for g in payload["groups"]])
    }
    head = [
        f"**活码 {payload['live_code']} 的群都满了**",
        f"每群上限 {payload['capacity']} 人，新访客已看到满群提示。请新建一个群，加入活码并上传它的群二维码。",
    ]
    lines = [
        f"> {names.get(int(g['group_id']), '#' + str(g['group_id']))}：{g['members']} 人"
        for g in payload["groups"]
    ]
    return fit([*head, *lines], more="…另有 {n} 个群")

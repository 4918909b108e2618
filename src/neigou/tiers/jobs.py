"""The monthly evaluation, scheduled: each program's previous month once it is over locally.

Every hour ``tiers.evaluation_tick`` looks at each program; once the program's local clock is past
``GRACE_HOURS`` into a new month (late order reports get that long), it queues the previous month's
evaluation under the key ``tiers.evaluate:{program}:{period}``, so each period is evaluated once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session

from neigou.kit import jobs
from neigou.kit.actor import SYSTEM
from neigou.kit.errors import ProblemError
from neigou.programs import repository as programs
from neigou.tiers import repository as repo
from neigou.tiers.periods import period_of
from neigou.tiers.service import evaluate

log = structlog.get_logger(__name__)
TICK_JOB = "tiers.evaluation_tick"
EVALUATE_JOB = "tiers.evaluate_period"
GRACE_HOURS = 2


def evaluation_key(program_id: int, period: str) -> str:
    """The job key of a program's period: one evaluation per program and month."""
    return f"tiers.evaluate:{program_id}:{period}"


@jobs.job(TICK_JOB, cron={"minute": "23"})
def evaluation_tick(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Queue last month's evaluation of every program whose new month is under way."""
    for program in programs.list_programs(session):
        local = at.astimezone(ZoneInfo(program.timezone))
        if local.day == 1 and local.hour < GRACE_HOURS:
            continue
        period = str(period_of(at, program.timezone).previous())
        if repo.get_evaluation(session, program.id, period) is None:
            jobs.defer(
                session,
                EVALUATE_JOB,
                key=evaluation_key(program.id, period),
                payload={"program_id": program.id, "period": period},
            )


@jobs.job(EVALUATE_JOB)
def evaluate_period(session: Session, payload: dict[str, Any], at: datetime) -> None:
    """Evaluate one program's period as the scheduler."""
    try:
        with session.begin_nested():
            evaluate(
                session,
                program_id=int(payload["program_id"]),
                period_text=str(payload["period"]),
                dry_run=False,
                actor=SYSTEM,
                at=at,
            )
    except ProblemError as exc:
        # A refusal (an earlier month after a later one, a deleted program) will not heal on retry.
        log.warning("tiers.evaluation.refused", program_id=payload.get("program_id"), problem=exc.code)

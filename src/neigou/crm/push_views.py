"""API views of pushes and settings: rows joined with link codes and figures."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from neigou.crm import push_engagement as engagement
from neigou.crm import push_queries as repo
from neigou.crm.models import Push, PushMessage
from neigou.crm.push_schemas import (
    MessageOut,
    MessageReportOut,
    PushOut,
    PushReportOut,
    PushSummaryOut,
    SettingsOut,
    SkipOut,
)
from neigou.crm.push_settings import PushSettings
from neigou.crm.pushes import MadePush


def message_out(message: PushMessage, code: str) -> MessageOut:
    """One message as the API shows it."""
    return MessageOut(
        id=message.id,
        customer_id=message.customer_id,
        sku=message.sku,
        text=message.text,
        link_code=code,
        send_at=message.send_at,
        status=message.status,
        sent_at=message.sent_at,
        attempts=message.attempts,
        last_error=message.last_error,
        sent_via=message.sent_via,
        sent_via_group_id=message.sent_via_group_id,
    )


def push_out(made: MadePush) -> PushOut:
    """A push as written."""
    push = made.push
    return PushOut(
        id=push.id,
        program_id=push.program_id,
        member_id=push.member_id,
        channel=push.channel,
        skus=list(push.skus),
        segment_id=push.segment_id,
        created_at=push.created_at,
        messages=[message_out(m, made.codes[m.id]) for m in made.messages],
        skipped=[SkipOut(customer_id=s.customer_id, reason=s.reason) for s in made.skips],
    )


def push_report(session: Session, made: MadePush) -> PushReportOut:
    """A push with its figures, message by message."""
    figures = engagement.message_figures(session, made.messages)
    whole = engagement.total(list(figures.values()))
    push = made.push
    return PushReportOut(
        id=push.id,
        program_id=push.program_id,
        member_id=push.member_id,
        channel=push.channel,
        skus=list(push.skus),
        created_at=push.created_at,
        messages=[
            MessageReportOut(
                **message_out(m, made.codes[m.id]).model_dump(),
                clicks=figures[m.id].clicks,
                claims=figures[m.id].claims,
                orders=figures[m.id].orders,
                gmv_fen=figures[m.id].gmv_fen,
            )
            for m in made.messages
        ],
        skipped=[SkipOut(customer_id=s.customer_id, reason=s.reason) for s in made.skips],
        sent=whole.sent,
        clicks=whole.clicks,
        claims=whole.claims,
        orders=whole.orders,
        gmv_fen=whole.gmv_fen,
    )


def push_summaries(session: Session, found: Sequence[Push]) -> list[PushSummaryOut]:
    """A page of pushes with their figures (a few grouped queries for the page)."""
    messages = repo.messages_of(session, [p.id for p in found])
    figures = engagement.message_figures(session, [m for ms in messages.values() for m in ms])
    skipped = repo.skip_counts(session, [p.id for p in found])
    out = []
    for push in found:
        whole = engagement.total([figures[m.id] for m in messages[push.id]])
        out.append(
            PushSummaryOut(
                id=push.id,
                member_id=push.member_id,
                channel=push.channel,
                skus=list(push.skus),
                created_at=push.created_at,
                skipped=skipped.get(push.id, 0),
                **whole.__dict__,
            )
        )
    return out


def settings_out(found: PushSettings, webhook_secret: str | None = None) -> SettingsOut:
    """The settings with the target masked."""
    return SettingsOut(
        program_id=found.program_id,
        channel=found.channel,
        cap_pushes=found.cap.pushes,
        cap_days=found.cap.days,
        quiet_start=found.quiet.start,
        quiet_end=found.quiet.end,
        target_masked=found.target_masked,
        webhook_secret=webhook_secret,
    )

"""The robot's markdown of a program's daily group-target alert (``groups.alerts``)."""

from __future__ import annotations

from datetime import date

from neigou.groups import webhook
from neigou.groups.compliance import Compliance
from neigou.programs.models import Program


def _day(on: date) -> str:
    return f"{on.month}月{on.day}日"


def message(program: Program, report: Compliance) -> str:
    """The robot's markdown: who missed the day's target, who will miss the next checkpoint."""
    missed = [s for s in report.missed if s.required is not None]
    at_risk = report.at_risk
    head = [
        f"## 群目标提醒 · {program.name}",
        f"{_day(report.on)}要求 **{report.required}** 人" if report.required is not None else _day(report.on),
        f'<font color="warning">未达标 {len(missed)} 个群</font>'
        + (
            f"，按当前速度{_day(report.checkpoint[0])}将有 {len(at_risk)} 个群达不到 {report.checkpoint[1]} 人"
            if report.checkpoint is not None and at_risk
            else ""
        ),
    ]
    lines: list[str] = []
    if missed:
        lines.append("**未达标**")
        lines.extend(
            f"> {s.owner_name} · {s.name}：要求 {s.required}，"
            + (
                f"实际 {s.actual}，差 {(s.required or 0) - s.actual}"
                if s.actual is not None
                else "未上报人数"
            )
            for s in missed
        )
    if at_risk:
        lines.append("**按当前速度将未达标**")
        lines.extend(
            f"> {s.owner_name} · {s.name}：{_day(s.forecast.on)}预计 {s.forecast.projected}，"
            f"差 {s.forecast.short_by}"
            for s in at_risk
            if s.forecast is not None
        )
    return webhook.fit([*head, *lines], more="…另有 {n} 条，请在后台查看")

"""The ward board: per bed, in bed order, who is there and what needs doing.

Built from the ward's due list (the census and what is due) and one query per kind of fact for
the whole ward (open escalations, allergies, risk flags), plus each patient's two newest NEWS2
scores (the latest and its trend) from one indexed look-up per patient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from wardcare.domain.actor import Actor
from wardcare.domain.schedule import DueState
from wardcare.services import due_list
from wardcare.services.context import AppContext
from wardcare.services.patient_summaries import (
    Allergy,
    Escalation,
    News2Score,
    RiskFlag,
    allergies,
    latest_news2,
    open_escalations,
    risk_flags,
)
from wardcare.services.ward_census import Bed, Ward

TREND_WINDOW = timedelta(hours=24)


class Trend(StrEnum):
    WORSE = "worse"
    BETTER = "better"
    SAME = "same"
    NONE = "none"  # fewer than two scores within TREND_WINDOW


@dataclass(frozen=True)
class BoardRow:
    bed: Bed
    news2: News2Score | None
    trend: Trend
    news2_due: due_list.DueItem | None
    other_due: list[due_list.DueItem]  # other assessments due now or overdue
    escalations: list[Escalation]
    flags: list[RiskFlag]
    allergies: list[Allergy]


@dataclass(frozen=True)
class WardBoard:
    ward: Ward
    rows: list[BoardRow]
    unbedded: int
    generated_at: datetime

    @property
    def occupied(self) -> int:
        return sum(1 for r in self.rows if r.bed.patient)


def _trend(scores: list[News2Score]) -> Trend:
    """The latest NEWS2 against the one before it, when both are within TREND_WINDOW."""
    if len(scores) < 2 or scores[-1].at - scores[-2].at > TREND_WINDOW:
        return Trend.NONE
    last, before = scores[-1].total, scores[-2].total
    if last > before:
        return Trend.WORSE
    if last < before:
        return Trend.BETTER
    return Trend.SAME


def ward_board(ctx: AppContext, *, actor: Actor, ward_code: str) -> WardBoard:
    due = due_list.ward_due(ctx, actor=actor, ward_code=ward_code)
    patient_ids = [b.bed.patient["id"] for b in due.beds if b.bed.patient]
    with ctx.uow.read() as tx:
        scores = latest_news2(tx, patient_ids)
        tasks = open_escalations(tx, ctx, patient_ids)
        allergy_lists = allergies(tx, ctx, patient_ids)
        flags = risk_flags(tx, ctx, patient_ids)
    rows = []
    for entry in due.beds:
        patient = entry.bed.patient
        if patient is None:
            rows.append(BoardRow(entry.bed, None, Trend.NONE, None, [], [], [], []))
            continue
        pid = patient["id"]
        news2_due = next((i for i in entry.items if i.template.template.engine == "news2"), None)
        others = [
            i
            for i in entry.items
            if i is not news2_due and i.due.state in (DueState.DUE, DueState.OVERDUE)
        ]
        recent = scores.get(pid, [])
        latest = recent[-1] if recent else None
        rows.append(
            BoardRow(
                bed=entry.bed,
                news2=latest,
                trend=_trend(recent),
                news2_due=news2_due,
                other_due=others,
                escalations=tasks.get(pid, []),
                flags=flags.get(pid, []),
                allergies=allergy_lists.get(pid, []),
            )
        )
    return WardBoard(due.census.ward, rows, len(due.census.unbedded), due.generated_at)

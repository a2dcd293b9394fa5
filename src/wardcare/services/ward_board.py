"""The ward board: per bed, in bed order, who is there and what needs doing.

Built from the ward's due list (which also holds the census and each patient's latest NEWS2)
and one query per kind of fact for the whole ward: NEWS2 scores of the last 24 hours (for the
trend), open escalations, allergies and risk flags.
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
    news2_scores,
    open_escalations,
    risk_flags,
)
from wardcare.services.ward_census import Bed, Ward

TREND_WINDOW = timedelta(hours=24)


class Trend(StrEnum):
    WORSE = "worse"
    BETTER = "better"
    SAME = "same"
    NONE = "none"  # fewer than two scores in the last 24 hours


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
    if len(scores) < 2:
        return Trend.NONE
    last, before = scores[-1].total, scores[-2].total
    if last > before:
        return Trend.WORSE
    if last < before:
        return Trend.BETTER
    return Trend.SAME


def _older_score(item: due_list.DueItem | None) -> News2Score | None:
    """A last NEWS2 from before the trend window: still shown, with its time, so a stale score
    is visible as stale rather than missing."""
    if item is None or item.last_at is None or item.last_total is None:
        return None
    return News2Score(item.last_at, item.last_total, item.last_band or "", {}, "")


def ward_board(ctx: AppContext, *, actor: Actor, ward_code: str) -> WardBoard:
    due = due_list.ward_due(ctx, actor=actor, ward_code=ward_code)
    patient_ids = [b.bed.patient["id"] for b in due.beds if b.bed.patient]
    with ctx.uow.read() as tx:
        scores = news2_scores(tx, ctx, patient_ids, since=due.generated_at - TREND_WINDOW)
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
        latest = recent[-1] if recent else _older_score(news2_due)
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

"""What a handover document shows, already in the words and numbers it prints.

Built by the services from one snapshot of the record; rendered by `handover/rendering.py`.
Every field is final text or a number: the templates decide layout, never meaning. Missing data
is explicit ("none recorded"), never an empty string or a zero that could read as a score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wardcare.domain.news2_chart import ChartGeometry
from wardcare.domain.news2_colours import Swatch
from wardcare.domain.sparkline import Sparkline

NONE_RECORDED = "none recorded"


@dataclass(frozen=True)
class News2Summary:
    total: int | None  # None: no NEWS2 recorded (printed as NONE_RECORDED, never 0)
    band_words: str  # "LOW", "MEDIUM"... printed beside the colour
    swatch: Swatch
    taken: str  # local time of the score, or NONE_RECORDED
    response: str = ""  # RCP clinical response for the band
    sparkline: Sparkline | None = None
    incomplete: str | None = None  # a newer set that did not complete


@dataclass(frozen=True)
class DueLine:
    text: str  # "NEWS2 overdue by 1 h 20 min", "Falls assessment due 14:00"
    overdue: bool


@dataclass(frozen=True)
class RiskFlag:
    area: str  # "Falls", "Pressure", "Nutrition"
    text: str  # "HIGH RISK (score 5, 01 Dec)" or NONE_RECORDED
    raised: bool  # at risk: printed in bold with a marker, not only a colour


@dataclass(frozen=True)
class CareProblem:
    title: str
    detail: str = ""
    overdue: tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    priority: str  # "URGENT", "STAT"
    text: str
    raised: str  # local time
    status: str = "open"


@dataclass(frozen=True)
class SbarNote:
    situation: str
    background: str
    assessment: str
    recommendation: str
    author: str
    written: str  # local time
    version: int
    acknowledged: str | None = None  # "by Jo Bloggs at 07:45", or None


@dataclass(frozen=True)
class PatientIdentity:
    name: str
    age: str  # "84 y" or NONE_RECORDED
    sex: str
    nhs_number: str  # 3-3-4, or NONE_RECORDED
    birth_date: str
    stay: str  # "3 days since admission"
    admitted: str  # local date and time
    admitting_problem: str
    allergies: tuple[str, ...]  # ("Penicillin (anaphylaxis)",) or (NONE_RECORDED,)
    allergy_alert: bool  # a true allergy is recorded (not NKDA, not none recorded)


@dataclass(frozen=True)
class BedBlock:
    bed: str  # "Bay 2 Bed 5"
    patient: PatientIdentity | None  # None: an empty bed
    news2: News2Summary | None = None
    due: tuple[DueLine, ...] = ()
    flags: tuple[RiskFlag, ...] = ()
    care: tuple[CareProblem, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    note: SbarNote | None = None


@dataclass(frozen=True)
class DocumentHeader:
    title: str
    ward: str  # "Ward 7 (Acute Medicine) (WARD7)"
    ward_code: str
    shift: str
    printed_by: str
    data_time: str  # local time the record was read
    printed_on: str  # local date, for the confidential line on every page


@dataclass(frozen=True)
class WardSheet:
    header: DocumentHeader
    beds: tuple[BedBlock, ...]
    unbedded: tuple[BedBlock, ...] = ()

    @property
    def occupied(self) -> int:
        return sum(1 for b in self.beds if b.patient) + len(self.unbedded)


@dataclass(frozen=True)
class AssessmentLine:
    title: str
    result: str  # "3 MEDIUM RISK" or NONE_RECORDED
    taken: str
    due: str = ""


@dataclass(frozen=True)
class PatientHandover:
    header: DocumentHeader
    bed: BedBlock  # identity, NEWS2, flags, care, escalations, note as on the ward sheet
    background: tuple[str, ...] = ()  # other active conditions
    assessments: tuple[AssessmentLine, ...] = ()
    chart: ChartGeometry | None = None
    chart_sets: int = 0
    chart_scale: int = 1
    recent_escalations: tuple[Escalation, ...] = field(default=())

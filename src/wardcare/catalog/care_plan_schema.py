"""The shape of a care-plan template in care_templates/care_plans/*.yaml.

Checked when WardCare starts, like the assessments (`catalog/template_schema.py`): an unknown
field, a missing one or a wrong type stops start-up with the file and field named. A care plan is
a problem, goals with measurable targets and review intervals, and interventions with their
timing (care_templates/README.md, "Care plans").
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from wardcare.catalog.template_schema import Coding, _Strict, parse_duration

CARE_PLANNING_SYSTEM = "http://wardcare.org/fhir/CodeSystem/care-planning"
_ID = r"^[a-z0-9][a-z0-9-]*$"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Timing(_Strict):
    """Exactly one of: every (a rolling interval after the last time it was documented), perShift
    (once in each 07:30-19:30 / 19:30-07:30 shift), at (ward-clock times each day), once (a
    one-off within this long of the plan starting) or asNeeded (documented when done, never
    due)."""

    every: str | None = None
    per_shift: bool = Field(False, alias="perShift")
    at: list[str] = Field(default_factory=list)
    once: str | None = None
    as_needed: bool = Field(False, alias="asNeeded")

    @field_validator("every", "once")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value).total_seconds() <= 0:
            raise ValueError("an interval must be longer than zero")
        return value

    @field_validator("at")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        for text in value:
            if not _CLOCK.match(text):
                raise ValueError(f"{text!r} is not a 24-hour clock time such as 08:00")
        if len(set(value)) != len(value):
            raise ValueError("a time is listed twice")
        return sorted(value)

    @model_validator(mode="after")
    def _one_kind(self) -> Timing:
        given = [
            self.every is not None,
            self.per_shift,
            bool(self.at),
            self.once is not None,
            self.as_needed,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of every, perShift, at, once or asNeeded")
        return self


class Target(_Strict):
    """A measurable target: a number (`comparator` `value` `unit`) or a stated finding
    (`detail`), for the `measure` named."""

    measure: Coding
    detail: str | None = None
    comparator: Literal["<", "<=", ">=", ">"] | None = None
    value: float | None = None
    unit: str | None = None  # UCUM

    @model_validator(mode="after")
    def _one_kind(self) -> Target:
        if (self.detail is None) == (self.value is None):
            raise ValueError("a target is either a `value` (with unit) or a `detail`, not both")
        if self.value is not None and self.unit is None:
            raise ValueError("a numeric target needs its UCUM `unit`")
        return self


class Goal(_Strict):
    id: str = Field(pattern=_ID)
    description: str
    target: Target
    # How often the goal is evaluated (whole days: nursing goals are reviewed daily or weekly).
    review_every: str = Field(alias="reviewEvery")
    # How the nurse judges met / partly met / not met.
    evaluation: str

    @field_validator("review_every")
    @classmethod
    def _whole_days(cls, value: str) -> str:
        interval = parse_duration(value)
        if interval.days < 1 or interval.seconds or interval.microseconds:
            raise ValueError(f"{value!r}: a review interval is whole days, such as P1D or P7D")
        return value


class Intervention(_Strict):
    id: str = Field(pattern=_ID)
    title: str
    description: str
    timing: Timing
    # `when-triggered`: only when an assessment trigger asks for it (e.g. falls risk factors).
    include: Literal["always", "when-triggered"] = "always"
    rationale: str | None = None

    def code(self, plan_id: str) -> Coding:
        return Coding(system=CARE_PLANNING_SYSTEM, code=f"{plan_id}.{self.id}", display=self.title)


class Problem(_Strict):
    code: Coding
    text: str


class CarePlanTemplate(_Strict):
    id: str = Field(pattern=_ID)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: str
    status: Literal["draft", "active", "retired"] = "active"
    description: str
    source: str
    licence: str
    publisher: str = "WardCare"
    problem: Problem
    goals: list[Goal] = Field(min_length=1)
    interventions: list[Intervention] = Field(min_length=1)
    evaluation_criteria: list[str] = Field(alias="evaluationCriteria", min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CarePlanTemplate:
        for kind, ids in (
            ("goal", [g.id for g in self.goals]),
            ("intervention", [i.id for i in self.interventions]),
        ):
            duplicates = sorted({x for x in ids if ids.count(x) > 1})
            if duplicates:
                raise ValueError(f"{kind} ids must be unique: {duplicates}")
        return self

    @property
    def url(self) -> str:
        return f"http://wardcare.org/fhir/PlanDefinition/{self.id}"

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    def activity_url(self, intervention: Intervention) -> str:
        return f"http://wardcare.org/fhir/ActivityDefinition/{self.id}.{intervention.id}"

    def intervention(self, intervention_id: str) -> Intervention | None:
        return next((i for i in self.interventions if i.id == intervention_id), None)

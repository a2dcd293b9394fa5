"""The shape of an assessment template in care_templates/assessments/*.yaml.

Every field is checked when WardCare starts (`wardcare templates check` runs the same checks):
an unknown field, a missing one or a wrong type stops start-up with the file and field named.
See care_templates/README.md for a field-by-field guide.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


def parse_duration(value: str) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours and minutes (P7D, PT4H, P1DT12H)."""
    match = _DURATION.match(value)
    if not match or value in ("P", "PT"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration such as P7D or PT4H")
    weeks, days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Coding(_Strict):
    system: str
    code: str
    display: str | None = None


class AnswerOption(_Strict):
    code: str
    display: str
    points: int | None = None
    system: str | None = None  # defaults to the template's own CodeSystem


class ScoreBand(_Strict):
    points: int
    below: float | None = None
    up_to: float | None = Field(None, alias="upTo")


class EnableWhen(_Strict):
    question: str
    answer: bool | int | float | str


class Item(_Strict):
    link_id: str = Field(alias="linkId", pattern=r"^[a-z0-9][a-z0-9-]*$")
    text: str
    type: Literal["boolean", "integer", "decimal", "choice", "string"]
    code: Coding | None = None
    required: bool = False
    unit: Coding | None = None
    min: float | None = None
    max: float | None = None
    help: str | None = None
    answers: list[AnswerOption] = []
    score_bands: list[ScoreBand] = Field([], alias="scoreBands")
    points_if_true: int | None = Field(None, alias="pointsIfTrue")
    enable_when: EnableWhen | None = Field(None, alias="enableWhen")
    # FHIRPath for SDC clients that calculate as the nurse types (not evaluated by the server).
    calculated_expression: str | None = Field(None, alias="calculatedExpression")
    # Arithmetic over other answers that the server evaluates when the item is not answered.
    derived_from: str | None = Field(None, alias="derivedFrom")
    # SDC observationExtract: store the answer as its own Observation (the item needs a code).
    extract: bool = False
    # For a fluid chart: whether the volume counts as fluid in or fluid out of the balance.
    balance: Literal["intake", "output"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.type == "choice" and not self.answers:
            raise ValueError(f"choice item {self.link_id!r} needs answers")
        if self.answers and self.type != "choice":
            raise ValueError(f"only a choice item has answers ({self.link_id!r} is {self.type})")
        if self.score_bands and self.type not in ("integer", "decimal"):
            raise ValueError(f"scoreBands need a number item ({self.link_id!r} is {self.type})")
        if self.points_if_true is not None and self.type != "boolean":
            raise ValueError(f"pointsIfTrue needs a boolean item ({self.link_id!r})")
        if self.extract and self.code is None:
            raise ValueError(f"item {self.link_id!r} is extracted, so it needs a code")
        if self.balance and not (self.extract and self.unit and self.unit.code == "mL"):
            raise ValueError(f"balance item {self.link_id!r} must be extracted and in mL")
        if self.type == "integer":
            for name, limit in (("min", self.min), ("max", self.max)):
                if limit is not None and not float(limit).is_integer():
                    raise ValueError(
                        f"{self.link_id!r} is an integer item: its {name} must be a whole "
                        f"number, not {limit:g} (published as the Questionnaire's {name}Value)"
                    )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(
                f"{self.link_id!r}: min {self.min:g} is above max {self.max:g}: "
                "no answer could be accepted"
            )
        return self

    def accepts(self, answer: bool | int | float | str) -> bool:
        """Whether ``answer`` could be an answer to this item (for enableWhen conditions)."""
        if self.type == "boolean":
            return isinstance(answer, bool)
        if self.type in ("integer", "decimal"):
            return isinstance(answer, int | float) and not isinstance(answer, bool)
        if self.type == "choice":
            return isinstance(answer, str) and answer in {a.code for a in self.answers}
        return isinstance(answer, str)


class Band(_Strict):
    code: str
    display: str
    min: int
    max: int | None = None
    meaning: str
    response: str
    priority: Literal["routine", "urgent", "asap", "stat"] | None = None
    recheck: str | None = None

    @field_validator("recheck")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class NextDue(_Strict):
    rule: Literal["news2", "schedule"] = "schedule"
    # Due this long after admission when never done.
    on_admission: str | None = Field(None, alias="onAdmission")
    # Due again this long after the last one (a band's `recheck` overrides it).
    repeat: str | None = None

    @field_validator("on_admission", "repeat")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class Trigger(_Strict):
    plan: str
    when_band: list[str] = Field([], alias="whenBand")
    when_answer: dict[str, bool | int | float | str] = Field({}, alias="whenAnswer")
    interventions: list[str] = []
    reason: str


class ExpectedResult(_Strict):
    total: int | None = None
    band: str | None = None
    missing: list[str] = []
    # NEWS2 only: the single-parameter rule and the SpO2 scale of the patient.
    spo2_scale: Literal[1, 2] = Field(1, alias="spo2Scale")


class Example(_Strict):
    name: str
    answers: dict[str, bool | int | float | str]
    expect: ExpectedResult
    spo2_scale: Literal[1, 2] = Field(1, alias="spo2Scale")


class AssessmentTemplate(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    title: str
    status: Literal["draft", "active", "retired"] = "active"
    description: str
    source: str
    licence: str
    publisher: str = "WardCare"
    kind: Literal["scored", "checklist", "chart"]
    engine: Literal["sum", "news2", "none"] = "sum"
    code: Coding
    total: Coding | None = None
    items: list[Item]
    bands: list[Band] = []
    next_due: NextDue = Field(alias="nextDue")
    care_plan_triggers: list[Trigger] = Field([], alias="carePlanTriggers")
    examples: list[Example] = []

    @model_validator(mode="after")
    def _consistent(self) -> AssessmentTemplate:
        link_ids = [i.link_id for i in self.items]
        duplicates = {x for x in link_ids if link_ids.count(x) > 1}
        if duplicates:
            raise ValueError(f"linkIds must be unique: {sorted(duplicates)}")
        by_id = {i.link_id: i for i in self.items}
        for item in self.items:
            if item.enable_when and item.enable_when.question not in link_ids:
                raise ValueError(
                    f"{item.link_id}: enableWhen names unknown item {item.enable_when.question!r}"
                )
            if item.enable_when and not by_id[item.enable_when.question].accepts(
                item.enable_when.answer
            ):
                # An answer the question can never have: the item would never be asked.
                other = by_id[item.enable_when.question]
                raise ValueError(
                    f"{item.link_id}: enableWhen answer {item.enable_when.answer!r} can never be "
                    f"an answer of {other.link_id} ({other.type})"
                )
        for item in self.items:
            seen = [item.link_id]
            current = item
            while current.enable_when is not None:
                current = by_id[current.enable_when.question]
                if current.link_id in seen:
                    path = " -> ".join([*seen, current.link_id])
                    raise ValueError(f"enableWhen goes round in a circle: {path}")
                seen.append(current.link_id)
        if self.engine == "sum" and self.kind == "scored":
            if not self.bands:
                raise ValueError("a scored template needs bands")
            if self.total is None:
                raise ValueError("a scored template needs `total`: the code of its score")
        if self.engine == "news2" and self.bands:
            raise ValueError("NEWS2 bands come from the RCP chart in the code, not the template")
        band_codes = {b.code for b in self.bands} | (
            {"low", "low-medium", "medium", "high"} if self.engine == "news2" else set()
        )
        for trigger in self.care_plan_triggers:
            for band in trigger.when_band:
                if band not in band_codes:
                    raise ValueError(f"trigger for {trigger.plan!r} names unknown band {band!r}")
            for link_id in trigger.when_answer:
                if link_id not in link_ids:
                    raise ValueError(f"trigger for {trigger.plan!r} names unknown item {link_id!r}")
        for example in self.examples:
            for link_id in example.answers:
                if link_id not in link_ids:
                    raise ValueError(f"example {example.name!r} answers unknown item {link_id!r}")
        return self

    @property
    def url(self) -> str:
        return f"http://wardcare.org/fhir/Questionnaire/{self.id}"

    @property
    def canonical(self) -> str:
        return f"{self.url}|{self.version}"

    @property
    def code_system(self) -> str:
        """The CodeSystem of this template's own answer and band codes."""
        return f"http://wardcare.org/fhir/CodeSystem/{self.id}"

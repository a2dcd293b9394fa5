"""An assessment form from its published FHIR Questionnaire, and the form's answers back into a
QuestionnaireResponse: no Python per template (SDC rendering of item type, unit, min/max,
answerOption, enableWhen and help text).

Field names are the items' linkIds; the screen order is the Questionnaire's item order, which for
NEWS2 is the RCP chart order, so Tab moves down the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wardcare.catalog.questionnaires import MAX_VALUE, MIN_VALUE, UNIT
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_scoring import Answer
from wardcare.fhir.dates import instant


@dataclass(frozen=True)
class Option:
    code: str
    display: str
    system: str


@dataclass(frozen=True)
class Field:
    link_id: str
    text: str
    type: str  # boolean, integer, decimal, choice, string
    required: bool
    unit: str | None  # as displayed: "breaths/min", "%", "°C"
    minimum: float | None
    maximum: float | None
    options: tuple[Option, ...]
    enable_when: tuple[str, str] | None  # (question linkId, answer as the form sends it)
    help: str | None

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "decimal")

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(value sent, words shown) for a yes/no or choice item."""
        if self.type == "boolean":
            return [("true", "Yes"), ("false", "No")]
        return [(o.code, o.display) for o in self.options]

    @property
    def inline(self) -> bool:
        """Short options sit side by side; long ones (a sentence each) one per line."""
        return self.type == "boolean" or all(len(o.display) < 16 for o in self.options)


def fields(questionnaire: dict[str, Any]) -> list[Field]:
    return [_field(item) for item in questionnaire.get("item", []) if item.get("type") != "display"]


def _extension(item: dict[str, Any], url: str) -> dict[str, Any] | None:
    return next((e for e in item.get("extension", ()) if e.get("url") == url), None)


def _number(extension: dict[str, Any] | None) -> float | None:
    if extension is None:
        return None
    value = extension.get("valueInteger", extension.get("valueDecimal"))
    return float(value) if isinstance(value, int | float) else None


def _field(item: dict[str, Any]) -> Field:
    unit = _extension(item, UNIT)
    options = tuple(
        Option(
            o["valueCoding"]["code"],
            o["valueCoding"].get("display", ""),
            o["valueCoding"].get("system", ""),
        )
        for o in item.get("answerOption", ())
        if "valueCoding" in o
    )
    enable = None
    for condition in item.get("enableWhen", ())[:1]:
        for key, value in condition.items():
            if key.startswith("answer"):
                shown = value.get("code") if isinstance(value, dict) else value
                enable = (condition["question"], _form_value(shown))
    help_text = next(
        (i.get("text") for i in item.get("item", ()) if i.get("type") == "display"), None
    )
    return Field(
        link_id=item["linkId"],
        text=item.get("text", item["linkId"]),
        type=item.get("type", "string"),
        required=bool(item.get("required")),
        unit=(unit["valueCoding"].get("display") or unit["valueCoding"].get("code"))
        if unit
        else None,
        minimum=_number(_extension(item, MIN_VALUE)),
        maximum=_number(_extension(item, MAX_VALUE)),
        options=options,
        enable_when=enable,
        help=help_text,
    )


def _form_value(value: object) -> str:
    """How a value travels in the form: booleans as "true"/"false", the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def enabled(field: Field, form: Mapping[str, str]) -> bool:
    if field.enable_when is None:
        return True
    question, answer = field.enable_when
    return form.get(question, "").strip() == answer


def answers_from_form(
    form_fields: list[Field], form: Mapping[str, str]
) -> tuple[dict[str, Answer], dict[str, str]]:
    """The answers a form holds, typed by item; and the fields whose text is not an answer of
    their type, with a message. A hidden (not enabled) item's value is ignored."""
    answers: dict[str, Answer] = {}
    problems: dict[str, str] = {}
    for field in form_fields:
        raw = form.get(field.link_id, "").strip()
        if not raw or not enabled(field, form):
            continue
        if field.type == "boolean":
            if raw in ("true", "false"):
                answers[field.link_id] = raw == "true"
        elif field.numeric:
            try:
                number = float(raw.replace(",", "."))
            except ValueError:
                problems[field.link_id] = f"{field.text}: {raw!r} is not a number"
                continue
            answers[field.link_id] = (
                int(number) if number.is_integer() and "." not in raw else number
            )
        elif field.type == "choice":
            if raw in {o.code for o in field.options}:
                answers[field.link_id] = raw
            else:
                problems[field.link_id] = f"{field.text}: choose one of the options"
        else:
            answers[field.link_id] = raw
    return answers, problems


def questionnaire_response(
    questionnaire: dict[str, Any],
    form_fields: list[Field],
    answers: Mapping[str, Answer],
    *,
    patient_id: str,
    encounter: str | None,
    actor: Actor,
    authored: datetime,
) -> dict[str, Any]:
    """A completed QuestionnaireResponse for the answers, in the Questionnaire's item order."""
    items = []
    for field in form_fields:
        if field.link_id not in answers:
            continue
        items.append(
            {
                "linkId": field.link_id,
                "text": field.text,
                "answer": [_answer(field, answers[field.link_id])],
            }
        )
    author: dict[str, Any] = {"display": actor.display}
    if actor.reference:
        author["reference"] = actor.reference
    response: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": instant(authored),
        "author": author,
        "item": items,
    }
    if encounter:
        response["encounter"] = {"reference": encounter}
    return response


def _answer(field: Field, value: Answer) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if field.type == "choice":
        option = next(o for o in field.options if o.code == value)
        return {
            "valueCoding": {"system": option.system, "code": option.code, "display": option.display}
        }
    if isinstance(value, int):
        return {"valueInteger": value} if field.type == "integer" else {"valueDecimal": value}
    if isinstance(value, float):
        return {"valueDecimal": value}
    return {"valueString": str(value)}

"""Publish an assessment template as a FHIR R4 Questionnaire (Structured Data Capture).

Items carry their LOINC/SNOMED `code` so a client can fill them by code; answer options carry
their points as the `ordinalValue` extension; units, limits, `enableWhen`, SDC
`calculatedExpression` and `observationExtract` are the standard extensions.
"""

from __future__ import annotations

from typing import Any

from wardcare.catalog.template_schema import AssessmentTemplate, Item

UNIT = "http://hl7.org/fhir/StructureDefinition/questionnaire-unit"
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
ORDINAL = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
CALCULATED = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
EXTRACT = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-observationExtract"
HELP = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl"


def questionnaire(template: AssessmentTemplate) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": template.id,
        "url": template.url,
        "version": template.version,
        "name": template.id.replace("-", "_").upper(),
        "title": template.title,
        "status": template.status,
        "subjectType": ["Patient"],
        "publisher": template.publisher,
        "description": f"{template.description}\n\nSource: {template.source}",
        "copyright": template.licence,
        "code": [template.code.model_dump(exclude_none=True)],
        "item": [_item(template, item) for item in template.items],
    }
    return resource


def _item(template: AssessmentTemplate, item: Item) -> dict[str, Any]:
    body: dict[str, Any] = {"linkId": item.link_id, "text": item.text, "type": item.type}
    extensions: list[dict[str, Any]] = []
    if item.code:
        body["code"] = [item.code.model_dump(exclude_none=True)]
    # An item the server derives (BMI from weight and height) is not required of the person
    # filling the form, even when the assessment needs its value.
    if item.required and not item.derived_from:
        body["required"] = True
    if item.unit:
        extensions.append({"url": UNIT, "valueCoding": item.unit.model_dump(exclude_none=True)})
    value_key = "valueInteger" if item.type == "integer" else "valueDecimal"
    if item.min is not None:
        extensions.append({"url": MIN_VALUE, value_key: _number(item.type, item.min)})
    if item.max is not None:
        extensions.append({"url": MAX_VALUE, value_key: _number(item.type, item.max)})
    if item.calculated_expression:
        extensions.append(
            {
                "url": CALCULATED,
                "valueExpression": {
                    "language": "text/fhirpath",
                    "expression": item.calculated_expression,
                },
            }
        )
    if item.extract:
        extensions.append({"url": EXTRACT, "valueBoolean": True})
    if extensions:
        body["extension"] = extensions
    if item.answers:
        body["answerOption"] = [
            {
                "valueCoding": {
                    "system": option.system or template.code_system,
                    "code": option.code,
                    "display": option.display,
                    **(
                        {"extension": [{"url": ORDINAL, "valueDecimal": option.points}]}
                        if option.points is not None
                        else {}
                    ),
                }
            }
            for option in item.answers
        ]
    if item.enable_when:
        body["enableWhen"] = [_enable_when(template, item)]
    if item.help:
        body["item"] = [{"linkId": f"{item.link_id}-help", "text": item.help, "type": "display"}]
    return body


def _number(kind: str, value: float) -> int | float:
    return int(value) if kind == "integer" else value


def _enable_when(template: AssessmentTemplate, item: Item) -> dict[str, Any]:
    assert item.enable_when is not None
    answer = item.enable_when.answer
    condition: dict[str, Any] = {"question": item.enable_when.question, "operator": "="}
    if isinstance(answer, bool):
        condition["answerBoolean"] = answer
    elif isinstance(answer, int):
        condition["answerInteger"] = answer
    elif isinstance(answer, float):
        condition["answerDecimal"] = answer
    else:
        condition["answerCoding"] = {"system": template.code_system, "code": answer}
    return condition

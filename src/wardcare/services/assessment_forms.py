"""A form read against its WardCare template: its answers, their score, what they yield.

Shared by recording a form (`record_assessment`), amending it (`assessment_amendment`) and SDC
`$extract`: every answer is checked generically from the template (types, ranges, allowed
codes; a bad answer is a 422 naming its linkId), a completed form must answer every required
item, and the Observations it yields (extracted readings, the score) are built from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wardcare import errors
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.catalog.template_schema import Item
from wardcare.domain.assessment_outcome import Outcome
from wardcare.domain.assessment_scoring import Answer, AnswerError, score
from wardcare.errors import Category, Issue, WardCareError
from wardcare.services import assessment_results, news2_from_vitals
from wardcare.services.context import AppContext
from wardcare.storage.unit_of_work import Transaction

TEMPLATE_BASE = "http://wardcare.org/fhir/Questionnaire/"
SCORED_STATUSES = frozenset({"completed", "amended"})


@dataclass
class Prepared:
    """A response read against its template: its answers checked for type and code."""

    loaded: LoadedTemplate
    response: dict[str, Any]
    answers: dict[str, Answer]
    paths: dict[str, str]  # linkId -> FHIRPath of its answer, for error messages
    patient: str


def template_for(ctx: AppContext, response: dict[str, Any]) -> LoadedTemplate | None:
    """The WardCare template a response answers; None if it answers some other Questionnaire."""
    canonical = response.get("questionnaire")
    if not isinstance(canonical, str) or not (
        canonical.startswith(TEMPLATE_BASE) or canonical.startswith("Questionnaire/")
    ):
        return None
    loaded = ctx.catalog.by_canonical(canonical)
    if loaded is None:
        raise errors.unprocessable(
            f"{canonical!r} is not a WardCare assessment template or version "
            f"(known: {', '.join(t.template.canonical for t in ctx.catalog.all())})",
            "QuestionnaireResponse.questionnaire",
        )
    return loaded


def prepare(ctx: AppContext, loaded: LoadedTemplate, response: dict[str, Any]) -> Prepared:
    answers, paths = _answers(loaded, response)
    subject = response.get("subject", {}).get("reference")
    if not isinstance(subject, str) or not subject.startswith("Patient/"):
        raise errors.unprocessable(
            "An assessment is about a patient: subject must be Patient/id",
            "QuestionnaireResponse.subject",
        )
    return Prepared(loaded, response, answers, paths, subject)


def check_patient(tx: Transaction, prepared: Prepared) -> None:
    """The patient must exist: checked first inside the transaction that stores (or extracts)
    the response, rather than in a read transaction of its own before it."""
    patient = tx.resources.current("Patient", prepared.patient.split("/", 1)[1])
    if patient is None or patient.deleted:
        raise errors.unprocessable(
            f"{prepared.patient} does not exist", "QuestionnaireResponse.subject"
        )


def _text(loaded: LoadedTemplate, link_id: str) -> str:
    return next((i.text for i in loaded.template.items if i.link_id == link_id), link_id)


def _answers(
    loaded: LoadedTemplate, response: dict[str, Any]
) -> tuple[dict[str, Answer], dict[str, str]]:
    items = {i.link_id: i for i in loaded.template.items}
    answers: dict[str, Answer] = {}
    paths: dict[str, str] = {}

    def walk(nodes: list[Any], prefix: str) -> None:
        for index, node in enumerate(nodes):
            path = f"{prefix}.item[{index}]"
            link_id = node.get("linkId")
            if link_id not in items:
                if node.get("item"):
                    walk(node["item"], path)
                    continue
                if node.get("answer"):
                    raise errors.unprocessable(
                        f"linkId {link_id!r} is not a question of {loaded.template.title}",
                        f"{path}.linkId",
                    )
                continue
            given = node.get("answer") or []
            if not given:
                continue
            if len(given) > 1:
                raise errors.unprocessable(
                    f"{items[link_id].text} ({link_id}) takes one answer", f"{path}.answer"
                )
            if link_id in answers:
                raise errors.unprocessable(f"{link_id} is answered twice", f"{path}.linkId")
            answers[link_id] = _value(loaded, items[link_id], given[0], f"{path}.answer[0]")
            paths[link_id] = f"{path}.answer[0]"

    walk(response.get("item", []), "QuestionnaireResponse")
    return answers, paths


def _value(loaded: LoadedTemplate, item: Item, answer: dict[str, Any], path: str) -> Answer:
    kind = item.type
    label = f"{item.text} ({item.link_id})"
    if kind == "boolean" and "valueBoolean" in answer:
        return bool(answer["valueBoolean"])
    if kind in ("integer", "decimal"):
        for key in ("valueInteger", "valueDecimal"):
            if isinstance(answer.get(key), int | float):
                number: int | float = answer[key]
                return number
        if isinstance(answer.get("valueQuantity"), dict) and "value" in answer["valueQuantity"]:
            quantity = answer["valueQuantity"]
            if item.unit and quantity.get("code") not in (None, item.unit.code):
                raise errors.unprocessable(
                    f"{label} is recorded in {item.unit.code}, not {quantity.get('code')}",
                    f"{path}.valueQuantity.code",
                )
            value: int | float = quantity["value"]
            return value
    if kind == "choice" and isinstance(answer.get("valueCoding"), dict):
        coding = answer["valueCoding"]
        option = next((o for o in item.answers if o.code == coding.get("code")), None)
        system = option.system or loaded.template.code_system if option else None
        if option is None or coding.get("system") not in (None, system):
            allowed = ", ".join(f"{o.code} ({o.display})" for o in item.answers)
            raise errors.unprocessable(
                f"{label}: {coding.get('code')!r} is not one of {allowed}", f"{path}.valueCoding"
            )
        return option.code
    if kind == "string" and "valueString" in answer:
        return str(answer["valueString"])
    raise errors.unprocessable(f"{label} needs a {kind} answer", path)


def score_answers(
    tx: Transaction, ctx: AppContext, prepared: Prepared
) -> tuple[Outcome | None, int]:
    """Check every answer (types, ranges, codes) and score. A completed response must answer
    every required item (after the server derives what it can, e.g. BMI from weight and height);
    no outcome for a response still in progress or a template that scores nothing."""
    loaded = prepared.loaded
    scale = 1
    if loaded.template.engine == "news2":
        scale = news2_from_vitals.spo2_scale(tx, ctx, prepared.patient)
    outcome: Outcome | None = None
    try:
        if loaded.template.engine == "none":
            missing = score(loaded.rules, prepared.answers).missing
        else:
            outcome = loaded.score(prepared.answers, spo2_scale=scale)
            missing = outcome.missing
    except AnswerError as exc:
        raise _answer_error(prepared, exc) from exc
    if prepared.response.get("status") not in SCORED_STATUSES:
        return None, scale
    if missing:
        raise WardCareError(
            Category.UNPROCESSABLE,
            [
                Issue(
                    f"{_text(loaded, m)} ({m}) must be answered in a completed assessment",
                    (f"QuestionnaireResponse.item.where(linkId='{m}')",),
                    "required",
                )
                for m in missing
            ],
        )
    return outcome, scale


def _answer_error(prepared: Prepared, exc: AnswerError) -> WardCareError:
    path = prepared.paths.get(
        exc.link_id, f"QuestionnaireResponse.item.where(linkId='{exc.link_id}')"
    )
    return errors.unprocessable(f"{exc} ({exc.link_id})", path)


@dataclass
class Observations:
    """What a response yields: its extracted Observations and its score (None for none)."""

    extracted: list[dict[str, Any]]
    score: dict[str, Any] | None


def observations(
    prepared: Prepared, outcome: Outcome | None, scale: int, response_ref: str
) -> Observations:
    loaded, response = prepared.loaded, prepared.response
    effective = response.get("authored") or ""
    encounter = response.get("encounter", {}).get("reference")
    performer = response.get("author")
    base = assessment_results.Context(
        patient=prepared.patient,
        encounter=encounter,
        effective=effective,
        performer=performer,
        derived_from=[response_ref],
    )
    extracted = []
    for item in loaded.template.items:
        if item.extract and item.link_id in prepared.answers:
            extracted.append(
                assessment_results.extracted_observation(
                    loaded, item, prepared.answers[item.link_id], base
                )
            )
    score = None
    if outcome is not None and outcome.total is not None and loaded.template.total is not None:
        score = assessment_results.score_observation(loaded, outcome, base, spo2_scale=scale)
    return Observations(extracted, score)

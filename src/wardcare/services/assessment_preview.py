"""The running score of an assessment while the nurse is still filling it in: nothing is stored.

The form in the browser asks this on every change, so the score, band and plausibility messages
the nurse sees come from the same rules that score the assessment when it is recorded
(`LoadedTemplate.score`, the RCP NEWS2 engine, the template's item limits): scoring lives in one
place, the server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from wardcare import errors
from wardcare.catalog.catalog import LoadedTemplate
from wardcare.domain.actor import Actor
from wardcare.domain.assessment_outcome import NEWS2_LINK_IDS
from wardcare.domain.assessment_scoring import Answer, AnswerError, score
from wardcare.domain.news2 import Parameter
from wardcare.services import fhir_reads, news2_from_vitals
from wardcare.services.context import AppContext


@dataclass(frozen=True)
class Preview:
    template: LoadedTemplate
    total: int | None  # None until every required answer is given (never a partial "low")
    partial_total: int  # the points so far, labelled as incomplete wherever it is shown
    band_code: str | None
    band_display: str | None
    response: str | None
    points: dict[str, int]  # linkId -> points, for the answers given so far
    missing: tuple[str, ...]  # linkIds still to answer
    problems: dict[str, str] = field(default_factory=dict)  # linkId -> message in plain words
    spo2_scale: int = 1


def template_or_404(ctx: AppContext, template_id: str) -> LoadedTemplate:
    loaded = ctx.catalog.get(template_id)
    if loaded is None:
        raise errors.not_found(f"There is no assessment called {template_id!r}")
    return loaded


def preview(
    ctx: AppContext,
    *,
    actor: Actor,
    patient_id: str,
    template_id: str,
    answers: Mapping[str, Answer],
) -> Preview:
    loaded = template_or_404(ctx, template_id)
    scale = 1
    with ctx.uow.read() as tx:
        fhir_reads.read_in(tx, resource_type="Patient", resource_id=patient_id)
        if loaded.template.engine == "news2":
            scale = news2_from_vitals.spo2_scale(tx, ctx, f"Patient/{patient_id}")
    problems = item_problems(loaded, answers, spo2_scale=scale)
    good = {k: v for k, v in answers.items() if k not in problems}
    if loaded.template.engine == "none":
        result = score(loaded.rules, good)
        return Preview(loaded, None, 0, None, None, None, {}, result.missing, problems, scale)
    outcome = loaded.score(good, spo2_scale=scale)
    points = {_link_id(loaded, k): v for k, v in outcome.points.items()}
    complete = not outcome.missing and not problems
    return Preview(
        template=loaded,
        total=outcome.total if complete else None,
        partial_total=sum(points.values()),
        band_code=outcome.band_code if complete else None,
        band_display=outcome.band_display if complete else None,
        response=outcome.response if complete else None,
        points=points,
        missing=outcome.missing,
        problems=problems,
        spo2_scale=scale,
    )


def item_problems(
    loaded: LoadedTemplate, answers: Mapping[str, Answer], *, spo2_scale: int
) -> dict[str, str]:
    """Each answer checked on its own, so every implausible value is questioned at once, not
    only the first: the engine's own checks (e.g. "SpO2 140 %? check the reading"), then the
    template's limits for the item."""
    problems: dict[str, str] = {}
    for link_id, value in answers.items():
        try:
            if loaded.template.engine != "none":
                loaded.score({link_id: value}, spo2_scale=spo2_scale)
            score(loaded.rules, {link_id: value})
        except AnswerError as exc:
            problems[link_id] = _sentence(str(exc))
        except (TypeError, ValueError) as exc:
            problems[link_id] = _sentence(str(exc))
    return problems


def _sentence(message: str) -> str:
    """Plain words for a person: capital letters after '? ' ("SpO2 140 %? Check the reading")."""
    parts = message.split("? ")
    return "? ".join([parts[0], *(p[:1].upper() + p[1:] for p in parts[1:])])


def _link_id(loaded: LoadedTemplate, key: str) -> str:
    """NEWS2 reports points per chart parameter (respiration_rate); the form knows linkIds."""
    if loaded.template.engine != "news2":
        return key
    try:
        return NEWS2_LINK_IDS[Parameter(key)]
    except ValueError:
        return key

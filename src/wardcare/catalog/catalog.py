"""Load care_templates/assessments/, check every template, and score answers against one.

A template that does not load stops start-up with its file and the offending field named:
a ward must never run with an assessment that silently lost a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from wardcare.catalog.care_plans import (
    CarePlanCatalog,
    CarePlanError,
    check_triggers,
    load_care_plans,
)
from wardcare.catalog.field_paths import field_path
from wardcare.catalog.questionnaires import questionnaire
from wardcare.catalog.scoring_rules import scoring_rules
from wardcare.catalog.template_schema import AssessmentTemplate
from wardcare.domain import assessment_outcome, news2
from wardcare.domain.assessment_outcome import NEWS2_LINK_IDS, Outcome
from wardcare.domain.assessment_scoring import (
    Answer,
    AnswerError,
    ScoringRules,
    check_answers,
    check_expression,
    score,
)
from wardcare.fhir import codes
from wardcare.fhir.validation import structure_issues


class TemplateError(ValueError):
    """A template that cannot be used, with the file and field at fault."""


@dataclass(frozen=True)
class LoadedTemplate:
    template: AssessmentTemplate
    rules: ScoringRules
    questionnaire: dict[str, Any]
    path: Path

    def score(self, answers: Mapping[str, Answer], *, spo2_scale: int = 1) -> Outcome:
        """Score answers; AnswerError names the linkId of a bad one."""
        if self.template.engine == "news2":
            known = set(NEWS2_LINK_IDS.values()) | {"oxygen-flow"}
            unknown = sorted(set(answers) - known)
            if unknown:
                raise AnswerError(unknown[0], f"{unknown[0]!r} is not a question of NEWS2")
            # The RCP engine's own checks first (its messages name the chart's limits and a
            # Fahrenheit temperature), then the template's generic ones for every item: the
            # oxygen flow's min/max and enableWhen, which the engine does not score.
            outcome = assessment_outcome.score_news2(answers, spo2_scale)
            check_answers(self.rules, answers)
            return outcome
        return assessment_outcome.from_sum(score(self.rules, answers))

    @property
    def band_system(self) -> str:
        """The CodeSystem of this template's risk bands (Observation.interpretation and the
        escalation Task's reasonCode)."""
        if self.template.engine == "news2":
            return codes.NEWS2_SYSTEM
        return f"{self.template.code_system}-band"

    def band_rank(self, band_code: str | None) -> int | None:
        """How high a band ranks among this template's bands (None for an unknown band).

        NEWS2: low < low-medium < medium < high (RCP NEWS2 chart 2). Other templates: the
        order the bands are listed in the file, lowest risk first; escalation compares the
        band's Task priority first (domain/escalation.py), so this only orders bands that
        share a priority.
        """
        if self.template.engine == "news2":
            order = [band.value for band in news2.RiskBand]
        else:
            order = [band.code for band in self.template.bands]
        return order.index(band_code) if band_code in order else None


class Catalog:
    def __init__(
        self, templates: list[LoadedTemplate], care_plans: CarePlanCatalog | None = None
    ) -> None:
        self.care_plans = care_plans or CarePlanCatalog([])
        self._by_key = {(t.template.id, t.template.version): t for t in templates}
        self._latest: dict[str, LoadedTemplate] = {}
        for loaded in templates:
            current = self._latest.get(loaded.template.id)
            if current is None or _version(loaded.template.version) > _version(
                current.template.version
            ):
                self._latest[loaded.template.id] = loaded

    def latest(self) -> list[LoadedTemplate]:
        return sorted(self._latest.values(), key=lambda t: t.template.id)

    def all(self) -> list[LoadedTemplate]:
        return list(self._by_key.values())

    def get(self, template_id: str, version: str | None = None) -> LoadedTemplate | None:
        if version is None:
            return self._latest.get(template_id)
        return self._by_key.get((template_id, version))

    def by_canonical(self, canonical: str) -> LoadedTemplate | None:
        """A template from a Questionnaire canonical: url, url|version or Questionnaire/id."""
        url, _, version = canonical.partition("|")
        template_id = url.rstrip("/").rsplit("/", 1)[-1]
        found = self.get(template_id, version or None)
        if found is None or url not in (found.template.url, f"Questionnaire/{template_id}"):
            return None
        return found


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


def load_template(path: Path) -> LoadedTemplate:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path.name}: not valid YAML: {exc}") from exc
    try:
        template = AssessmentTemplate.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{field_path(raw, e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
        )
        raise TemplateError(f"{path.name}: {problems}") from None
    link_ids = {i.link_id for i in template.items}
    for item in template.items:
        if item.derived_from:
            try:
                names = check_expression(item.derived_from)
            except (ValueError, SyntaxError) as exc:
                raise TemplateError(
                    f"{path.name}: items.{item.link_id}.derivedFrom: {exc}"
                ) from exc
            unknown = {n.replace("_", "-") for n in names} - link_ids
            if unknown:
                raise TemplateError(
                    f"{path.name}: items.{item.link_id}.derivedFrom uses unknown "
                    f"items {sorted(unknown)}"
                )
    if template.engine == "news2":
        missing = set(NEWS2_LINK_IDS.values()) - link_ids
        if missing:
            raise TemplateError(f"{path.name}: a NEWS2 template needs items {sorted(missing)}")
    resource = questionnaire(template)
    issues = structure_issues(resource)
    if issues:
        raise TemplateError(
            f"{path.name}: its Questionnaire is not valid FHIR R4: "
            + "; ".join(i.message for i in issues)
        )
    return LoadedTemplate(template, scoring_rules(template), resource, path)


def load_catalog(folder: Path, *, run_examples: bool = True) -> Catalog:
    """Every template in folder/assessments and folder/care_plans; TemplateError for the first
    that cannot load, for an assessment trigger naming a plan or intervention that does not
    exist, or (with ``run_examples``, as at start-up) for a worked example whose result is not
    what it expects, naming the file and the example (hazard H12): a ward must never run a
    template whose own examples no longer hold."""
    if not (folder / "assessments").is_dir():
        raise TemplateError(f"{folder}: no assessments/ folder of templates here")
    paths = sorted((folder / "assessments").glob("*.yaml"))
    templates = [load_template(p) for p in paths]
    seen: dict[tuple[str, str], Path] = {}
    for loaded in templates:
        key = (loaded.template.id, loaded.template.version)
        if key in seen:
            raise TemplateError(
                f"{loaded.path.name}: {key[0]} version {key[1]} is also defined in {seen[key].name}"
            )
        seen[key] = loaded.path
    try:
        care_plans = load_care_plans(folder)
        check_triggers([(t.template, t.path) for t in templates], care_plans)
    except CarePlanError as exc:
        raise TemplateError(str(exc)) from None
    if run_examples:
        failures = [failure for loaded in templates for failure in check_examples(loaded)]
        if failures:
            raise TemplateError(f"{len(failures)} worked example(s) failed: " + "; ".join(failures))
    return Catalog(templates, care_plans)


def check_examples(loaded: LoadedTemplate) -> list[str]:
    """Each worked example scored: the list of examples whose result is not what they expect
    (an example whose answers the template refuses is one of them)."""
    failures = []
    for example in loaded.template.examples:
        try:
            outcome = loaded.score(example.answers, spo2_scale=example.spo2_scale)
        except (AnswerError, ValueError) as exc:
            link_id = f" ({exc.link_id})" if isinstance(exc, AnswerError) else ""
            failures.append(
                f"{loaded.path.name}: example {example.name!r}: its answers are refused: "
                f"{exc}{link_id}"
            )
            continue
        expect = example.expect
        got = (outcome.total, outcome.band_code, list(outcome.missing))
        wanted = (expect.total, expect.band, expect.missing)
        if got != wanted:
            failures.append(
                f"{loaded.path.name}: example {example.name!r}: expected total "
                f"{wanted[0]}, band {wanted[1]}, missing {wanted[2]}; got total "
                f"{got[0]}, band {got[1]}, missing {got[2]}"
            )
    return failures

"""Every shipped template in care_templates/ loads, publishes valid FHIR, and scores its own worked
examples as the example expects.

The worked examples in each YAML file are the clinical test cases (band boundaries on both sides,
an incomplete assessment): one test per example, named template id + example name, so a failing
rule points straight at the line a clinical safety officer can read.
"""

from __future__ import annotations

import dataclasses

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from wardcare import paths
from wardcare.catalog.catalog import (
    Catalog,
    LoadedTemplate,
    TemplateError,
    check_examples,
    load_catalog,
)
from wardcare.catalog.template_schema import Coding, Example, Item


def _load() -> tuple[Catalog | None, str | None]:
    try:
        return load_catalog(paths.CARE_TEMPLATES), None
    except TemplateError as exc:
        return None, str(exc)


CATALOG, LOAD_ERROR = _load()
TEMPLATES: list[LoadedTemplate] = (
    sorted(CATALOG.all(), key=lambda t: (t.template.id, t.template.version)) if CATALOG else []
)


def _name(loaded: LoadedTemplate) -> str:
    """The template id, with its version when more than one version is shipped."""
    versions = sum(1 for t in TEMPLATES if t.template.id == loaded.template.id)
    t = loaded.template
    return t.id if versions == 1 else f"{t.id}@{t.version}"


EXAMPLES: list[tuple[LoadedTemplate, Example]] = [
    (loaded, example) for loaded in TEMPLATES for example in loaded.template.examples
]


def test_every_template_loads() -> None:
    assert LOAD_ERROR is None, LOAD_ERROR
    assert TEMPLATES, "care_templates/assessments holds no template"


@pytest.mark.parametrize(
    ("loaded", "example"),
    EXAMPLES,
    ids=[f"{_name(loaded)}: {example.name}" for loaded, example in EXAMPLES],
)
def test_worked_example(loaded: LoadedTemplate, example: Example) -> None:
    only_this = dataclasses.replace(
        loaded, template=loaded.template.model_copy(update={"examples": [example]})
    )
    assert check_examples(only_this) == []


@pytest.mark.parametrize("loaded", TEMPLATES, ids=_name)
def test_questionnaire_is_valid_fhir(loaded: LoadedTemplate) -> None:
    resource = Questionnaire.model_validate(loaded.questionnaire)
    assert resource.url == loaded.template.url
    assert resource.version == loaded.template.version
    assert [i.linkId for i in resource.item or []] == [i.link_id for i in loaded.template.items]


def _codings(loaded: LoadedTemplate) -> list[tuple[str, Coding]]:
    t = loaded.template
    found = [("code", t.code)] + ([("total", t.total)] if t.total else [])
    for item in t.items:
        if item.code:
            found.append((f"items.{item.link_id}.code", item.code))
        if item.unit:
            found.append((f"items.{item.link_id}.unit", item.unit))
    return found


@pytest.mark.parametrize("loaded", TEMPLATES, ids=_name)
def test_every_code_names_its_system(loaded: LoadedTemplate) -> None:
    for where, coding in _codings(loaded):
        assert coding.system.startswith(("http://", "https://")), f"{where}: {coding.system!r}"
        assert coding.code.strip(), f"{where}: empty code"
    for item in loaded.template.items:
        for option in item.answers:
            system = option.system or loaded.template.code_system
            assert system.startswith(("http://", "https://")), f"{item.link_id}: {system!r}"


@pytest.mark.parametrize("loaded", TEMPLATES, ids=_name)
def test_every_template_carries_source_and_licence(loaded: LoadedTemplate) -> None:
    t = loaded.template
    assert t.source.strip(), "source is empty"
    assert t.licence.strip(), "licence is empty"
    assert loaded.questionnaire["copyright"] == t.licence
    assert t.source in loaded.questionnaire["description"]


def _possible_points(item: Item) -> set[int]:
    """Every number of points an item can contribute (0 when unanswered or not enabled)."""
    points: set[int] = set()
    if item.answers:
        points |= {a.points or 0 for a in item.answers}
    elif item.points_if_true is not None:
        points |= {0, item.points_if_true}
    elif item.score_bands:
        points |= {b.points for b in item.score_bands}
    if not points or not item.required or item.enable_when is not None:
        points.add(0)
    return points


SCORED = [t for t in TEMPLATES if t.template.kind == "scored" and t.template.bands]


@pytest.mark.parametrize("loaded", SCORED, ids=_name)
def test_every_possible_total_falls_in_exactly_one_band(loaded: LoadedTemplate) -> None:
    """No total may fall between bands (shown with no band) or in two of them."""
    t = loaded.template
    lowest = sum(min(_possible_points(item)) for item in t.items)
    highest = sum(max(_possible_points(item)) for item in t.items)
    for total in range(lowest, highest + 1):
        bands = [b.code for b in t.bands if b.min <= total and (b.max is None or total <= b.max)]
        assert len(bands) == 1, f"total {total} falls in bands {bands}"


@pytest.mark.parametrize("loaded", TEMPLATES, ids=_name)
def test_examples_cover_every_band_and_an_incomplete_assessment(loaded: LoadedTemplate) -> None:
    t = loaded.template
    expected_bands = {e.expect.band for e in t.examples}
    for band in t.bands:
        assert band.code in expected_bands, f"no worked example ends in band {band.code!r}"
    if any(item.required for item in t.items):
        assert any(e.expect.missing for e in t.examples), "no worked example is incomplete"


def _reachable_totals(loaded: LoadedTemplate) -> set[int]:
    totals = {0}
    for item in loaded.template.items:
        totals = {t + p for t in totals for p in _possible_points(item)}
    return totals


@pytest.mark.parametrize("loaded", SCORED, ids=_name)
def test_examples_sit_on_both_sides_of_every_band_boundary(loaded: LoadedTemplate) -> None:
    """For each boundary between two bands (BAPEN 'MUST' step 4, the pressure-ulcer screen, the
    Morse Fall Scale's organisation-set bands...), a worked example ends on the highest total
    that can be reached below it and one on the lowest total that can be reached from it."""
    reachable = _reachable_totals(loaded)
    example_totals = {e.expect.total for e in loaded.template.examples}
    for band in loaded.template.bands:
        below = [t for t in reachable if t < band.min]
        if not below:
            continue
        at_or_above = [t for t in reachable if t >= band.min]
        assert max(below) in example_totals, f"no example at {max(below)}, below {band.code}"
        assert min(at_or_above) in example_totals, f"no example at {min(at_or_above)} ({band.code})"

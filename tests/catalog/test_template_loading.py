"""A broken template stops loading with the file and the field named (never a silent fallback).

Each case writes one small template to a temporary care_templates/assessments/ folder, breaks it
in one way, and checks that load_template / load_catalog raise TemplateError naming the file and
the field at fault, so a trust's clinical safety officer can find the line to fix.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from wardcare.catalog.catalog import TemplateError, check_examples, load_catalog, load_template

Template = dict[str, Any]

WARDCARE = "http://wardcare.org/fhir/CodeSystem/assessments"
VALID_URL = "http://wardcare.org/fhir/Questionnaire/demo-screen"

VALID: Template = {
    "id": "demo-screen",
    "version": "1.0.0",
    "title": "Demo screen",
    "description": "A small template for tests.",
    "source": "Written for WardCare's tests.",
    "licence": "Apache-2.0 (test data).",
    "kind": "scored",
    "code": {"system": WARDCARE, "code": "demo-screen"},
    "total": {"system": WARDCARE, "code": "demo-screen-score"},
    "items": [
        {"linkId": "weight", "text": "Weight", "type": "decimal"},
        {"linkId": "height", "text": "Height", "type": "decimal"},
        {
            "linkId": "bmi",
            "text": "BMI",
            "type": "decimal",
            "required": True,
            "derivedFrom": "weight / (height * height)",
            "scoreBands": [{"points": 1, "below": 20}, {"points": 0}],
        },
        {
            "linkId": "mood",
            "text": "Mood",
            "type": "choice",
            "answers": [{"code": "ok", "display": "OK", "points": 0}],
        },
    ],
    "bands": [
        {"code": "low", "display": "Low", "min": 0, "max": 0, "meaning": "m", "response": "r"},
        {
            "code": "high",
            "display": "High",
            "min": 1,
            "meaning": "m",
            "response": "r",
            "recheck": "P1D",
        },
    ],
    "nextDue": {"onAdmission": "PT6H", "repeat": "P7D"},
    "examples": [
        {"name": "thin", "answers": {"bmi": 18}, "expect": {"total": 1, "band": "high"}},
        {
            "name": "from weight and height",
            "answers": {"weight": 70, "height": 1.75},
            "expect": {"total": 0, "band": "low"},
        },
    ],
}


def _write(folder: Path, filename: str, template: Template) -> Path:
    path = folder / "assessments" / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(template, sort_keys=False), encoding="utf-8")
    return path


def _broken(change: Callable[[Template], None]) -> Template:
    template = copy.deepcopy(VALID)
    change(template)
    return template


def _item(template: Template, link_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in template["items"] if i["linkId"] == link_id)
    return found


def test_the_valid_template_loads_and_its_examples_pass(tmp_path: Path) -> None:
    loaded = load_template(_write(tmp_path, "demo.yaml", VALID))
    assert loaded.template.id == "demo-screen"
    assert check_examples(loaded) == []


def _unknown_top_level_field(t: Template) -> None:
    t["colour"] = "red"


def _unknown_item_field(t: Template) -> None:
    _item(t, "mood")["colour"] = "red"


def _missing_licence(t: Template) -> None:
    del t["licence"]


def _missing_item_text(t: Template) -> None:
    del _item(t, "weight")["text"]


def _bad_recheck(t: Template) -> None:
    t["bands"][1]["recheck"] = "7 days"


def _bad_repeat(t: Template) -> None:
    t["nextDue"]["repeat"] = "P7"


def _choice_without_answers(t: Template) -> None:
    _item(t, "mood")["answers"] = []


def _enable_when_unknown_item(t: Template) -> None:
    _item(t, "mood")["enableWhen"] = {"question": "ghost", "answer": True}


def _example_answers_unknown_item(t: Template) -> None:
    t["examples"][0]["answers"]["ghost"] = 1


def _derived_from_calls_a_function(t: Template) -> None:
    _item(t, "bmi")["derivedFrom"] = "__import__('os').getcwd()"


def _derived_from_reads_an_attribute(t: Template) -> None:
    _item(t, "bmi")["derivedFrom"] = "weight.__class__"


def _derived_from_unknown_item(t: Template) -> None:
    _item(t, "bmi")["derivedFrom"] = "mass / (height * height)"


def _duplicate_link_ids(t: Template) -> None:
    _item(t, "height")["linkId"] = "weight"


def _trigger_names_unknown_band(t: Template) -> None:
    t["carePlanTriggers"] = [{"plan": "nutrition-support", "whenBand": ["severe"], "reason": "r"}]


def _enable_when_answer_not_an_option(t: Template) -> None:
    _item(t, "weight")["enableWhen"] = {"question": "mood", "answer": "happy"}


def _enable_when_boolean_for_a_number(t: Template) -> None:
    _item(t, "mood")["enableWhen"] = {"question": "weight", "answer": True}


def _enable_when_cycle(t: Template) -> None:
    _item(t, "weight")["enableWhen"] = {"question": "height", "answer": 1.7}
    _item(t, "height")["enableWhen"] = {"question": "weight", "answer": 70}


def _integer_min_not_whole(t: Template) -> None:
    t["items"].append({"linkId": "count", "text": "Count", "type": "integer", "min": 0.5})


def _min_above_max(t: Template) -> None:
    _item(t, "weight")["min"] = 50
    _item(t, "weight")["max"] = 10


BROKEN = [
    (
        "enableWhen answer that is not an option",
        _enable_when_answer_not_an_option,
        ["weight", "enableWhen", "'happy'"],
    ),
    (
        "enableWhen yes/no for a number",
        _enable_when_boolean_for_a_number,
        ["mood", "enableWhen", "weight"],
    ),
    ("enableWhen in a circle", _enable_when_cycle, ["enableWhen", "circle"]),
    ("integer min not whole", _integer_min_not_whole, ["count", "whole number"]),
    ("min above max", _min_above_max, ["weight", "min 50", "max 10"]),
    ("unknown top-level field", _unknown_top_level_field, ["colour", "Extra inputs"]),
    ("unknown field in an item", _unknown_item_field, ["items[3] (mood).colour", "Extra inputs"]),
    ("missing licence", _missing_licence, ["licence", "Field required"]),
    ("missing item text", _missing_item_text, ["items[0] (weight).text", "Field required"]),
    ("bad band recheck duration", _bad_recheck, ["bands[1].recheck", "'7 days'", "ISO 8601"]),
    ("bad nextDue repeat duration", _bad_repeat, ["nextDue.repeat", "'P7'", "ISO 8601"]),
    ("choice without answers", _choice_without_answers, ["items[3] (mood)", "needs answers"]),
    (
        "enableWhen naming an unknown item",
        _enable_when_unknown_item,
        ["mood", "enableWhen", "'ghost'"],
    ),
    (
        "example answering an unknown item",
        _example_answers_unknown_item,
        ["example 'thin'", "unknown item 'ghost'"],
    ),
    (
        "derivedFrom calling a function",
        _derived_from_calls_a_function,
        ["items.bmi.derivedFrom", "only arithmetic"],
    ),
    (
        "derivedFrom reading an attribute",
        _derived_from_reads_an_attribute,
        ["items.bmi.derivedFrom", "only arithmetic"],
    ),
    (
        "derivedFrom naming an unknown item",
        _derived_from_unknown_item,
        ["items.bmi.derivedFrom", "'mass'"],
    ),
    ("duplicate linkIds", _duplicate_link_ids, ["linkIds must be unique", "'weight'"]),
    (
        "trigger naming an unknown band",
        _trigger_names_unknown_band,
        ["nutrition-support", "unknown band 'severe'"],
    ),
]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [(change, fragments) for _, change, fragments in BROKEN],
    ids=[case for case, _, _ in BROKEN],
)
def test_a_broken_template_names_the_file_and_the_field(
    tmp_path: Path, change: Callable[[Template], None], fragments: list[str]
) -> None:
    path = _write(tmp_path, "broken.yaml", _broken(change))
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    message = str(caught.value)
    assert message.startswith("broken.yaml: "), message
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("change", "fragments"),
    [(change, fragments) for _, change, fragments in BROKEN],
    ids=[case for case, _, _ in BROKEN],
)
def test_one_broken_template_stops_the_whole_catalogue(
    tmp_path: Path, change: Callable[[Template], None], fragments: list[str]
) -> None:
    _write(tmp_path, "a-good.yaml", {**VALID, "id": "good-screen"})
    _write(tmp_path, "broken.yaml", _broken(change))
    with pytest.raises(TemplateError) as caught:
        load_catalog(tmp_path)
    assert str(caught.value).startswith("broken.yaml: ")
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "assessments" / "garbled.yaml"
    path.parent.mkdir()
    path.write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"^garbled\.yaml: not valid YAML"):
        load_template(path)


def test_two_files_defining_the_same_id_and_version_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "demo-a.yaml", VALID)
    _write(tmp_path, "demo-b.yaml", VALID)
    with pytest.raises(TemplateError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert message.startswith("demo-b.yaml: "), message
    assert "demo-screen version 1.0.0" in message
    assert "demo-a.yaml" in message


def test_a_new_version_is_a_new_file_and_the_old_one_stays_readable(tmp_path: Path) -> None:
    _write(tmp_path, "demo-1.0.0.yaml", VALID)
    _write(tmp_path, "demo-1.1.0.yaml", {**VALID, "version": "1.1.0", "title": "Demo screen v1.1"})
    _write(tmp_path, "demo-1.10.0.yaml", {**VALID, "version": "1.10.0"})
    catalog = load_catalog(tmp_path)
    latest = catalog.get("demo-screen")
    assert latest is not None
    assert latest.template.version == "1.10.0"  # compared as numbers, not as text
    old = catalog.get("demo-screen", "1.0.0")
    assert old is not None
    assert old.template.title == "Demo screen"
    assert catalog.by_canonical(f"{VALID_URL}|1.1.0") is catalog.get("demo-screen", "1.1.0")
    assert [t.template.version for t in catalog.latest()] == ["1.10.0"]


def test_a_trust_adds_its_licensed_tool_as_one_more_file(tmp_path: Path) -> None:
    """The README's recipe: a trust's licensed tool is data next to the shipped templates."""
    _write(tmp_path, "pressure-ulcer-risk.yaml", {**VALID, "id": "pressure-ulcer-risk"})
    licensed = {
        **VALID,
        "id": "trust-licensed-tool",
        "title": "A licensed pressure ulcer tool",
        "source": "The tool's published source.",
        "licence": "Used under the trust's licence agreement no. 123 with the owner.",
        "publisher": "Example NHS Trust",
    }
    _write(tmp_path, "trust-licensed-tool.yaml", licensed)
    catalog = load_catalog(tmp_path)
    tool = catalog.get("trust-licensed-tool")
    assert tool is not None
    assert tool.questionnaire["publisher"] == "Example NHS Trust"
    assert tool.questionnaire["copyright"] == licensed["licence"]
    assert catalog.get("pressure-ulcer-risk") is not None

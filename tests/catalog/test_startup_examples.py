"""Worked examples run when WardCare starts, and `wardcare templates check --templates DIR`
checks a trust's own folder: a template whose example no longer holds never reaches a ward."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.catalog.test_template_loading import VALID, Template
from wardcare import paths
from wardcare.bootstrap import build_context
from wardcare.catalog.catalog import TemplateError, load_catalog
from wardcare.cli import app
from wardcare.config import Settings


def _folder(tmp_path: Path, template: Template, filename: str = "demo-screen.yaml") -> Path:
    folder = tmp_path / "trust-templates"
    (folder / "assessments").mkdir(parents=True)
    (folder / "assessments" / filename).write_text(
        yaml.safe_dump(template, sort_keys=False), encoding="utf-8"
    )
    return folder


def _wrong_example() -> Template:
    template = copy.deepcopy(VALID)
    template["examples"][0] = {
        "name": "thin scores 1 (written wrong: says low)",
        "answers": {"bmi": 18},
        "expect": {"total": 1, "band": "low"},
    }
    return template


def _refused_example() -> Template:
    template = copy.deepcopy(VALID)
    template["items"][2]["min"] = 5
    template["examples"].append(
        {"name": "a BMI of 2 is refused", "answers": {"bmi": 2}, "expect": {"total": 1}}
    )
    return template


@pytest.mark.parametrize(
    ("template", "example"),
    [
        (_wrong_example(), "thin scores 1 (written wrong: says low)"),
        (_refused_example(), "a BMI of 2 is refused"),
    ],
)
def test_a_failing_example_stops_loading_naming_the_file_and_the_example(
    tmp_path: Path, template: Template, example: str
) -> None:
    folder = _folder(tmp_path, template)
    with pytest.raises(TemplateError) as raised:
        load_catalog(folder)
    assert "demo-screen.yaml" in str(raised.value)
    assert example in str(raised.value)


def test_start_up_stops_on_a_failing_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _folder(tmp_path, _wrong_example())
    monkeypatch.setattr(paths, "CARE_TEMPLATES", folder)
    with pytest.raises(TemplateError) as raised:
        build_context(Settings(database_url=f"sqlite:///{tmp_path / 'startup.db'}"))
    assert "demo-screen.yaml" in str(raised.value)
    assert "thin scores 1 (written wrong: says low)" in str(raised.value)


def test_templates_check_of_a_trusts_folder_names_the_broken_example(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _wrong_example())
    result = CliRunner().invoke(app, ["templates", "check", "--templates", str(folder)])
    assert result.exit_code == 1
    assert "demo-screen.yaml" in result.output
    assert "thin scores 1" in " ".join(result.output.split())


def test_templates_check_of_a_trusts_folder_with_a_broken_field(tmp_path: Path) -> None:
    broken = copy.deepcopy(VALID)
    broken["colour"] = "red"
    result = CliRunner().invoke(
        app, ["templates", "check", "--templates", str(_folder(tmp_path, broken))]
    )
    assert result.exit_code == 1
    assert "demo-screen.yaml" in result.output
    assert "colour" in result.output


def test_templates_check_of_a_good_trust_folder_passes(tmp_path: Path) -> None:
    folder = _folder(tmp_path, copy.deepcopy(VALID))
    result = CliRunner().invoke(app, ["templates", "check", "--templates", str(folder)])
    assert result.exit_code == 0, result.output
    assert "demo-screen 1.0.0" in result.output


def test_templates_check_of_a_folder_that_does_not_exist_fails(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["templates", "check", "--templates", str(tmp_path / "nowhere")]
    )
    assert result.exit_code != 0


def test_templates_check_of_the_shipped_templates_passes() -> None:
    result = CliRunner().invoke(app, ["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "every worked example passes" in " ".join(result.output.split())

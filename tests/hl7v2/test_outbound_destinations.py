"""HL7 destinations are configured in the environment (JSON) or in a JSON file; a mistake stops
start-up with a clear error instead of silently sending nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from wardcare.config import Settings

EPR = {"name": "EPR", "host": "10.0.0.5", "port": 2575, "message_types": ["ORU^R01"]}


def test_destinations_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARDCARE_HL7_DESTINATIONS", json.dumps([EPR]))
    (epr,) = Settings().hl7_destinations
    assert (epr.name, epr.host, epr.port, epr.message_types) == (
        "EPR",
        "10.0.0.5",
        2575,
        ["ORU^R01"],
    )
    assert epr.max_attempts == 5  # AE dead-lettered after five tries unless configured


def test_destinations_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "destinations.json"
    docs = {**EPR, "name": "DOCS", "message_types": ["MDM^T02"], "max_attempts": 3}
    path.write_text(json.dumps([EPR, docs]))
    settings = Settings(hl7_destinations_file=path)
    assert [d.name for d in settings.hl7_destinations] == ["EPR", "DOCS"]
    assert settings.hl7_destinations[1].max_attempts == 3


def test_no_destination_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARDCARE_HL7_DESTINATIONS", raising=False)
    assert Settings().hl7_destinations == []


@pytest.mark.parametrize(
    ("destinations", "complaint"),
    [
        ([EPR, EPR], "unique"),
        ([{**EPR, "message_types": ["ADT^A01"]}], "message_types"),
        ([{**EPR, "message_types": []}], "message_types"),
        ([{**EPR, "port": 0}], "port"),
    ],
)
def test_a_wrong_destination_is_refused_naming_the_problem(
    destinations: list[dict[str, object]], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        Settings.model_validate({"hl7_destinations": destinations})

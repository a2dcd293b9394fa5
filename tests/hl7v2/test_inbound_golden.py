"""Golden tests: every sample (the shared set, and WardCare's own variants: v2.3, LF and CRLF
segment ends, escapes, Z-segments, MSH-18 8859/1, local codes) applied in a ward-day order,
and the FHIR resources each message wrote compared with tests/hl7v2/golden_inbound/*.json.
Every resource is also checked by the ResourceValidator (R4 models, bindings, profiles).

Regenerate after an intended mapping change with WARDCARE_UPDATE_GOLDEN=1, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.hl7v2.inbound_support import SAMPLES, ack_fields, sample
from tests.hl7v2.test_inbound_samples import original_mode
from wardcare.hl7v2.inbound_handler import InboundHandler
from wardcare.services.context import AppContext
from wardcare.storage import hl7_message_log

GOLDEN = Path(__file__).parent / "golden_inbound"
# (sample, as sent): the shared samples ask for enhanced mode with no application ACK, so they
# are sent in original mode to get the AA/AE that says what was applied.
DAY = [
    ("adt_a01_admit.hl7", "original"),
    ("oru_r01_vitals.hl7", "original"),
    ("adt_a02_transfer.hl7", "original"),
    ("adt_a08_update.hl7", "original"),
    ("adt_a03_discharge.hl7", "original"),
    ("variants/adt_a28_v23_lf_escapes_zsegment.hl7", "raw"),
    ("adt_a40_merge.hl7", "original"),
    ("variants/oru_r01_v23_crlf_local_codes_latin1.hl7", "raw"),
]
_RANDOM_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _normalise(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop meta (times of this run); assigned ids (random v4, time-ordered v7: NEWS2 score,
    Task) become placeholders."""
    text = json.dumps([{k: v for k, v in r.items() if k != "meta"} for r in resources])
    seen: dict[str, str] = {}
    text = _RANDOM_UUID.sub(
        lambda m: seen.setdefault(m.group(0), f"random-id-{len(seen) + 1}"), text
    )
    normalised: list[dict[str, Any]] = json.loads(text)
    return normalised


def _written(context: AppContext, control_id: str) -> list[dict[str, Any]]:
    with context.uow.read() as tx:
        [logged] = hl7_message_log.search(
            tx.connection, hl7_message_log.LogFilter(control_id=control_id)
        )[0]
        found = []
        for reference in logged.resources:
            resource_type, resource_id, _, version = reference.split("/")
            stored = tx.resources.version(resource_type, resource_id, int(version))
            assert stored is not None
            assert stored.content is not None
            found.append(orjson.loads(stored.content))
    return found


def test_a_ward_day_of_samples_maps_to_the_golden_fhir(context: AppContext) -> None:
    handler = InboundHandler(context)
    update = os.environ.get("WARDCARE_UPDATE_GOLDEN") == "1"
    for name, mode in DAY:
        raw = original_mode(sample(name)) if mode == "original" else (SAMPLES / name).read_bytes()
        [ack] = handler.handle(raw)
        fields = ack_fields(ack)
        assert fields["MSA"][1] == "AA", (name, ack)
        written = _written(context, fields["MSA"][2])
        for resource in written:
            context.validator.validate(resource, expected_type=resource["resourceType"])
        golden = GOLDEN / (Path(name).stem + ".json")
        actual = _normalise(written)
        if update:
            golden.parent.mkdir(exist_ok=True)
            golden.write_text(json.dumps(actual, indent=1, ensure_ascii=False) + "\n", "utf-8")
        assert actual == json.loads(golden.read_text("utf-8")), f"{name} differs from {golden}"


@pytest.mark.parametrize("name", [n for n, _ in DAY])
def test_every_sample_has_a_golden_file(name: str) -> None:
    assert (GOLDEN / (Path(name).stem + ".json")).is_file()

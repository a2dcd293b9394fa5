import re
import time
import uuid

from wardcare.fhir.resource_ids import new_id

# FHIR R4 2.24.0.1 id
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def test_an_id_is_a_version_7_uuid_and_a_valid_fhir_id() -> None:
    made = new_id()
    parsed = uuid.UUID(made)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert str(parsed) == made
    assert FHIR_ID.match(made)


def test_an_id_carries_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(made).int >> 80 <= after
    assert uuid.UUID(new_id(unix_ms=1_767_225_600_123)).int >> 80 == 1_767_225_600_123


def test_ids_made_later_sort_after_earlier_ones_as_text() -> None:
    # The point of the scheme: index keys made in time order append to the same B-tree pages.
    ids = [new_id(unix_ms=1_767_225_600_000 + ms) for ms in range(0, 5000, 7)]
    assert ids == sorted(ids)


def test_ids_made_in_the_same_millisecond_differ() -> None:
    ids = {new_id(unix_ms=1_767_225_600_000) for _ in range(10_000)}
    assert len(ids) == 10_000

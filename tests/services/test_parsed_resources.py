import orjson

from wardcare.services.parsed_resources import ParsedResources


def _version(version: int, frequency: int) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Task",
            "id": "t1",
            "meta": {"versionId": str(version)},
            "note": [{"text": f"every {frequency} hours"}],
        }
    )


def test_the_same_stored_json_is_parsed_once() -> None:
    parsed = ParsedResources()
    first = parsed.parse(_version(1, 2))
    again = parsed.parse(_version(1, 2))  # a new bytes object, as each query returns
    assert again is first
    assert len(parsed) == 1


def test_a_new_version_is_parsed_afresh() -> None:
    parsed = ParsedResources()
    assert parsed.parse(_version(1, 2))["note"][0]["text"] == "every 2 hours"
    changed = parsed.parse(_version(2, 4))
    assert changed["meta"]["versionId"] == "2"
    assert changed["note"][0]["text"] == "every 4 hours"


def test_a_version_number_reused_with_other_content_is_not_confused() -> None:
    # e.g. version 2 written, read, rolled back, then a different version 2 committed
    parsed = ParsedResources()
    parsed.parse(_version(2, 2))
    assert parsed.parse(_version(2, 6))["note"][0]["text"] == "every 6 hours"


def test_memory_is_bounded() -> None:
    parsed = ParsedResources(capacity=3)
    for version in range(1, 8):
        assert parsed.parse(_version(version, version))["meta"]["versionId"] == str(version)
        assert len(parsed) <= 3

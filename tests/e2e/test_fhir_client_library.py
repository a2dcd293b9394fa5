"""An independent FHIR client library (fhirpy) talks to a real running server."""

import asyncio

from fhirpy import AsyncFHIRClient

from tests import factories
from tests.conftest import LiveServer


def test_fhirpy_creates_reads_updates_searches_and_reads_history(live_server: LiveServer) -> None:
    asyncio.run(_journey(f"{live_server.base_url}/fhir", live_server.headers))


async def _journey(url: str, headers: dict[str, str]) -> None:
    client = AsyncFHIRClient(
        url, extra_headers={"Content-Type": "application/fhir+json", **headers}
    )
    patient = client.resource("Patient", **factories.patient(gender="female"))
    await patient.save()
    assert patient["id"]
    assert patient["meta"]["versionId"] == "1"

    observation = client.resource("Observation", **factories.heart_rate(patient["id"], value=118))
    await observation.save()

    fetched = await client.reference("Patient", patient["id"]).to_resource()
    assert fetched["name"] == patient["name"]

    fetched["gender"] = "other"
    await fetched.save()
    assert fetched["meta"]["versionId"] == "2"

    found = (
        await client.resources("Observation")
        .search(patient=patient["id"], code="http://loinc.org|8867-4")
        .fetch_all()
    )
    assert [o["valueQuantity"]["value"] for o in found] == [118]

    history = await client.execute(f"Patient/{patient['id']}/_history", method="get")
    assert history["total"] == 2
    assert {e["resource"]["gender"] for e in history["entry"]} == {"female", "other"}

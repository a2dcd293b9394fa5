from fastapi.testclient import TestClient

from tests import factories


def test_create_then_read_returns_the_stored_patient(client: TestClient) -> None:
    created = client.post("/fhir/Patient", json=factories.patient())
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    read = client.get(location.split("/_history")[0].replace("http://testserver", ""))
    assert read.status_code == 200
    assert read.json()["id"] == created.json()["id"]
    assert read.headers["etag"] == 'W/"1"'

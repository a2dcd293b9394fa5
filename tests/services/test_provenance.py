"""The Provenance WardCare writes for itself is valid FHIR R4 (it is not re-validated per write)."""

from fhir.resources.R4B.provenance import Provenance

from wardcare.domain.actor import UNAUTHENTICATED_DEVELOPER, Actor, ActorKind
from wardcare.fhir.versions import StoredVersion
from wardcare.services.provenance import provenance_for


def version(resource_type: str, method: str = "POST") -> StoredVersion:
    return StoredVersion(1, resource_type, "abc", 3, 1_795_000_000_000_000, False, method, b"{}")


def test_provenance_for_several_versions_is_valid_fhir_and_names_each() -> None:
    nurse = Actor(ActorKind.USER, "Jane Smith RN", reference="Practitioner/n1")
    resource = provenance_for(
        [version("QuestionnaireResponse"), version("Observation")],
        nurse,
        patient="Patient/p1",
        reason="Recorded NEWS2",
    )
    Provenance.model_validate(resource)
    assert [t["reference"] for t in resource["target"]] == [
        "QuestionnaireResponse/abc/_history/3",
        "Observation/abc/_history/3",
        "Patient/p1",
    ]
    assert resource["agent"][0]["who"] == {
        "display": "Jane Smith RN",
        "reference": "Practitioner/n1",
    }


def test_a_change_to_the_patient_itself_does_not_name_the_patient_twice() -> None:
    patient = StoredVersion(1, "Patient", "p1", 2, 1_795_000_000_000_000, False, "PUT", b"{}")
    resource = provenance_for([patient], UNAUTHENTICATED_DEVELOPER, patient="Patient/p1")
    Provenance.model_validate(resource)
    assert [t["reference"] for t in resource["target"]] == ["Patient/p1/_history/2"]
    assert resource["activity"]["coding"][0]["code"] == "UPDATE"

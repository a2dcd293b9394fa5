"""WardCare: electronic nursing documentation and care planning, FHIR R4 native."""

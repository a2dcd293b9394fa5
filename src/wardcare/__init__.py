"""WardCare: electronic nursing documentation and care planning, FHIR R4 native."""

__version__ = "0.1.0"

"""Handover documents: the ward sheet and the patient handover as PDF, from a presentation model.

This package renders; it never reads the record (an import-linter contract forbids storage,
services and FHIR imports here): `services/ward_handover.py` and `services/patient_handover.py`
read one snapshot and build the model, these modules turn the model into HTML and then PDF.
"""

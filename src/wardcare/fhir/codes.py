"""Code systems and codes WardCare reads and writes (brief section 2, fhir_profiles/)."""

from __future__ import annotations

from typing import Final

LOINC: Final = "http://loinc.org"
SNOMED: Final = "http://snomed.info/sct"
UCUM: Final = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
ACVPU: Final = "http://wardcare.org/fhir/CodeSystem/acvpu"
NEWS2_SYSTEM: Final = "http://wardcare.org/fhir/CodeSystem/news2"
TASK_TYPE: Final = "http://wardcare.org/fhir/CodeSystem/task-type"
ASSESSMENT_BAND_SYSTEM: Final = "http://wardcare.org/fhir/CodeSystem/{template}-band"

# NEWS2 output (SNOMED CT UK edition codes from NHS England's virtual-ward FHIR guidance).
NEWS2_TOTAL: Final = "1104051000000101"
NEWS2_SUBSCORES: Final = {
    "respiration_rate": ("1104301000000104", "Respiration rate score"),
    "spo2_scale_1": ("1104311000000102", "SpO2 scale 1 score"),
    "spo2_scale_2": ("1104321000000108", "SpO2 scale 2 score"),
    "air_or_oxygen": ("1104331000000105", "Air or oxygen score"),
    "systolic_bp": ("1104341000000101", "Systolic blood pressure score"),
    "pulse": ("1104351000000103", "Pulse rate score"),
    "consciousness": ("1104361000000100", "Consciousness score"),
    "temperature": ("1104371000000107", "Temperature score"),
}
ACVPU_FINDING: Final = "1104441000000107"
SPO2_SCALE: Final = "spo2-scale"

# NEWS2 inputs: LOINC vital signs (FHIR R4 vital-signs profile).
RESPIRATORY_RATE: Final = "9279-1"
SPO2_CODES: Final = ("59408-5", "2708-6")
SYSTOLIC_BP: Final = "8480-6"
BP_PANEL: Final = "85354-9"
HEART_RATE: Final = "8867-4"
BODY_TEMPERATURE: Final = "8310-5"
INHALED_O2_FLOW: Final = "3151-8"

NEWS2_ESCALATION: Final = "news2-escalation"

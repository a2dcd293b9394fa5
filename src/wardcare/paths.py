"""Where the data folders live: templates, profiles and migrations are data, not code."""

from __future__ import annotations

import os
from pathlib import Path

# The package is installed editable from the repository (make demo/test), so the data folders sit
# beside src/. WARDCARE_HOME points elsewhere for a deployment that keeps them apart.
PROJECT_ROOT = Path(os.environ.get("WARDCARE_HOME", Path(__file__).resolve().parents[2]))
FHIR_PROFILES = PROJECT_ROOT / "fhir_profiles"
CARE_TEMPLATES = PROJECT_ROOT / "care_templates"
MIGRATIONS = PROJECT_ROOT / "migrations"

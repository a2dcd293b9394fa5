"""The template catalogue: care_templates/ loaded, validated and published."""

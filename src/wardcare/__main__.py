"""`python -m wardcare` runs the `wardcare` command."""

from wardcare.cli import app

app()

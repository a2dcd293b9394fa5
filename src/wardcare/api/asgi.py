"""ASGI entry point for servers that import the app by name (uvicorn workers, gunicorn)."""

from __future__ import annotations

from fastapi import FastAPI

from wardcare.api.app import create_app
from wardcare.bootstrap import build_context
from wardcare.config import Settings


def create() -> FastAPI:
    """Build the app from WARDCARE_* settings: `uvicorn --factory wardcare.api.asgi:create`."""
    return create_app(build_context(Settings()))

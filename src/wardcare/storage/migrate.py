"""Bring a database to the current schema with the Alembic migrations in migrations/."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from wardcare import paths


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(paths.MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

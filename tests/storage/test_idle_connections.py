"""PostgreSQL connections that died while idle in the pool (a server restart, an idle timeout)
are replaced before use, without a ping on every checkout (storage/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from wardcare.storage import database
from wardcare.storage.database import make_engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def _terminate(database_url: str, pid: int) -> None:
    admin = make_engine(database_url)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            connection.commit()
    finally:
        admin.dispose()


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("the idle-connection ping is PostgreSQL's (SQLite has no server to lose)")
    return database_url


def test_a_connection_killed_while_idle_is_replaced_on_checkout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(postgres_url, pool_size=1)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)
        # The pool's only connection is dead; the checkout ping finds that and connects anew.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()


def test_a_connection_in_recent_use_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)
    engine = make_engine(postgres_url, pool_size=1)
    try:
        first = _backend_pid(engine)
        _terminate(postgres_url, first)
        # Not pinged (in use a moment ago), so the dead connection's failure surfaces in the
        # statement; SQLAlchemy then discards the pool and the next checkout connects anew.
        with pytest.raises(Exception):  # noqa: B017, PT011 - psycopg's OperationalError, wrapped
            _backend_pid(engine)
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()

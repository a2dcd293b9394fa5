"""Shared fixtures: a real database (SQLite file, or PostgreSQL from WARDCARE_TEST_DATABASE_URL),
migrated once per session and emptied between tests, and the app built on it.

Security: the app runs in dev mode with the demo authorisation server's key in a temporary
directory, and `client` and `live_server` carry a real signed token of the demo nurse with
`user/*.cruds user/AuditEvent.cruds` (`live_server.headers`). Tests of scopes and bad tokens
make their own with `token_for` / `issue_token` and override the header per request.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from wardcare.api.app import create_app
from wardcare.bootstrap import build_context
from wardcare.config import Settings
from wardcare.devauth import users
from wardcare.devauth.authorization_server import DevAuthorizationServer
from wardcare.services.context import AppContext
from wardcare.storage.database import make_engine
from wardcare.storage.migrate import upgrade
from wardcare.storage.tables import metadata


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("WARDCARE_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'wardcare-test.db'}"
    if url.startswith("postgresql"):
        # Each test session gets its own schema, so runs never see each other's data.
        schema = f"wardcare_test_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        admin.dispose()
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}options=-csearch_path%3D{schema}"
    return url


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = _database_url(tmp_path_factory)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if "search_path" in url:
        schema = url.rsplit("%3D", 1)[1]
        admin = make_engine(url.split("?")[0] if "options=" in url.split("?")[1] else url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def empty_database(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def session_context(database_url: str) -> Iterator[AppContext]:
    key_file = Path(tempfile.mkdtemp(prefix="wardcare-dev-auth-")) / "signing-key.pem"
    settings = Settings(database_url=database_url, dev_mode=True, dev_auth_key_file=str(key_file))
    context = build_context(settings)
    yield context
    context.uow.engine.dispose()


@pytest.fixture
def context(session_context: AppContext) -> AppContext:
    empty_database(session_context.uow.engine)
    return session_context


def issue_token(
    context: AppContext,
    scope: str = "user/*.cruds",
    *,
    user: str = "nurse",
    patient: str | None = None,
    encounter: str | None = None,
) -> str:
    """A token signed by the demo authorisation server, as `wardcare token` prints one."""
    server = DevAuthorizationServer(context.settings)
    return server.mint(user=users.user(user), scope=scope, patient=patient, encounter=encounter)


# The test client's nurse may do anything, the audit trail included (which `user/*.cruds` alone
# does not reach: services/authorisation.py).
ALL_SCOPES = "user/*.cruds user/AuditEvent.cruds"


def auth_headers(context: AppContext, scope: str = ALL_SCOPES, **claims: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(context, scope, **claims)}"}


@pytest.fixture
def token_for(context: AppContext) -> Callable[..., str]:
    return lambda scope="user/*.cruds", **claims: issue_token(context, scope, **claims)


@pytest.fixture
def client(context: AppContext) -> Iterator[TestClient]:
    with TestClient(
        create_app(context), base_url="http://testserver", headers=auth_headers(context)
    ) as test_client:
        yield test_client


class LiveServer:
    def __init__(self, context: AppContext) -> None:
        self.config = uvicorn.Config(
            create_app(context), host="127.0.0.1", port=0, log_level="warning", access_log=False
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.headers = auth_headers(context)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    @property
    def base_url(self) -> str:
        sockets = self.server.servers[0].sockets
        host, port = sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(context: AppContext) -> Iterator[LiveServer]:
    """WardCare served by uvicorn on a free port of 127.0.0.1: real sockets, real HTTP."""
    with LiveServer(context) as server:
        yield server


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]

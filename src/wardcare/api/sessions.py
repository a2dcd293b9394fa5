"""Server-side sessions of the SMART app (WardCare's UI): the browser holds only a random id in
an HttpOnly cookie; the access token and the actor stay on the server.

In memory, bounded, expiring with the token: WardCare serves from one process (uvicorn), so a
restart only means launching again from the EHR.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from wardcare.domain.actor import Actor

SESSION_COOKIE = "wardcare_session"
LAUNCH_COOKIE = "wardcare_launch"
MAX_SESSIONS = 10_000
PENDING_SECONDS = 600


@dataclass(frozen=True)
class Session:
    id: str
    actor: Actor
    access_token: str
    csrf_token: str  # send as X-CSRF-Token with every state-changing request from the UI
    expires: float  # time.time() seconds


@dataclass(frozen=True)
class PendingLaunch:
    """What the app remembers between redirecting to authorize and the callback."""

    state: str
    code_verifier: str
    token_endpoint: str
    redirect_uri: str
    iss: str
    expires: float


class SessionStore:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._pending: dict[str, PendingLaunch] = {}
        self._lock = threading.Lock()

    def open(self, actor: Actor, access_token: str, expires: float) -> Session:
        session = Session(
            secrets.token_urlsafe(32), actor, access_token, secrets.token_urlsafe(24), expires
        )
        with self._lock:
            self._forget_expired()
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions.values(), key=lambda s: s.expires)
                del self._sessions[oldest.id]
            self._sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None or session.expires < time.time():
            return None
        return session

    def close(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def remember(self, pending: PendingLaunch) -> None:
        with self._lock:
            self._forget_expired()
            self._pending[pending.state] = pending

    def take(self, state: str) -> PendingLaunch | None:
        """The pending launch for this state, once: a replayed callback finds nothing."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or pending.expires < time.time():
            return None
        return pending

    def _forget_expired(self) -> None:
        now = time.time()
        for sid in [k for k, v in self._sessions.items() if v.expires < now]:
            del self._sessions[sid]
        for state in [k for k, v in self._pending.items() if v.expires < now]:
            del self._pending[state]

"""Server sessions (the driver sessions spec), pure: ids, a pool, cluster time.

Every operation on a server that supports sessions carries an ``lsid``: the id of a
*server session*. Implicit sessions come from :class:`ServerSessionPool`, which hands
out the most recently used one that is not about to expire on the server (sessions
expire after ``logicalSessionTimeoutMinutes`` idle; one that has less than a minute
left is dropped rather than risked), and takes it back when the operation (or its
cursor) is done. A session that met a network error is *dirty*: the server may still
think it is in use, so it is discarded, never reused.

``$clusterTime`` is gossiped: the client remembers the greatest cluster time any reply
carried and sends it with every command (:func:`greater_cluster_time`).

>>> pool = ServerSessionPool()
>>> session = pool.acquire(timeout_minutes=30)
>>> session.lsid["id"].subtype
4
>>> pool.release(session, timeout_minutes=30)
>>> pool.acquire(timeout_minutes=30) is session
True
"""

from __future__ import annotations

import os
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any

from driver.bson import Binary, Timestamp

__all__ = ["ServerSession", "ServerSessionPool", "greater_cluster_time"]

# A session with less than this much idle time left on the server is not reused.
_EXPIRY_MARGIN = 60.0  # seconds


class ServerSession:
    """One server session: its ``lsid``, when it was last used, its transaction number."""

    __slots__ = ("dirty", "last_use", "lsid", "txn_number")

    def __init__(self) -> None:
        self.lsid: dict[str, Any] = {"id": Binary(uuid.uuid4().bytes, 4)}
        self.last_use = time.monotonic()
        self.txn_number = 0
        self.dirty = False

    def next_txn_number(self) -> int:
        """The transaction number for the next retryable write (1, 2, ...)."""
        self.txn_number += 1
        return self.txn_number

    def touch(self) -> None:
        self.last_use = time.monotonic()

    def expires_soon(self, timeout_minutes: int | None, now: float | None = None) -> bool:
        """Whether the server may drop this session before it can be used (idle for
        nearly ``logicalSessionTimeoutMinutes``)."""
        if timeout_minutes is None:
            return False
        now = time.monotonic() if now is None else now
        return now - self.last_use > timeout_minutes * 60.0 - _EXPIRY_MARGIN

    def __repr__(self) -> str:
        return f"<ServerSession {self.lsid['id'].hex()} txn={self.txn_number}>"


class ServerSessionPool:
    """Reusable server sessions, most recently used first; safe to share between
    threads (deque appends and pops are atomic) and forks (a child starts empty)."""

    def __init__(self) -> None:
        self._sessions: deque[ServerSession] = deque()
        self._pid = os.getpid()

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:
            # A child must not reuse its parent's sessions: both would send one lsid.
            self._pid = os.getpid()
            self._sessions = deque()

    def acquire(self, timeout_minutes: int | None) -> ServerSession:
        """A session for an operation: a pooled one still fresh enough, or a new one."""
        self._check_fork()
        now = time.monotonic()
        while True:
            try:
                session = self._sessions.popleft()
            except IndexError:
                return ServerSession()
            if not session.expires_soon(timeout_minutes, now):
                return session

    def release(self, session: ServerSession, timeout_minutes: int | None) -> None:
        """Give a session back when its operation (or cursor) is done."""
        self._check_fork()
        if session.dirty or session.expires_soon(timeout_minutes):
            return
        session.touch()
        self._sessions.appendleft(session)
        # Trim expired ones from the cold end, so an idle pool does not grow stale.
        while self._sessions and self._sessions[-1].expires_soon(timeout_minutes):
            self._sessions.pop()

    def drain(self) -> list[dict[str, Any]]:
        """Every pooled lsid, emptying the pool (for ``endSessions`` at close)."""
        self._check_fork()
        lsids = [session.lsid for session in self._sessions]
        self._sessions.clear()
        return lsids

    def __len__(self) -> int:
        return len(self._sessions)


def greater_cluster_time(
    current: Mapping[str, Any] | None, seen: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    """The greater of two ``$clusterTime`` documents (by their ``clusterTime``).

    >>> a = {"clusterTime": Timestamp(10, 1)}
    >>> b = {"clusterTime": Timestamp(10, 2)}
    >>> greater_cluster_time(a, b) is b, greater_cluster_time(b, a) is b
    (True, True)
    >>> greater_cluster_time(None, a) is a
    True
    """
    if seen is None:
        return current
    if current is None:
        return seen
    new, old = seen.get("clusterTime"), current.get("clusterTime")
    if isinstance(new, Timestamp) and (not isinstance(old, Timestamp) or new > old):
        return seen
    return current

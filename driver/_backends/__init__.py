"""The paired I/O primitives that the async and sync shells are written against.

The I/O shells (connection, pool, monitors, client, ...) are written once, async, in
``driver/_async/``; ``tools/unasync.py`` generates their sync twins in
``driver/_sync/``. Where sync and async code really differ (locks, events, sleeping,
sockets), this package hides the difference behind two hand-written modules with the
same names and signatures, apart from ``async``:

- :mod:`driver._backends.asyncio`, used by ``driver/_async/``;
- :mod:`driver._backends.sync`, used by the generated ``driver/_sync/`` (the rewrite
  turns ``driver._backends.asyncio`` into ``driver._backends.sync``).

Both offer ``Lock``, ``Condition``, ``Event``, ``Semaphore``, ``sleep``,
``monotonic``, ``Stream``, ``open_stream`` and ``open_unix_stream``.
:mod:`driver._backends.base` holds what the two share: the stream protocols, the
receive buffer, socket options and the error messages.

Nothing here is imported by default: the sync client never loads asyncio.
"""

from __future__ import annotations

__all__: list[str] = []

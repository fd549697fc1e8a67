"""The conversation protocol every mechanism speaks, and the helpers to drive one.

A :data:`Conversation` is a generator: it yields a command document (a ``dict``, no
``$db``), receives the server's raw reply document, and returns when the connection is
authenticated. It raises :class:`~driver.errors.OperationFailure` for a failed reply or
a server that does not prove itself; the connection shell only sends and receives.

:func:`first_command` and :func:`next_command` hide ``StopIteration`` from the shell,
so the same loop works in sync and async code.

Example::

    >>> def conversation():
    ...     reply = yield {"ping": 1}
    ...     check_reply(reply)
    >>> conv = conversation()
    >>> first_command(conv)
    {'ping': 1}
    >>> next_command(conv, {"ok": 1}) is None
    True
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, TypeAlias

from driver.errors import OperationFailure

__all__ = [
    "Command",
    "Conversation",
    "Reply",
    "check_reply",
    "encodable",
    "first_command",
    "next_command",
    "reply_payload",
]

Command: TypeAlias = dict[str, Any]
"""A command document to send to ``credential.source`` (the shell adds ``$db``)."""

Reply: TypeAlias = Mapping[str, Any]
"""The server's reply document, as decoded, ``ok`` unchecked."""

Conversation: TypeAlias = Generator[Command, Reply, None]
"""Yields commands, is sent replies, returns once authenticated."""


def first_command(conversation: Conversation) -> Command | None:
    """Start ``conversation``: its first command, or ``None`` if it is already done.

    ``None`` happens when a speculative reply from ``hello`` finished the job (X.509).

    >>> def empty():
    ...     return
    ...     yield {}
    >>> first_command(empty()) is None
    True
    """
    try:
        return next(conversation)
    except StopIteration:
        return None


def next_command(conversation: Conversation, reply: Reply) -> Command | None:
    """Give ``reply`` to ``conversation``: the next command, or ``None`` once authenticated.

    Errors (a failed reply, a server that did not verify) propagate from here.

    >>> def one():
    ...     check_reply((yield {"ping": 1}))
    >>> conv = one()
    >>> first_command(conv)
    {'ping': 1}
    >>> next_command(conv, {"ok": 1}) is None
    True
    """
    try:
        return conversation.send(reply)
    except StopIteration:
        return None


def check_reply(reply: Reply) -> None:
    """Raise :class:`OperationFailure` with the server's code and message unless ``ok: 1``.

    >>> check_reply({"ok": 1.0})
    >>> check_reply({"ok": 0, "code": 18, "errmsg": "Authentication failed."})
    Traceback (most recent call last):
    ...
    driver.errors.OperationFailure: Authentication failed., full error: ...
    """
    if reply.get("ok") == 1:
        return
    message = reply.get("errmsg")
    code = reply.get("code")
    raise OperationFailure(
        message if isinstance(message, str) and message else "authentication failed",
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        reply,
    )


def reply_payload(reply: Reply, mechanism: str) -> bytes:
    """The ``payload`` of a SASL reply as ``bytes`` (BSON binary decodes to ``bytes``).

    >>> reply_payload({"payload": b"v=abc"}, "SCRAM-SHA-256")
    b'v=abc'
    """
    payload = reply.get("payload")
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    raise OperationFailure(f"{mechanism}: the server's reply has no binary payload")


def encodable(text: str) -> bool:
    """Whether ``text`` encodes to UTF-8, i.e. holds no lone surrogate.

    Checked before encoding a secret, because a ``UnicodeEncodeError`` keeps the whole
    string in its ``args`` and would carry a password into a traceback.

    >>> encodable("pencil"), encodable("pen\\udc80cil")
    (True, False)
    """
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True

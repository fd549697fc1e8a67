"""Command monitoring, the pure part: which commands are secret, and their events.

The command-logging-and-monitoring specification names the commands that carry
credentials. Their command documents and replies never reach a listener or a log
line: both become ``{}``. A server error answering one keeps only ``code``,
``codeName`` and ``errorLabels``; a network error is not redacted (it holds nothing of
the command, and the spec's tests require it whole).

>>> is_sensitive("saslStart", {"saslStart": 1, "payload": b"n,,n=ann,r=abc"})
True
>>> is_sensitive("hello", {"hello": 1})
False
>>> is_sensitive("hello", {"hello": 1, "speculativeAuthenticate": {"saslStart": 1}})
True

The I/O layer describes each command once with :func:`command_context` and then
calls one builder per phase; it times the round trip itself (the builders never read
a clock)::

    context = command_context(command, "app", request_id, conn.address, operation_id)
    publish(listeners, started_event(context, command))
    try:
        reply = round_trip(...)           # raises OperationFailure for ok: 0
    except Exception as exc:
        publish(listeners, failed_event(context, exc, elapsed))
        raise
    publish(listeners, succeeded_event(context, reply, elapsed))

>>> context = command_context({"ping": 1, "$db": "admin"}, "admin", 5, ("db", 27017), 5)
>>> succeeded_event(context, {"ok": 1}, 0.0025).duration_micros
2500
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driver import monitoring

# A cycle on purpose (see driver.monitoring): import the module object, not its names.
from driver.bson import decode
from driver.errors import ConnectionFailure, NotPrimaryError, OperationFailure

if TYPE_CHECKING:
    from driver.bson.objectid import ObjectId

__all__ = [
    "REDACTED_FAILURE_FIELDS",
    "SENSITIVE_COMMANDS",
    "CommandContext",
    "command_context",
    "command_with_sequences",
    "failed_event",
    "failure_document",
    "is_sensitive",
    "next_operation_id",
    "redact_command",
    "redact_failure",
    "redact_reply",
    "started_event",
    "succeeded_event",
]

SENSITIVE_COMMANDS: frozenset[str] = frozenset(
    {
        "authenticate",
        "saslstart",
        "saslcontinue",
        "getnonce",
        "createuser",
        "updateuser",
        "copydbgetnonce",
        "copydbsaslstart",
        "copydb",
    }
)
"""The commands that always carry credentials, lower-cased (names compare without case)."""

# hello and both casings of legacy hello (isMaster, ismaster), once lower-cased.
_HELLO_COMMANDS = frozenset({"hello", "ismaster"})

REDACTED_FAILURE_FIELDS: tuple[str, ...] = ("code", "codeName", "errorLabels")
"""What a server error answering a sensitive command keeps: the rest may echo it."""


def is_sensitive(name: str, command: Mapping[str, Any]) -> bool:
    """Whether command ``name`` (with document ``command``) must be redacted.

    The names compare without case: over-redacting a misspelt command costs nothing,
    leaking one would. ``hello``/``isMaster`` count only when they carry
    ``speculativeAuthenticate`` (the first SASL step rides on the handshake then).

    >>> is_sensitive("createUser", {"createUser": "ann", "pwd": "secret"})
    True
    >>> is_sensitive("isMaster", {"isMaster": 1, "speculativeAuthenticate": {}})
    True
    >>> is_sensitive("find", {"find": "users"})
    False
    """
    lowered = name.lower()
    if lowered in SENSITIVE_COMMANDS:
        return True
    return lowered in _HELLO_COMMANDS and "speculativeAuthenticate" in command


def redact_command(name: str, command: Mapping[str, Any]) -> Mapping[str, Any]:
    """``command`` as events and log lines may show it: ``{}`` if it is sensitive.

    >>> redact_command("saslContinue", {"saslContinue": 1, "payload": b"p=proof"})
    {}
    >>> redact_command("ping", {"ping": 1})
    {'ping': 1}
    """
    return {} if is_sensitive(name, command) else command


def redact_reply(
    name: str, command: Mapping[str, Any], reply: Mapping[str, Any]
) -> Mapping[str, Any]:
    """``reply`` as events and log lines may show it: ``{}`` if the command is sensitive.

    A hello reply holding ``speculativeAuthenticate`` is redacted too, whatever the
    command looked like (as PyMongo does): it carries the server's SASL answer.

    >>> redact_reply("getnonce", {"getnonce": 1}, {"ok": 1, "nonce": "2375531c32080ae8"})
    {}
    >>> redact_reply("hello", {"hello": 1}, {"ok": 1, "isWritablePrimary": True})
    {'ok': 1, 'isWritablePrimary': True}
    """
    return {} if is_sensitive(name, command) or is_sensitive(name, reply) else reply


def failure_document(error: BaseException) -> Mapping[str, Any]:
    """The failure document of an error, as PyMongo publishes it.

    A server error gives the server's reply; anything else gives
    ``{"errmsg": str(error), "errtype": <class name>}``.

    >>> failure_document(OperationFailure("bad", 2, {"ok": 0, "errmsg": "bad", "code": 2}))
    {'ok': 0, 'errmsg': 'bad', 'code': 2}
    >>> failure_document(TimeoutError("timed out"))
    {'errmsg': 'timed out', 'errtype': 'TimeoutError'}
    """
    details = _server_reply(error)
    if details is not None:
        return details
    return {"errmsg": str(error), "errtype": type(error).__name__}


def _server_reply(error: BaseException) -> Mapping[str, Any] | None:
    """The server's error reply carried by ``error``, if the server sent one."""
    # NotPrimaryError is an AutoReconnect (a client-side kind) but is built from the
    # server's reply; its ``details`` is that reply then.
    if isinstance(error, (OperationFailure, NotPrimaryError)):
        details = error.details
        if isinstance(details, Mapping):
            return details
    return None


def redact_failure(
    name: str, command: Mapping[str, Any], error: BaseException
) -> Mapping[str, Any]:
    """The failure document of ``error`` as events and log lines may show it.

    For a sensitive command: a server error keeps only :data:`REDACTED_FAILURE_FIELDS`;
    a network error (:class:`~driver.errors.ConnectionFailure`, :class:`OSError`) is
    kept whole, as the spec requires; any other driver-side error keeps only its ``errtype``, because its
    message may quote the command (an encoding error names the value it choked on).

    >>> reply = {"ok": 0, "errmsg": "Authentication failed.", "code": 18,
    ...          "codeName": "AuthenticationFailed"}
    >>> redact_failure("saslContinue", {"saslContinue": 1}, OperationFailure("x", 18, reply))
    {'code': 18, 'codeName': 'AuthenticationFailed'}
    >>> redact_failure("find", {"find": "c"}, OperationFailure("x", 18, reply)) == reply
    True
    """
    return _failure(error, is_sensitive(name, command))


def _failure(error: BaseException, sensitive: bool) -> Mapping[str, Any]:
    failure = failure_document(error)
    if not sensitive:
        return failure
    if _server_reply(error) is not None:
        return {key: failure[key] for key in REDACTED_FAILURE_FIELDS if key in failure}
    # A network error (wrapped or still the socket's OSError) says nothing of the
    # command, and the spec's tests want it whole.
    if isinstance(error, (ConnectionFailure, OSError)):
        return failure
    return {"errtype": type(error).__name__}


def command_with_sequences(
    command: Mapping[str, Any], sequences: Mapping[str, Iterable[Any]] | None
) -> Mapping[str, Any]:
    """The command as events show it: each OP_MSG document sequence as an array field.

    The spec wants the documents sent as a kind-1 section inside
    ``CommandStartedEvent.command``, under the section's identifier.

    >>> command_with_sequences({"insert": "c", "$db": "app"}, {"documents": [{"_id": 1}]})
    {'insert': 'c', '$db': 'app', 'documents': [{'_id': 1}]}
    >>> command = {"ping": 1}
    >>> command_with_sequences(command, None) is command
    True
    """
    if not sequences:
        return command
    merged = dict(command)
    for identifier, documents in sequences.items():
        # A bulk sends its documents pre-encoded: events show them decoded.
        merged[identifier] = [
            decode(bytes(doc)) if isinstance(doc, (bytes, bytearray, memoryview)) else doc
            for doc in documents
        ]
    return merged


# Operation ids only need to be distinct within a process; ``next`` on a count is
# atomic under the GIL, so threads and tasks can share it without a lock.
_operation_ids = itertools.count(1)


def next_operation_id() -> int:
    """A new operation id: the commands of one operation share it (e.g. bulk batches).

    >>> first = next_operation_id()
    >>> next_operation_id() > first
    True
    """
    return next(_operation_ids) & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True, slots=True)
class CommandContext:
    """What the three events (and three log lines) of one command share.

    ``address`` is the server's ``(host, port)`` (the events' ``connection_id``);
    ``driver_connection_id`` is the pool's id of the connection (log lines only);
    ``sensitive`` is decided once, from the whole command, for every phase.
    """

    command_name: str
    database_name: str
    request_id: int
    address: monitoring.Address
    operation_id: int | None = None
    driver_connection_id: int | None = None
    server_connection_id: int | None = None
    service_id: ObjectId | None = None
    sensitive: bool = False

    def visible_command(self, command: Mapping[str, Any]) -> Mapping[str, Any]:
        """``command`` as events and log lines may show it (``{}`` if sensitive)."""
        return {} if self.sensitive else command

    def visible_reply(self, reply: Mapping[str, Any]) -> Mapping[str, Any]:
        """``reply`` as events and log lines may show it (see :func:`redact_reply`)."""
        return {} if self.sensitive or is_sensitive(self.command_name, reply) else reply

    def visible_failure(self, error: BaseException) -> Mapping[str, Any]:
        """The failure document of ``error`` as shown (see :func:`redact_failure`)."""
        return _failure(error, self.sensitive)


def command_context(
    command: Mapping[str, Any],
    database_name: str,
    request_id: int,
    address: monitoring.Address,
    operation_id: int | None = None,
    *,
    driver_connection_id: int | None = None,
    server_connection_id: int | None = None,
    service_id: ObjectId | None = None,
) -> CommandContext:
    """Describe one command about to be sent; its name is its first key.

    ``operation_id`` defaults to ``request_id`` (a one-command operation), as PyMongo.

    >>> context = command_context({"saslStart": 1}, "admin", 4, ("db", 27017))
    >>> context.command_name, context.operation_id, context.sensitive
    ('saslStart', 4, True)
    """
    if not command:
        raise ValueError(f"{command!r} is not a valid command")
    name = next(iter(command))
    return CommandContext(
        command_name=name,
        database_name=database_name,
        request_id=request_id,
        address=address,
        operation_id=request_id if operation_id is None else operation_id,
        driver_connection_id=driver_connection_id,
        server_connection_id=server_connection_id,
        service_id=service_id,
        sensitive=is_sensitive(name, command),
    )


def _micros(seconds: float) -> int:
    # Rounded, not truncated: 0.000003 s is 2.9999999999999996 µs as a float.
    return round(seconds * 1_000_000)


def started_event(
    context: CommandContext, command: Mapping[str, Any]
) -> monitoring.CommandStartedEvent:
    """The :class:`~driver.monitoring.CommandStartedEvent` of a command (redacted).

    ``command`` is the document as sent; merge document sequences into it first
    (:func:`command_with_sequences`).

    >>> command = {"hello": 1, "speculativeAuthenticate": {"saslStart": 1}}
    >>> started_event(command_context(command, "admin", 1, ("db", 27017)), command).command
    {}
    """
    # The event redacts itself by the same rule that set ``context.sensitive``, and it
    # needs the real first key for ``command_name``: hand it the command as sent.
    return monitoring.CommandStartedEvent(
        command,
        context.database_name,
        context.request_id,
        context.address,
        context.operation_id,
        service_id=context.service_id,
        server_connection_id=context.server_connection_id,
    )


def succeeded_event(
    context: CommandContext, reply: Mapping[str, Any], duration: float
) -> monitoring.CommandSucceededEvent:
    """The :class:`~driver.monitoring.CommandSucceededEvent` of a reply with ``ok: 1``.

    ``duration`` is in seconds (send to decoded reply). Pass ``{"ok": 1}`` as the reply
    of an unacknowledged write.

    >>> context = command_context({"getnonce": 1}, "admin", 2, ("db", 27017))
    >>> event = succeeded_event(context, {"ok": 1, "nonce": "abc"}, 0.001)
    >>> event.reply, event.duration_micros, event.command_name
    ({}, 1000, 'getnonce')
    """
    return monitoring.CommandSucceededEvent(
        _micros(duration),
        context.visible_reply(reply),
        context.command_name,
        context.request_id,
        context.address,
        context.operation_id,
        service_id=context.service_id,
        database_name=context.database_name,
        server_connection_id=context.server_connection_id,
    )


def failed_event(
    context: CommandContext, error: BaseException, duration: float
) -> monitoring.CommandFailedEvent:
    """The :class:`~driver.monitoring.CommandFailedEvent` of a command that raised.

    ``error`` is what the round trip raised (an ``ok: 0`` reply raised as
    :class:`~driver.errors.OperationFailure`); ``duration`` is in seconds.

    >>> context = command_context({"find": "c"}, "app", 3, ("db", 27017))
    >>> failed_event(context, ConnectionResetError("reset"), 0.5).failure
    {'errmsg': 'reset', 'errtype': 'ConnectionResetError'}
    """
    return monitoring.CommandFailedEvent(
        _micros(duration),
        context.visible_failure(error),
        context.command_name,
        context.request_id,
        context.address,
        context.operation_id,
        service_id=context.service_id,
        database_name=context.database_name,
        server_connection_id=context.server_connection_id,
    )

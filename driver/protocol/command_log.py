"""Command logging: the spec's "Command started/succeeded/failed" messages.

Standard :mod:`logging`, logger ``driver.command`` (PyMongo's is ``pymongo.command``),
level DEBUG, as the command-logging-and-monitoring specification asks. Turn it on the
usual way::

    logging.getLogger("driver.command").setLevel(logging.DEBUG)

Each record's ``msg`` is a :class:`CommandLogMessage`: its ``fields`` are the spec's
structured key-value pairs (``message``, ``commandName``, ``databaseName``,
``requestId``, ``operationId``, ``driverConnectionId``, ``serverConnectionId``,
``serverHost``, ``serverPort``, ``serviceId``, ``command``/``reply``/``failure``,
``durationMS``), and it prints as one JSON object, like PyMongo's log lines. Absent
values (no server connection id, no service id) are left out, not written as null.

Documents are written as relaxed Extended JSON and cut to
:func:`max_document_length` characters (1000 unless the ``MONGODB_LOG_MAX_DOCUMENT_LENGTH``
environment variable, or PyMongo's spelling ``MONGOB_LOG_MAX_DOCUMENT_LENGTH``, says
otherwise), with ``...`` appended when cut. Commands that carry credentials are logged
as ``{}`` with the rules of :mod:`driver.protocol.redaction`.

Nothing is built or serialised unless the logger is enabled for DEBUG: each function
asks ``isEnabledFor`` first, so logging that is off costs one check per command.
Handshake and monitoring ``hello`` commands must not be logged (the spec says so): the
I/O layer simply does not call these functions for them.

>>> format_document({"ping": 1, "$db": "admin"})
'{"ping": 1, "$db": "admin"}'
>>> format_document({"s": "x" * 20}, max_length=10)
'{"s": "xxx...'
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from driver.bson.binary import UuidRepresentation
from driver.bson.codec_options import TypeRegistry
from driver.bson.json_util import JSONMode, JSONOptions, dumps
from driver.protocol.redaction import CommandContext

__all__ = [
    "COMMAND_LOGGER",
    "DEFAULT_MAX_DOCUMENT_LENGTH",
    "CommandLogMessage",
    "enabled",
    "format_document",
    "log_command_failed",
    "log_command_started",
    "log_command_succeeded",
    "max_document_length",
]

COMMAND_LOGGER = logging.getLogger("driver.command")
"""The spec's ``command`` log component."""

DEFAULT_MAX_DOCUMENT_LENGTH = 1000
"""The spec's default ``maxDocumentLength``, in characters (Unicode code points)."""

# PyMongo reads the spec's misspelt name; the correct one is read first.
_LENGTH_VARIABLES = ("MONGODB_LOG_MAX_DOCUMENT_LENGTH", "MONGOB_LOG_MAX_DOCUMENT_LENGTH")


def _unprintable(value: Any) -> str:
    # A value with no Extended JSON form is shown by its repr (as PyMongo does) rather
    # than failing the log line; a repr that raises still must not break the command.
    try:
        return repr(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


# STANDARD so a uuid.UUID in a command is written, not refused (UNSPECIFIED refuses it).
_JSON_OPTIONS = JSONOptions(
    json_mode=JSONMode.RELAXED,
    uuid_representation=UuidRepresentation.STANDARD,
    type_registry=TypeRegistry(fallback_encoder=_unprintable),
)


def enabled() -> bool:
    """Whether command log lines would be emitted (``driver.command`` at DEBUG).

    The I/O layer may use it to skip describing a command nobody watches.
    """
    return COMMAND_LOGGER.isEnabledFor(logging.DEBUG)


def max_document_length() -> int:
    """The length documents are cut to: the environment's setting, else 1000.

    An unset, non-integer or negative value means the default: a bad setting must not
    break (or silence) logging.

    >>> max_document_length() >= 0
    True
    """
    for name in _LENGTH_VARIABLES:
        text = os.environ.get(name)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            return DEFAULT_MAX_DOCUMENT_LENGTH
        return value if value >= 0 else DEFAULT_MAX_DOCUMENT_LENGTH
    return DEFAULT_MAX_DOCUMENT_LENGTH


def _clip(document: Any, limit: int) -> Any:
    """A copy of ``document`` that writes the same first ``limit`` characters of JSON.

    A bulk insert can carry megabytes; writing all of it to keep 1000 characters would
    make DEBUG logging cost as much as the command. Every key, string character and
    value writes at least one character, so keeping the first ``limit`` of them (in
    document order) keeps the text's first ``limit`` characters exactly; what is
    dropped only changes text past the cut.
    """
    budget = limit

    def clip(value: Any) -> Any:
        nonlocal budget
        if type(value) is str:  # exact str: Code and other subclasses have own forms
            budget -= len(value) + 2
            return value[:limit]
        if isinstance(value, Mapping):
            clipped: dict[Any, Any] = {}
            for key, item in value.items():
                if budget <= 0:
                    break
                budget -= len(str(key)) + 4  # "key": at least
                clipped[key] = clip(item)
            return clipped
        if isinstance(value, (list, tuple)):
            items: list[Any] = []
            for item in value:
                if budget <= 0:
                    break
                items.append(clip(item))
            return items
        budget -= 1
        return value

    return clip(document)


def format_document(document: Mapping[str, Any], max_length: int | None = None) -> str:
    """``document`` as relaxed Extended JSON, cut to ``max_length`` characters + ``...``.

    The cut is naive, as the logging spec wants (the result need not be valid JSON);
    the ``...`` does not count toward the length. The text is ASCII (other characters
    are ``\\u`` escapes, as in PyMongo), so a cut never splits a character. Never
    raises: a document that cannot be written yields a placeholder naming the error,
    so logging never breaks a command.

    >>> from driver.bson import ObjectId
    >>> format_document({"_id": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")})
    '{"_id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"}}'
    >>> format_document({"n": 12345}, max_length=5)
    '{"n":...'
    """
    limit = max_document_length() if max_length is None else max_length
    try:
        text = dumps(_clip(document, limit), json_options=_JSON_OPTIONS)
    except Exception as exc:
        text = f"<document not written as JSON: {type(exc).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


class CommandLogMessage:
    """One command log message: ``fields`` as the spec names them; prints as JSON.

    >>> str(CommandLogMessage({"message": "Command started", "commandName": "ping"}))
    '{"message": "Command started", "commandName": "ping"}'
    """

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        # Only str, int and float values: every document is already JSON text.
        return json.dumps(self.fields)

    def __repr__(self) -> str:
        return f"CommandLogMessage({self.fields!r})"


def _common(message: str, context: CommandContext) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "message": message,
        "commandName": context.command_name,
        "databaseName": context.database_name,
        "requestId": context.request_id,
    }
    optional = (
        ("operationId", context.operation_id),
        ("driverConnectionId", context.driver_connection_id),
        ("serverConnectionId", context.server_connection_id),
    )
    fields.update((key, value) for key, value in optional if value is not None)
    host, port = context.address
    fields["serverHost"] = host
    if port is not None:  # a Unix domain socket has none
        fields["serverPort"] = port
    if context.service_id is not None:
        fields["serviceId"] = str(context.service_id)
    return fields


def log_command_started(
    context: CommandContext, command: Mapping[str, Any], *, max_length: int | None = None
) -> None:
    """Log "Command started"; ``command`` as sent (sequences merged), ``{}`` if secret.

    >>> from driver.protocol.redaction import command_context
    >>> context = command_context({"ping": 1}, "admin", 1, ("db", 27017))
    >>> log_command_started(context, {"ping": 1})  # DEBUG is off: nothing happens
    """
    if not COMMAND_LOGGER.isEnabledFor(logging.DEBUG):
        return
    fields = _common("Command started", context)
    fields["command"] = format_document(context.visible_command(command), max_length)
    COMMAND_LOGGER.debug(CommandLogMessage(fields))


def log_command_succeeded(
    context: CommandContext,
    reply: Mapping[str, Any],
    duration: float,
    *,
    max_length: int | None = None,
) -> None:
    """Log "Command succeeded"; ``duration`` in seconds, logged as ``durationMS``."""
    if not COMMAND_LOGGER.isEnabledFor(logging.DEBUG):
        return
    fields = _common("Command succeeded", context)
    fields["durationMS"] = duration * 1000.0
    fields["reply"] = format_document(context.visible_reply(reply), max_length)
    COMMAND_LOGGER.debug(CommandLogMessage(fields))


def log_command_failed(
    context: CommandContext,
    error: BaseException,
    duration: float,
    *,
    max_length: int | None = None,
) -> None:
    """Log "Command failed"; ``failure`` is the (redacted) failure document as JSON.

    The failure document is the server's error reply, or ``errmsg`` and ``errtype`` for
    a driver-side error (see :func:`driver.protocol.redaction.failure_document`), cut
    like any document since a server reply can be long.
    """
    if not COMMAND_LOGGER.isEnabledFor(logging.DEBUG):
        return
    fields = _common("Command failed", context)
    fields["durationMS"] = duration * 1000.0
    fields["failure"] = format_document(context.visible_failure(error), max_length)
    COMMAND_LOGGER.debug(CommandLogMessage(fields))

"""PLAIN (RFC 4616): user name and password in clear, for LDAP behind ``$external``.

One ``saslStart`` whose payload is ``\\0<user>\\0<password>``: only ever send it over
TLS. The password is sent as given (no SASLprep), as the server and other drivers
expect. The payload's ``repr`` is redacted, so a logged command shows no password;
command monitoring must still redact ``saslStart`` as the monitoring spec requires.

Example::

    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> command = plain_command(MongoCredential("PLAIN", "$external", "user", "pencil"))
    >>> command
    {'saslStart': 1, 'mechanism': 'PLAIN', 'payload': <redacted 12 bytes>, 'autoAuthorize': 1}
    >>> bytes(command["payload"])
    b'\\x00user\\x00pencil'
"""

from __future__ import annotations

from typing import Final

from driver.errors import ConfigurationError, OperationFailure
from driver.protocol.auth.conversation import Command, Conversation, check_reply, encodable
from driver.protocol.auth.credentials import MongoCredential

__all__ = ["PLAIN", "RedactedBytes", "plain_command", "plain_conversation"]

PLAIN: Final = "PLAIN"


class RedactedBytes(bytes):
    """``bytes`` that carry a secret: they encode as BSON binary, but never show in a repr.

    >>> RedactedBytes(b"secret")
    <redacted 6 bytes>
    """

    def __repr__(self) -> str:
        return f"<redacted {len(self)} bytes>"

    __str__ = __repr__


def plain_command(credential: MongoCredential) -> Command:
    """The ``saslStart`` command (without ``$db``); refuses NUL in the name or password."""
    # The password is never bound to a local name, so a traceback showing locals
    # (pytest --showlocals, some error trackers) cannot print it.
    if not credential.username:
        raise ConfigurationError(f"{PLAIN} needs a user name")
    if credential.password is None:
        raise ConfigurationError(f"{PLAIN} needs a password")
    # A NUL would move the field boundaries of the payload: refuse, do not truncate.
    if "\0" in credential.username or "\0" in credential.password:
        raise ConfigurationError(f"{PLAIN}: the user name and password may not contain NUL")
    if not (encodable(credential.username) and encodable(credential.password)):
        raise ConfigurationError(f"{PLAIN}: the user name or password is not valid Unicode")
    payload = RedactedBytes(
        b"\0" + credential.username.encode() + b"\0" + credential.password.encode()
    )
    return {"saslStart": 1, "mechanism": PLAIN, "payload": payload, "autoAuthorize": 1}


def plain_conversation(credential: MongoCredential) -> Conversation:
    """Send the one ``saslStart``; the server must answer ``done: true``.

    >>> from driver.protocol.auth.conversation import first_command, next_command
    >>> conv = plain_conversation(MongoCredential("PLAIN", "$external", "user", "pencil"))
    >>> first_command(conv)["mechanism"]
    'PLAIN'
    >>> next_command(conv, {"ok": 1, "conversationId": 1, "done": True, "payload": b""}) is None
    True
    """
    return _converse(plain_command(credential))


def _converse(command: Command) -> Conversation:
    reply = yield command
    check_reply(reply)
    if not reply.get("done"):
        raise OperationFailure(f"{PLAIN}: the server did not finish the conversation")

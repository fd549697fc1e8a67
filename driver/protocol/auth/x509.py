"""MONGODB-X509: the TLS client certificate is the credential.

One ``authenticate`` command on ``$external``. Without a user name the server takes
the certificate's subject (MongoDB 3.4+); with one, it must equal that subject. The
speculative form rides in ``hello``, and a ``speculativeAuthenticate`` reply means the
connection is already authenticated.

Example::

    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> cred = MongoCredential("MONGODB-X509", "$external", None)
    >>> x509_command(cred)
    {'authenticate': 1, 'mechanism': 'MONGODB-X509'}
    >>> x509_speculative_command(cred)["db"]
    '$external'
"""

from __future__ import annotations

from typing import Final

from driver.errors import ConfigurationError
from driver.protocol.auth.conversation import Command, Conversation, Reply, check_reply
from driver.protocol.auth.credentials import MongoCredential

__all__ = [
    "EXTERNAL",
    "MONGODB_X509",
    "resume_x509_conversation",
    "x509_command",
    "x509_conversation",
    "x509_speculative_command",
]

MONGODB_X509: Final = "MONGODB-X509"
EXTERNAL: Final = "$external"


def _validate(credential: MongoCredential) -> None:
    if credential.source != EXTERNAL:
        raise ConfigurationError(
            f"{MONGODB_X509} authenticates against {EXTERNAL!r}, not {credential.source!r}"
        )
    if credential.password is not None:
        raise ConfigurationError(f"{MONGODB_X509} takes no password: the certificate is the proof")


def x509_command(credential: MongoCredential) -> Command:
    """The ``authenticate`` command (without ``$db``); ``user`` only if a name was given.

    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> x509_command(MongoCredential("MONGODB-X509", "$external", "CN=client,O=Org"))["user"]
    'CN=client,O=Org'
    """
    _validate(credential)
    command: Command = {"authenticate": 1, "mechanism": MONGODB_X509}
    if credential.username:
        command["user"] = credential.username
    return command


def x509_speculative_command(credential: MongoCredential) -> Command:
    """The ``speculativeAuthenticate`` value for ``hello``: :func:`x509_command` plus ``db``."""
    return {**x509_command(credential), "db": credential.source}


def x509_conversation(credential: MongoCredential) -> Conversation:
    """Send ``authenticate``; a failed reply raises :class:`~driver.errors.OperationFailure`.

    >>> from driver.protocol.auth.conversation import first_command, next_command
    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> conv = x509_conversation(MongoCredential("MONGODB-X509", "$external", None))
    >>> first_command(conv)["authenticate"]
    1
    >>> next_command(conv, {"ok": 1, "dbname": "$external", "user": "CN=client"}) is None
    True
    """
    return _converse(x509_command(credential))


def resume_x509_conversation(credential: MongoCredential, speculative_reply: Reply) -> Conversation:
    """The conversation after a ``speculativeAuthenticate`` reply: nothing left to send.

    >>> from driver.protocol.auth.conversation import first_command
    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> cred = MongoCredential("MONGODB-X509", "$external", None)
    >>> first_command(resume_x509_conversation(cred, {"dbname": "$external", "user": "CN=c"})) is None
    True
    """
    _validate(credential)
    return _already_done(speculative_reply)


def _converse(command: Command) -> Conversation:
    reply = yield command
    check_reply(reply)


def _already_done(speculative_reply: Reply) -> Conversation:
    yield from ()
    # The handshake spec's speculative reply has no ``ok``; honour one if it is there.
    if "ok" in speculative_reply:
        check_reply(speculative_reply)

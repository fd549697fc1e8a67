"""Authentication mechanisms as pure conversations: SCRAM-SHA-1/256, MONGODB-X509, PLAIN.

Nothing here touches a socket. Each mechanism is a *conversation*, a generator

    ``Conversation = Generator[Command, Reply, None]``

with ``Command = dict[str, Any]`` and ``Reply = Mapping[str, Any]``:

- it **yields** a command document without ``$db``; the connection shell adds
  ``$db = credential.source``, encodes it with our BSON codec (``bytes`` values become
  BSON binary subtype 0) and sends it;
- it is **sent** the server's reply exactly as decoded, ``ok`` unchecked: the
  conversation itself raises :class:`~driver.errors.OperationFailure` with the
  server's ``code`` and ``errmsg`` on ``ok: 0``, and for a server that fails to prove
  itself (SCRAM's server signature is always verified);
- it **returns** once the connection is authenticated. It may yield nothing at all,
  when the ``hello`` reply's ``speculativeAuthenticate`` already finished the job.

Credential problems (unsupported mechanism, missing user name or password, a password
SASLprep refuses) raise :class:`~driver.errors.ConfigurationError` when the
conversation is *created*, before anything is sent. No message, ``repr`` or exception
here ever contains a password.

A shell opens a connection like this (``await`` in the async shell, nothing in the sync
twin; :func:`first_command` and :func:`next_command` hide ``StopIteration``)::

    auth = hello_auth_fields(credential)            # once per new connection
    reply = conn.command("admin", {"hello": 1, ..., **auth.fields})
    conversation = auth.conversation(reply, cache=client_scram_cache)
    command = first_command(conversation)
    while command is not None:
        command = next_command(conversation, conn.command(credential.source, command))

Without a handshake (re-authentication), use :func:`get_conversation` with the
``saslSupportedMechs`` seen earlier. One :class:`ScramCache` per client keeps the
PBKDF2 results, so only the first connection pays for key derivation.

Example (PLAIN, driven by hand)::

    >>> cred = MongoCredential("PLAIN", "$external", "ada", "s3cret")
    >>> conversation = get_conversation(cred, cache=None)
    >>> first_command(conversation)["mechanism"]
    'PLAIN'
    >>> next_command(conversation, {"ok": 1, "conversationId": 1, "done": True}) is None
    True
"""

from driver.protocol.auth.conversation import (
    Command,
    Conversation,
    Reply,
    check_reply,
    first_command,
    next_command,
)
from driver.protocol.auth.credentials import MongoCredential
from driver.protocol.auth.negotiate import (
    DEFAULT,
    SUPPORTED_MECHANISMS,
    HelloAuth,
    choose_mechanism,
    default_source,
    get_conversation,
    hello_auth_fields,
    validate_credential,
)
from driver.protocol.auth.saslprep import saslprep
from driver.protocol.auth.scram import ScramCache, ScramKeys, ScramStart

__all__ = [
    "DEFAULT",
    "SUPPORTED_MECHANISMS",
    "Command",
    "Conversation",
    "HelloAuth",
    "MongoCredential",
    "Reply",
    "ScramCache",
    "ScramKeys",
    "ScramStart",
    "check_reply",
    "choose_mechanism",
    "default_source",
    "first_command",
    "get_conversation",
    "hello_auth_fields",
    "next_command",
    "saslprep",
    "validate_credential",
]

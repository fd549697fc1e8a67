"""Which mechanism to run, what ``hello`` carries for it, and the conversation to drive.

Mechanism negotiation follows the auth spec: with ``DEFAULT``, ``hello`` asks for the
user's ``saslSupportedMechs``; SCRAM-SHA-256 is chosen if listed, else SCRAM-SHA-1
(also when the server sent no list). GSSAPI, MONGODB-AWS, MONGODB-OIDC and the removed
MONGODB-CR are not built: asking for them is a :class:`~driver.errors.ConfigurationError`.

Example::

    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> cred = MongoCredential("DEFAULT", "admin", "ada", "s3cret")
    >>> choose_mechanism(cred, ["SCRAM-SHA-1", "SCRAM-SHA-256"]), choose_mechanism(cred, None)
    ('SCRAM-SHA-256', 'SCRAM-SHA-1')
    >>> hello_auth_fields(cred).fields["saslSupportedMechs"]
    'admin.ada'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from driver.errors import ConfigurationError
from driver.protocol.auth.conversation import Conversation, Reply
from driver.protocol.auth.credentials import MongoCredential
from driver.protocol.auth.plain import PLAIN, plain_conversation
from driver.protocol.auth.scram import (
    SCRAM_SHA_1,
    SCRAM_SHA_256,
    ScramCache,
    ScramStart,
    resume_scram_conversation,
    scram_conversation,
    scram_start,
)
from driver.protocol.auth.x509 import (
    EXTERNAL,
    MONGODB_X509,
    resume_x509_conversation,
    x509_conversation,
    x509_speculative_command,
)

__all__ = [
    "DEFAULT",
    "SUPPORTED_MECHANISMS",
    "HelloAuth",
    "choose_mechanism",
    "default_source",
    "get_conversation",
    "hello_auth_fields",
    "validate_credential",
]

DEFAULT: Final = "DEFAULT"
SUPPORTED_MECHANISMS: Final = (DEFAULT, MONGODB_X509, PLAIN, SCRAM_SHA_1, SCRAM_SHA_256)
_NOT_BUILT: Final = ("GSSAPI", "MONGODB-AWS", "MONGODB-CR", "MONGODB-OIDC")
_EXTERNAL_ONLY: Final = frozenset({"GSSAPI", "MONGODB-AWS", "MONGODB-OIDC", MONGODB_X509})


def validate_credential(credential: MongoCredential) -> None:
    """Raise :class:`~driver.errors.ConfigurationError` if ``credential`` cannot be used.

    Checks the mechanism is one we build and that what it needs is there (a user name
    and password for SCRAM and PLAIN; ``$external`` and no password for X.509).

    >>> validate_credential(MongoCredential("GSSAPI", "$external", "ada"))
    Traceback (most recent call last):
    ...
    driver.errors.ConfigurationError: authentication mechanism 'GSSAPI' is not supported ...
    """
    mechanism = credential.mechanism
    supported = ", ".join(SUPPORTED_MECHANISMS)
    if mechanism in _NOT_BUILT:
        raise ConfigurationError(
            f"authentication mechanism {mechanism!r} is not supported by this driver "
            f"(supported: {supported})"
        )
    if mechanism not in SUPPORTED_MECHANISMS:
        raise ConfigurationError(
            f"unknown authentication mechanism {mechanism!r} is not supported "
            f"(supported: {supported})"
        )
    if not credential.source:
        raise ConfigurationError(f"{mechanism} needs an authentication source database")
    if mechanism == MONGODB_X509:
        if credential.source != EXTERNAL:
            raise ConfigurationError(
                f"{MONGODB_X509} authenticates against {EXTERNAL!r}, not {credential.source!r}"
            )
        if credential.password is not None:
            raise ConfigurationError(f"{MONGODB_X509} takes no password")
        return
    if not credential.username:
        raise ConfigurationError(f"{mechanism} authentication needs a user name")
    if credential.password is None:
        raise ConfigurationError(f"{mechanism} authentication needs a password")


def default_source(mechanism: str, database: str | None) -> str:
    """The auth spec's default ``authSource`` for ``mechanism`` and the URI's database.

    >>> default_source("SCRAM-SHA-256", None), default_source("PLAIN", None)
    ('admin', '$external')
    >>> default_source("MONGODB-X509", "app"), default_source("DEFAULT", "app")
    ('$external', 'app')
    """
    if mechanism in _EXTERNAL_ONLY:
        return EXTERNAL
    if database:
        return database
    return EXTERNAL if mechanism == PLAIN else "admin"


def choose_mechanism(
    credential: MongoCredential, sasl_supported_mechs: Sequence[str] | None
) -> str:
    """The mechanism to run: the credential's own, or for ``DEFAULT`` the negotiated one.

    ``sasl_supported_mechs`` is the ``saslSupportedMechs`` of the ``hello`` reply
    (``None`` if absent). Unknown names in it are ignored, as the handshake spec asks.

    >>> choose_mechanism(MongoCredential("DEFAULT", "admin", "u", "p"), ["SCRAM-SHA-1"])
    'SCRAM-SHA-1'
    >>> choose_mechanism(MongoCredential("PLAIN", "$external", "u", "p"), ["SCRAM-SHA-256"])
    'PLAIN'
    """
    validate_credential(credential)
    if credential.mechanism != DEFAULT:
        return credential.mechanism
    listed = (
        isinstance(sasl_supported_mechs, Sequence)
        and not isinstance(sasl_supported_mechs, str)
        and SCRAM_SHA_256 in sasl_supported_mechs
    )
    return SCRAM_SHA_256 if listed else SCRAM_SHA_1


def get_conversation(
    credential: MongoCredential,
    *,
    cache: ScramCache | None,
    nonce: str | None = None,
    sasl_supported_mechs: Sequence[str] | None = None,
) -> Conversation:
    """The full conversation for ``credential``, without speculative authentication.

    For a new connection prefer :meth:`HelloAuth.conversation`, which also takes the
    ``hello`` reply. ``nonce`` is for tests (SCRAM only). Credential problems raise
    :class:`~driver.errors.ConfigurationError` here, before anything is sent.

    >>> from driver.protocol.auth.conversation import first_command
    >>> conv = get_conversation(MongoCredential("PLAIN", "$external", "u", "p"), cache=None)
    >>> first_command(conv)["saslStart"]
    1
    """
    mechanism = choose_mechanism(credential, sasl_supported_mechs)
    if mechanism == MONGODB_X509:
        return x509_conversation(credential)
    if mechanism == PLAIN:
        return plain_conversation(credential)
    return scram_conversation(credential, mechanism, cache=cache, nonce=nonce)


@dataclass(frozen=True)
class HelloAuth:
    """What ``hello`` carries for authentication, and how to go on from its reply.

    ``fields`` go into the handshake's ``hello`` as they are (``saslSupportedMechs``
    for ``DEFAULT``, ``speculativeAuthenticate`` for SCRAM and X.509). Keep this object
    until the reply arrives: a speculative SCRAM start holds the client nonce.
    """

    credential: MongoCredential
    fields: dict[str, Any] = field(default_factory=dict)
    scram: ScramStart | None = None

    def conversation(
        self,
        hello_reply: Reply,
        *,
        cache: ScramCache | None,
        nonce: str | None = None,
    ) -> Conversation:
        """The conversation to drive after ``hello``: resumed from its
        ``speculativeAuthenticate`` reply if the server took it, else from the start
        with the mechanism negotiated from ``saslSupportedMechs``.

        >>> from driver.protocol.auth.conversation import first_command
        >>> auth = hello_auth_fields(MongoCredential("MONGODB-X509", "$external", None))
        >>> reply = {"ok": 1, "speculativeAuthenticate": {"dbname": "$external", "user": "CN=c"}}
        >>> first_command(auth.conversation(reply, cache=None)) is None
        True
        """
        speculative = hello_reply.get("speculativeAuthenticate")
        if isinstance(speculative, Mapping):
            # The server accepted the speculative first step: go on with that mechanism
            # (the handshake spec: "proceed with the next step of the exchange").
            if self.scram is not None:
                return resume_scram_conversation(
                    self.credential, self.scram, speculative, cache=cache
                )
            if self.credential.mechanism == MONGODB_X509:
                return resume_x509_conversation(self.credential, speculative)
        mechs = hello_reply.get("saslSupportedMechs")
        return get_conversation(
            self.credential,
            cache=cache,
            nonce=nonce,
            sasl_supported_mechs=mechs if isinstance(mechs, list) else None,
        )


def hello_auth_fields(credential: MongoCredential, *, nonce: str | None = None) -> HelloAuth:
    """The authentication fields for the handshake ``hello`` of a new connection.

    ``DEFAULT`` asks for ``saslSupportedMechs: "<source>.<username>"`` (the user name
    as given, never SASLprep'd) and speculates with SCRAM-SHA-256, as the handshake
    spec requires; SCRAM and X.509 speculate with their first command; PLAIN adds
    nothing. ``nonce`` is for tests.

    >>> auth = hello_auth_fields(MongoCredential("SCRAM-SHA-1", "db", "u", "p"), nonce="abc")
    >>> auth.fields["speculativeAuthenticate"]["payload"], auth.fields["speculativeAuthenticate"]["db"]
    (b'n,,n=u,r=abc', 'db')
    """
    validate_credential(credential)
    mechanism = credential.mechanism
    fields: dict[str, Any] = {}
    if mechanism == MONGODB_X509:
        fields["speculativeAuthenticate"] = x509_speculative_command(credential)
        return HelloAuth(credential, fields)
    if mechanism == PLAIN:
        return HelloAuth(credential, fields)
    if mechanism == DEFAULT:
        fields["saslSupportedMechs"] = f"{credential.source}.{credential.username}"
        mechanism = SCRAM_SHA_256
    start = scram_start(credential, mechanism, nonce=nonce)
    fields["speculativeAuthenticate"] = start.speculative_command(credential.source)
    return HelloAuth(credential, fields, start)

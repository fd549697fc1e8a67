"""SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB SASL conversations.

The conversation is ``saslStart`` (client-first), ``saslContinue`` (client-final with
the proof), then, on servers that ignore ``skipEmptyExchange``, one empty
``saslContinue``. The server's signature (``v=``) is always verified: a server that
cannot prove it knows the password does not get the connection.

MongoDB's twists: user names are never SASLprep'd; SCRAM-SHA-1 uses the hex MD5
digest of ``"<username>:mongo:<password>"`` as the password; SCRAM-SHA-256 uses the
password prepared with SASLprep as a query (unassigned code points pass through, so a
password the server could store is never refused here).

:class:`ScramCache` keeps the derived keys, so a new connection does not pay for
PBKDF2 again. For speculative authentication, :func:`scram_start` gives the
client-first message (put :meth:`ScramStart.speculative_command` into ``hello``) and
:func:`resume_scram_conversation` continues from the server's answer.

Example (RFC 7677's exchange)::

    >>> from driver.protocol.auth.conversation import next_command
    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> cred = MongoCredential("SCRAM-SHA-256", "admin", "user", "pencil")
    >>> conv = scram_conversation(cred, "SCRAM-SHA-256", cache=None, nonce="rOprNGfwEbeRWgbNEkqO")
    >>> next(conv)["payload"]
    b'n,,n=user,r=rOprNGfwEbeRWgbNEkqO'
    >>> server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    >>> conv.send({"ok": 1, "conversationId": 1, "done": False, "payload": server_first})["payload"]
    b'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='
    >>> server_final = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    >>> next_command(conv, {"ok": 1, "conversationId": 1, "done": True, "payload": server_final}) is None
    True
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from driver.errors import ConfigurationError, OperationFailure
from driver.protocol.auth.conversation import (
    Command,
    Conversation,
    Reply,
    check_reply,
    encodable,
    reply_payload,
)
from driver.protocol.auth.credentials import MongoCredential
from driver.protocol.auth.saslprep import saslprep

__all__ = [
    "MAX_ITERATIONS",
    "MIN_ITERATIONS",
    "SCRAM_SHA_1",
    "SCRAM_SHA_256",
    "ScramCache",
    "ScramKeys",
    "ScramStart",
    "resume_scram_conversation",
    "scram_conversation",
    "scram_exchange",
    "scram_start",
]

SCRAM_SHA_1: Final = "SCRAM-SHA-1"
SCRAM_SHA_256: Final = "SCRAM-SHA-256"

MIN_ITERATIONS: Final = 4096
"""The auth spec's floor: a lower count from the server is a downgrade attack."""

MAX_ITERATIONS: Final = 10_000_000
"""Our ceiling: PBKDF2 with more would stall the connection for tens of seconds, so a
hostile or broken server cannot hang a client (servers default to 10,000 and 15,000)."""

_HASH_NAMES: Final[Mapping[str, str]] = {SCRAM_SHA_1: "sha1", SCRAM_SHA_256: "sha256"}
_NONCE_BYTES: Final = 24
_GS2_HEADER: Final = b"n,,"  # no channel binding, no authzid: the spec forbids advertising it
_CHANNEL_BINDING: Final = base64.b64encode(_GS2_HEADER).decode("ascii")  # "biws"
_MALFORMED: Final = "the server's SCRAM message is malformed"


@dataclass(frozen=True, repr=False)
class ScramKeys:
    """ClientKey and ServerKey derived from a password, a salt and an iteration count.

    They stand in for the password, so ``repr`` hides them.

    >>> ScramKeys(b"c" * 32, b"s" * 32)
    ScramKeys(client_key=..., server_key=...)
    """

    client_key: bytes
    server_key: bytes

    def __repr__(self) -> str:
        return "ScramKeys(client_key=..., server_key=...)"


class ScramCache:
    """A bounded cache of :class:`ScramKeys`, shared by the connections of one client.

    Entries are keyed by mechanism, salt, iteration count and an HMAC of the prepared
    password under a random per-cache key, so the cache never holds the password and
    its keys reveal nothing usable elsewhere. Reads and writes are single dict
    operations (atomic under the GIL, and locked internally on free-threaded builds),
    so threads may share it without a lock that a ``fork`` could leave held.

    >>> cache = ScramCache(maxsize=2)
    >>> cache.get("SCRAM-SHA-256", b"pencil", b"salt", 4096) is None
    True
    >>> cache.put("SCRAM-SHA-256", b"pencil", b"salt", 4096, ScramKeys(b"c", b"s"))
    >>> cache.get("SCRAM-SHA-256", b"pencil", b"salt", 4096)
    ScramKeys(client_key=..., server_key=...)
    >>> len(cache)
    1
    """

    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be at least 1, not {maxsize}")
        self._maxsize = maxsize
        self._secret = os.urandom(32)
        self._entries: dict[tuple[str, bytes, bytes, int], ScramKeys] = {}

    def _key(
        self, mechanism: str, prepared_password: bytes, salt: bytes, iterations: int
    ) -> tuple[str, bytes, bytes, int]:
        fingerprint = hmac.digest(self._secret, prepared_password, "sha256")
        return (mechanism, fingerprint, bytes(salt), iterations)

    def get(
        self, mechanism: str, prepared_password: bytes, salt: bytes, iterations: int
    ) -> ScramKeys | None:
        """The cached keys, or ``None``."""
        return self._entries.get(self._key(mechanism, prepared_password, salt, iterations))

    def put(
        self,
        mechanism: str,
        prepared_password: bytes,
        salt: bytes,
        iterations: int,
        keys: ScramKeys,
    ) -> None:
        """Store ``keys``, dropping the oldest entries beyond ``maxsize``."""
        self._entries[self._key(mechanism, prepared_password, salt, iterations)] = keys
        while len(self._entries) > self._maxsize:
            try:
                del self._entries[next(iter(self._entries))]
            except (StopIteration, KeyError, RuntimeError):
                # Another thread changed the dict mid-eviction; its own put evicts.
                break

    def clear(self) -> None:
        """Forget every entry."""
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class ScramStart:
    """The client-first message of one conversation: what ``saslStart`` carries.

    Keep it between ``hello`` (speculative authentication) and the rest of the
    conversation: the client nonce and the first message enter the proof.

    >>> start = ScramStart("SCRAM-SHA-1", "user", "fyko+d2lbbFgONRv9qkxdawL")
    >>> start.client_first_bare
    b'n=user,r=fyko+d2lbbFgONRv9qkxdawL'
    >>> start.speculative_command("admin")["db"]
    'admin'
    """

    mechanism: str
    username: str
    nonce: str

    @property
    def client_first_bare(self) -> bytes:
        """``n=<escaped user name>,r=<nonce>`` (RFC 5802 section 7)."""
        name = self.username.replace("=", "=3D").replace(",", "=2C")
        return f"n={name},r={self.nonce}".encode()

    def command(self) -> Command:
        """The ``saslStart`` command (without ``$db``)."""
        return {
            "saslStart": 1,
            "mechanism": self.mechanism,
            "payload": _GS2_HEADER + self.client_first_bare,
            "autoAuthorize": 1,
            # Lets 4.4+ servers finish after the proof instead of one more empty step.
            "options": {"skipEmptyExchange": True},
        }

    def speculative_command(self, source: str) -> Command:
        """The ``speculativeAuthenticate`` value for ``hello``: :meth:`command` plus ``db``."""
        return {**self.command(), "db": source}


class _Secret:
    """Holds the prepared password so that no repr (e.g. a traceback with locals) shows it."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<secret>"


def scram_start(
    credential: MongoCredential, mechanism: str, *, nonce: str | None = None
) -> ScramStart:
    """Build the client-first message for ``credential`` (a fresh random nonce by default).

    ``nonce`` is for tests: printable ASCII without commas.

    >>> from driver.protocol.auth.credentials import MongoCredential
    >>> cred = MongoCredential("SCRAM-SHA-256", "admin", "a,b", "pw")
    >>> scram_start(cred, "SCRAM-SHA-256", nonce="xyz").client_first_bare
    b'n=a=2Cb,r=xyz'
    """
    if mechanism not in _HASH_NAMES:
        raise ConfigurationError(f"{mechanism!r} is not a SCRAM mechanism")
    username = credential.username
    if not username:
        raise ConfigurationError(f"{mechanism} needs a user name")
    if not encodable(username):
        raise ConfigurationError(f"{mechanism}: the user name is not valid Unicode")
    if nonce is None:
        nonce = base64.b64encode(os.urandom(_NONCE_BYTES)).decode("ascii")
    elif not nonce or not all("!" <= char <= "~" and char != "," for char in nonce):
        raise ValueError("a SCRAM nonce is printable ASCII without commas")
    return ScramStart(mechanism, username, nonce)


def scram_conversation(
    credential: MongoCredential,
    mechanism: str,
    *,
    cache: ScramCache | None,
    nonce: str | None = None,
) -> Conversation:
    """The whole SCRAM conversation, starting with ``saslStart``.

    Credential problems (no user name, no password, a password SASLprep refuses) raise
    :class:`~driver.errors.ConfigurationError` here, before anything is sent.
    """
    start = scram_start(credential, mechanism, nonce=nonce)
    return _converse(start, _prepared_password(credential, mechanism), cache, None)


def resume_scram_conversation(
    credential: MongoCredential,
    start: ScramStart,
    speculative_reply: Reply,
    *,
    cache: ScramCache | None,
) -> Conversation:
    """Continue after a speculative ``saslStart``: ``speculative_reply`` is the
    ``speculativeAuthenticate`` document of the ``hello`` reply (it has no ``ok``).

    The first command yielded is the ``saslContinue`` with the proof.
    """
    if start.username != credential.username:
        raise ValueError("the ScramStart belongs to another credential")
    password = _prepared_password(credential, start.mechanism)
    return _converse(start, password, cache, speculative_reply)


def scram_exchange(
    start: ScramStart,
    prepared_password: bytes,
    *,
    cache: ScramCache | None,
    speculative_reply: Reply | None = None,
) -> Conversation:
    """The bare RFC 5802 exchange, given the password exactly as ``Hi()`` takes it.

    :func:`scram_conversation` is this plus MongoDB's password preparation; use this
    one only for RFC test vectors or a mechanism that prepares differently.

    >>> start = ScramStart("SCRAM-SHA-1", "user", "fyko+d2lbbFgONRv9qkxdawL")
    >>> next(scram_exchange(start, b"pencil", cache=None))["mechanism"]
    'SCRAM-SHA-1'
    """
    if start.mechanism not in _HASH_NAMES:
        raise ConfigurationError(f"{start.mechanism!r} is not a SCRAM mechanism")
    return _converse(start, _Secret(bytes(prepared_password)), cache, speculative_reply)


def _converse(
    start: ScramStart,
    password: _Secret,
    cache: ScramCache | None,
    start_reply: Reply | None,
) -> Conversation:
    mechanism = start.mechanism
    if start_reply is None:
        reply = yield start.command()
        check_reply(reply)
    else:
        reply = start_reply
        if "ok" in reply:
            check_reply(reply)
    if reply.get("done"):
        raise OperationFailure(
            f"{mechanism}: the server ended the conversation before proving it knows the password"
        )
    conversation_id = reply.get("conversationId")
    if conversation_id is None:
        raise OperationFailure(f"{mechanism}: the server's reply has no conversationId")

    server_first = reply_payload(reply, mechanism)
    server_nonce, salt, iterations = _parse_server_first(server_first, start)
    keys = _derive_keys(mechanism, password, salt, iterations, cache)

    without_proof = b"c=" + _CHANNEL_BINDING.encode() + b",r=" + server_nonce.encode()
    auth_message = b",".join((start.client_first_bare, server_first, without_proof))
    digest = _HASH_NAMES[mechanism]
    stored_key = hashlib.new(digest, keys.client_key).digest()
    client_signature = hmac.digest(stored_key, auth_message, digest)
    proof = bytes(a ^ b for a, b in zip(keys.client_key, client_signature, strict=True))
    server_signature = hmac.digest(keys.server_key, auth_message, digest)

    reply = yield {
        "saslContinue": 1,
        "conversationId": conversation_id,
        "payload": without_proof + b",p=" + base64.b64encode(proof),
    }
    check_reply(reply)
    _verify_server_final(reply_payload(reply, mechanism), server_signature, mechanism)
    if reply.get("done"):
        return

    # A server older than 4.4 ignores skipEmptyExchange and wants one empty step.
    reply = yield {"saslContinue": 1, "conversationId": conversation_id, "payload": b""}
    check_reply(reply)
    if not reply.get("done"):
        raise OperationFailure(f"{mechanism}: the server did not finish the conversation")


def _parse_attributes(message: bytes, mechanism: str) -> dict[str, str]:
    """``a=value,b=value`` into a dict (RFC 5802 section 7; values are UTF-8)."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise OperationFailure(f"{mechanism}: {_MALFORMED} (not UTF-8)") from None
    attributes: dict[str, str] = {}
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=" or part[0] in attributes:
            raise OperationFailure(f"{mechanism}: {_MALFORMED}")
        attributes[part[0]] = part[2:]
    return attributes


def _parse_server_first(message: bytes, start: ScramStart) -> tuple[str, bytes, int]:
    """RFC 5802 section 7 server-first-message: the nonce, the salt and the count."""
    mechanism = start.mechanism
    attributes = _parse_attributes(message, mechanism)
    if "m" in attributes:
        raise OperationFailure(f"{mechanism}: the server requires an unsupported SCRAM extension")
    try:
        nonce, salt_b64, count = attributes["r"], attributes["s"], attributes["i"]
    except KeyError:
        nonce = salt_b64 = count = ""
    if not (nonce and salt_b64 and count):
        raise OperationFailure(f"{mechanism}: {_MALFORMED} (r, s and i are required)")
    if not nonce.startswith(start.nonce) or not all("!" <= c <= "~" for c in nonce):
        raise OperationFailure(f"{mechanism}: the server's nonce does not extend the client's")
    try:
        salt = base64.b64decode(salt_b64, validate=True)
    except binascii.Error:
        salt = b""
    if not salt:
        raise OperationFailure(f"{mechanism}: the server's salt is not base64")
    if not (count.isascii() and count.isdigit()) or len(count) > 12:
        raise OperationFailure(f"{mechanism}: the server's iteration count is not a number")
    iterations = int(count)
    if iterations < MIN_ITERATIONS:
        raise OperationFailure(
            f"{mechanism}: the server's iteration count {iterations} is below the "
            f"minimum of {MIN_ITERATIONS}"
        )
    if iterations > MAX_ITERATIONS:
        raise OperationFailure(
            f"{mechanism}: the server's iteration count {iterations} is above the "
            f"maximum of {MAX_ITERATIONS}"
        )
    return nonce, salt, iterations


def _verify_server_final(message: bytes, expected: bytes, mechanism: str) -> None:
    """Mutual authentication: the server must show ServerSignature (RFC 5802 ``v=``)."""
    attributes = _parse_attributes(message, mechanism) if message else {}
    if "e" in attributes:
        raise OperationFailure(f"{mechanism}: the server reported {attributes['e']!r}")
    try:
        signature = base64.b64decode(attributes.get("v", ""), validate=True)
    except binascii.Error:
        signature = b""
    if not hmac.compare_digest(signature, expected):
        raise OperationFailure(f"{mechanism}: the server signature did not verify")


def _derive_keys(
    mechanism: str,
    password: _Secret,
    salt: bytes,
    iterations: int,
    cache: ScramCache | None,
) -> ScramKeys:
    if cache is not None:
        cached = cache.get(mechanism, password.value, salt, iterations)
        if cached is not None:
            return cached
    digest = _HASH_NAMES[mechanism]
    salted = hashlib.pbkdf2_hmac(digest, password.value, salt, iterations)
    keys = ScramKeys(
        hmac.digest(salted, b"Client Key", digest),
        hmac.digest(salted, b"Server Key", digest),
    )
    if cache is not None:
        cache.put(mechanism, password.value, salt, iterations, keys)
    return keys


def _prepared_password(credential: MongoCredential, mechanism: str) -> _Secret:
    """The bytes PBKDF2 takes. Never binds the plain password to a local name, and
    raises outside ``except`` blocks, so no traceback (even with locals) carries it."""
    if credential.password is None:
        raise ConfigurationError(f"{mechanism} needs a password")
    if not encodable(credential.password):
        raise ConfigurationError(f"{mechanism}: the password is not valid Unicode")
    if mechanism == SCRAM_SHA_1:
        # MongoDB's SCRAM-SHA-1 password is the MONGODB-CR digest, not SASLprep'd.
        # usedforsecurity=False: MD5 is a storage format here, and FIPS builds allow it.
        digest = hashlib.md5(
            f"{credential.username}:mongo:{credential.password}".encode(),
            usedforsecurity=False,
        )
        return _Secret(digest.hexdigest().encode("ascii"))
    reason = None
    try:
        return _Secret(saslprep(credential.password, allow_unassigned=True).encode())
    except ValueError as exc:
        reason = str(exc)
    raise ConfigurationError(f"{mechanism}: the password cannot be used ({reason})")

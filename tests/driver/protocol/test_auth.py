"""Authentication conversations: SCRAM-SHA-1/256 against the RFC and auth-spec vectors,
every way a server can fail to prove itself, the key cache, speculative authentication,
a small SCRAM server written here that checks the client's proof (mutual
authentication both ways, Hypothesis-driven, non-ASCII passwords included), X.509 and
PLAIN command shapes, mechanism negotiation, and that no password ever shows in an error.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from pymongo.saslprep import saslprep as pymongo_saslprep

from driver.bson import decode, encode
from driver.errors import ConfigurationError, OperationFailure
from driver.protocol.auth import (
    Command,
    Conversation,
    HelloAuth,
    MongoCredential,
    Reply,
    ScramCache,
    ScramKeys,
    ScramStart,
    check_reply,
    choose_mechanism,
    default_source,
    first_command,
    get_conversation,
    hello_auth_fields,
    next_command,
    validate_credential,
)
from driver.protocol.auth.plain import RedactedBytes, plain_command, plain_conversation
from driver.protocol.auth.scram import (
    MAX_ITERATIONS,
    MIN_ITERATIONS,
    resume_scram_conversation,
    scram_exchange,
    scram_start,
)
from driver.protocol.auth.x509 import (
    resume_x509_conversation,
    x509_command,
    x509_conversation,
    x509_speculative_command,
)

SHA1 = "SCRAM-SHA-1"
SHA256 = "SCRAM-SHA-256"

# ------------------------------------------------------------------ helpers


def drive(
    conversation: Conversation, server: Callable[[Command], Reply], source: str = "admin"
) -> list[Command]:
    """The shell's loop: add ``$db``, send, hand the reply back. Returns what was sent."""
    sent: list[Command] = []
    command = first_command(conversation)
    while command is not None:
        sent.append({**command, "$db": source})
        command = next_command(conversation, server(sent[-1]))
    return sent


def scripted(*replies: Reply) -> Callable[[Command], Reply]:
    """A server that answers with ``replies`` in order."""
    pending = list(replies)

    def answer(_command: Command) -> Reply:
        return pending.pop(0)

    return answer


def capture(action: Callable[[], object]) -> BaseException:
    """Run ``action`` and return what it raised. Catching here, not in the test, keeps
    the test's own locals (which hold the password) out of the traceback."""
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def assert_no_secret(exc: BaseException, secrets: Iterable[str]) -> None:
    """No password in str, repr, args, details, the traceback, or the traceback's locals."""
    texts = [
        str(exc),
        repr(exc),
        repr(exc.args),
        "".join(traceback.format_exception(exc)),
        "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format()),
    ]
    if isinstance(exc, OperationFailure):
        texts.append(repr(exc.details))
    for secret in secrets:
        variants = {
            secret,
            repr(secret),
            repr(secret.encode()),
            base64.b64encode(secret.encode()).decode(),
        }
        for text in texts:
            for variant in variants:
                assert variant not in text, f"a secret leaked into {text!r}"


def test_the_leak_detector_detects() -> None:
    for leaky in (
        OperationFailure("failed", 18, {"errmsg": "bad password Secret-Pw"}),
        ConfigurationError(repr(b"Secret-Pw")),
        ValueError(base64.b64encode(b"Secret-Pw").decode()),
    ):
        with pytest.raises(AssertionError, match="leaked"):
            assert_no_secret(leaky, ["Secret-Pw"])


def mongo_digest(username: str, password: str) -> str:
    return hashlib.md5(f"{username}:mongo:{password}".encode()).hexdigest()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def ok(payload: bytes, *, done: bool = False, cid: int = 1) -> dict[str, Any]:
    return {"ok": 1.0, "conversationId": cid, "done": done, "payload": payload}


# ------------------------------------------------------------------ RFC vectors

RFC5802_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
RFC5802_SERVER_FIRST = b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
RFC5802_CLIENT_FINAL = (
    b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
)
RFC5802_SERVER_FINAL = b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

RFC7677_NONCE = "rOprNGfwEbeRWgbNEkqO"
RFC7677_SERVER_FIRST = (
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
)
RFC7677_CLIENT_FINAL = (
    b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
)
RFC7677_SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

USER_PENCIL_256 = MongoCredential(SHA256, "admin", "user", "pencil")
USER_PENCIL_1 = MongoCredential(SHA1, "admin", "user", "pencil")


def test_rfc5802_sha1_vector() -> None:
    # The bare RFC exchange: MongoDB's SCRAM-SHA-1 would digest the password first.
    conversation = scram_exchange(ScramStart(SHA1, "user", RFC5802_NONCE), b"pencil", cache=None)
    sent = drive(
        conversation,
        scripted(ok(RFC5802_SERVER_FIRST), ok(RFC5802_SERVER_FINAL, done=True)),
    )
    assert sent == [
        {
            "saslStart": 1,
            "mechanism": SHA1,
            "payload": b"n,,n=user,r=" + RFC5802_NONCE.encode(),
            "autoAuthorize": 1,
            "options": {"skipEmptyExchange": True},
            "$db": "admin",
        },
        {"saslContinue": 1, "conversationId": 1, "payload": RFC5802_CLIENT_FINAL, "$db": "admin"},
    ]
    assert [next(iter(command)) for command in sent] == ["saslStart", "saslContinue"]


def test_rfc7677_sha256_vector() -> None:
    conversation = get_conversation(USER_PENCIL_256, cache=None, nonce=RFC7677_NONCE)
    sent = drive(
        conversation,
        scripted(ok(RFC7677_SERVER_FIRST), ok(RFC7677_SERVER_FINAL, done=True)),
    )
    assert [command["payload"] for command in sent] == [
        b"n,,n=user,r=" + RFC7677_NONCE.encode(),
        RFC7677_CLIENT_FINAL,
    ]
    assert sent[0]["mechanism"] == SHA256


# The auth spec's SCRAM examples over MongoDB's SASL commands, as base64 from the spec.
SPEC_SHA1 = [
    "biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM",
    "cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0xIbytWZ2s3cXZVT0tVd3VXTElXZzRsLzlTcmFHTUhFRSxzPXJROVpZM01udEJldVAzRTFURFZDNHc9PSxpPTEwMDAw",
    "Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMSG8rVmdrN3F2VU9LVXd1V0xJV2c0bC85U3JhR01IRUUscD1NQzJUOEJ2Ym1XUmNrRHc4b1dsNUlWZ2h3Q1k9",
    "dj1VTVdlSTI1SkQxeU5ZWlJNcFo0Vkh2aFo5ZTA9",
]
SPEC_SHA256 = [
    "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=",
    "cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY=",
    "Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ==",
    "dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ==",
]


@pytest.mark.parametrize(
    ("credential", "nonce", "messages"),
    [(USER_PENCIL_1, RFC5802_NONCE, SPEC_SHA1), (USER_PENCIL_256, RFC7677_NONCE, SPEC_SHA256)],
    ids=[SHA1, SHA256],
)
@pytest.mark.parametrize("skip_empty_exchange", [True, False], ids=["short", "long"])
def test_auth_spec_conversations(
    credential: MongoCredential, nonce: str, messages: list[str], skip_empty_exchange: bool
) -> None:
    client_first, server_first, client_final, server_final = map(base64.b64decode, messages)
    replies = [ok(server_first), ok(server_final, done=skip_empty_exchange)]
    if not skip_empty_exchange:
        # Servers before 4.4 ignore skipEmptyExchange and want one more, empty, step.
        replies.append(ok(b"", done=True))
    sent = drive(get_conversation(credential, cache=None, nonce=nonce), scripted(*replies))
    assert [command["payload"] for command in sent] == [client_first, client_final, b""][
        : len(replies)
    ]
    assert sent[0]["options"] == {"skipEmptyExchange": True}
    assert all(command.get("conversationId") == 1 for command in sent[1:])


def test_commands_encode_as_bson_binary() -> None:
    conversation = get_conversation(USER_PENCIL_256, cache=None, nonce=RFC7677_NONCE)
    command = first_command(conversation)
    assert command is not None
    data = encode({**command, "$db": "admin"})
    # Element type 0x05 (binary), subtype 0, then the bytes.
    payload = command["payload"]
    assert b"\x05payload\x00" + len(payload).to_bytes(4, "little") + b"\x00" + payload in data
    assert decode(data)["payload"] == payload


# ------------------------------------------------------------------ failures


def run_sha256(*replies: Reply) -> BaseException:
    conversation = get_conversation(USER_PENCIL_256, cache=None, nonce=RFC7677_NONCE)
    return capture(lambda: drive(conversation, scripted(*replies)))


def test_wrong_server_signature_raises() -> None:
    wrong = b"v=" + base64.b64encode(b"\x00" * 32)
    exc = run_sha256(ok(RFC7677_SERVER_FIRST), ok(wrong, done=True))
    assert isinstance(exc, OperationFailure)
    assert "server signature did not verify" in str(exc)


@pytest.mark.parametrize(
    "server_final",
    [b"", b"v=", b"v=not base64!", b"x=abc", b"v=" + RFC7677_SERVER_FINAL[2:-4] + b"AAA="],
)
def test_missing_or_malformed_server_signature_raises(server_final: bytes) -> None:
    exc = run_sha256(ok(RFC7677_SERVER_FIRST), ok(server_final, done=True))
    assert isinstance(exc, OperationFailure)
    assert "did not verify" in str(exc) or "malformed" in str(exc)


def test_server_error_attribute_raises_with_its_text() -> None:
    exc = run_sha256(ok(RFC7677_SERVER_FIRST), ok(b"e=invalid-proof", done=True))
    assert isinstance(exc, OperationFailure)
    assert "invalid-proof" in str(exc)


def test_signature_is_checked_even_on_the_long_conversation() -> None:
    exc = run_sha256(ok(RFC7677_SERVER_FIRST), ok(b"v=AAAA", done=False), ok(b"", done=True))
    assert isinstance(exc, OperationFailure)
    assert "did not verify" in str(exc)


@pytest.mark.parametrize(
    "server_first",
    [
        b"r=someone-elses-nonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"r=rOprNGfwEbeRWgbNEkq,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",  # a prefix of ours
        b"r=" + b"x" + RFC7677_NONCE.encode() + b"abc,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"r=rOprNGfwEbeRWgbNEkqO\x01x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    ],
)
def test_server_nonce_must_extend_the_client_nonce(server_first: bytes) -> None:
    exc = run_sha256(ok(server_first))
    assert isinstance(exc, OperationFailure)
    assert "nonce does not extend" in str(exc)


@pytest.mark.parametrize("iterations", [0, 1, 1000, MIN_ITERATIONS - 1])
def test_too_few_iterations_raises(iterations: int) -> None:
    server_first = RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=%d" % iterations)
    exc = run_sha256(ok(server_first))
    assert isinstance(exc, OperationFailure)
    assert f"{iterations} is below the minimum of 4096" in str(exc)


def test_too_many_iterations_raises_instead_of_hanging() -> None:
    server_first = RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=%d" % (MAX_ITERATIONS + 1))
    exc = run_sha256(ok(server_first))
    assert isinstance(exc, OperationFailure)
    assert "above the maximum" in str(exc)


@pytest.mark.parametrize(
    ("server_first", "message"),
    [
        (RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=abc"), "not a number"),
        (RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=-5000"), "not a number"),
        (RFC7677_SERVER_FIRST.replace(b"i=4096", b"i=\xd9\xa4\xd9\xa0\xd9\xa9\xd9\xa6"), "number"),
        (RFC7677_SERVER_FIRST.replace(b"W22ZaJ0SNY7soEsUEjb6gQ==", b"@@@"), "salt is not base64"),
        (RFC7677_SERVER_FIRST.replace(b",i=4096", b""), "r, s and i are required"),
        (b"m=ext," + RFC7677_SERVER_FIRST, "unsupported SCRAM extension"),
        (RFC7677_SERVER_FIRST + b",r=again", "malformed"),
        (RFC7677_SERVER_FIRST + b",,", "malformed"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_malformed_server_first_raises(server_first: bytes, message: str) -> None:
    exc = run_sha256(ok(server_first))
    assert isinstance(exc, OperationFailure)
    assert message in str(exc)


def test_payload_must_be_binary() -> None:
    exc = run_sha256({"ok": 1, "conversationId": 1, "done": False, "payload": "cj1h"})
    assert isinstance(exc, OperationFailure)
    assert "no binary payload" in str(exc)


def test_done_before_the_proof_raises() -> None:
    exc = run_sha256(ok(RFC7677_SERVER_FIRST, done=True))
    assert isinstance(exc, OperationFailure)
    assert "before proving it knows the password" in str(exc)


def test_missing_conversation_id_raises() -> None:
    exc = run_sha256({"ok": 1, "done": False, "payload": RFC7677_SERVER_FIRST})
    assert isinstance(exc, OperationFailure)
    assert "conversationId" in str(exc)


def test_server_that_never_finishes_raises() -> None:
    exc = run_sha256(ok(RFC7677_SERVER_FIRST), ok(RFC7677_SERVER_FINAL), ok(b""))
    assert isinstance(exc, OperationFailure)
    assert "did not finish" in str(exc)


AUTH_FAILED = {
    "ok": 0.0,
    "errmsg": "Authentication failed.",
    "code": 18,
    "codeName": "AuthenticationFailed",
}


@pytest.mark.parametrize("step", [0, 1, 2])
@pytest.mark.parametrize("mechanism", [SHA1, SHA256])
def test_failed_reply_raises_operation_failure_without_the_password(
    step: int, mechanism: str
) -> None:
    password = "Sup3r-S3cret-Pa55word-\u00e9\u00df"
    credential = MongoCredential(mechanism, "admin", "ada", password)
    server = MiniScramServer({"ada": store_user(mechanism, "ada", password)}, skip_empty=False)
    fail_at = step

    def failing(command: Command) -> Reply:
        reply = server(command)
        return AUTH_FAILED if len(server.seen) - 1 == fail_at else reply

    conversation = get_conversation(credential, cache=ScramCache())
    exc = capture(lambda: drive(conversation, failing))
    assert type(exc) is OperationFailure
    assert exc.code == 18
    assert str(exc).startswith("Authentication failed.")
    assert exc.details == AUTH_FAILED
    assert_no_secret(exc, [password, mongo_digest("ada", password)])


def test_own_errors_carry_no_password() -> None:
    password = "An0ther-Secret-Passw0rd"
    credential = MongoCredential(SHA256, "admin", "ada", password)
    server = MiniScramServer({"ada": store_user(SHA256, "ada", password)}, impostor=True)
    exc = capture(lambda: drive(get_conversation(credential, cache=None), server))
    assert isinstance(exc, OperationFailure)
    assert "did not verify" in str(exc)
    assert_no_secret(exc, [password])


@pytest.mark.parametrize(
    ("password", "rule"),
    [("bell\u0007-Secret-Pw", "C.2.1"), ("\u0627Secret-Pw", "section 6"), ("Pw-\ue000-Sec", "C.3")],
)
def test_sasl_prep_refusal_is_a_configuration_error_without_the_password(
    password: str, rule: str
) -> None:
    credential = MongoCredential(SHA256, "admin", "ada", password)
    exc = capture(lambda: get_conversation(credential, cache=None))
    assert isinstance(exc, ConfigurationError)
    assert rule in str(exc) and "SCRAM-SHA-256" in str(exc)
    assert exc.__cause__ is None and exc.__context__ is None
    assert_no_secret(exc, [password])
    # SCRAM-SHA-1 digests instead: the same password is fine there.
    get_conversation(MongoCredential(SHA1, "admin", "ada", password), cache=None)


def test_lone_surrogates_are_refused_without_the_password() -> None:
    password = "Secret-\udc80-Passw0rd"
    for mechanism in (SHA1, SHA256, "PLAIN"):
        credential = MongoCredential(mechanism, "admin", "ada", password)
        exc = capture(functools.partial(get_conversation, credential, cache=None))
        assert isinstance(exc, ConfigurationError)
        assert exc.__context__ is None
        assert_no_secret(exc, ["Secret-", "Passw0rd"])


def test_configuration_errors_happen_before_anything_is_sent() -> None:
    for credential in (
        MongoCredential(SHA256, "admin", "ada", None),
        MongoCredential(SHA256, "admin", "", "pw"),
        MongoCredential(SHA1, "admin", None, "pw"),
        MongoCredential("PLAIN", "$external", "ada", None),
    ):
        with pytest.raises(ConfigurationError, match="needs a"):
            get_conversation(credential, cache=None)


def test_resume_needs_the_same_credential() -> None:
    start = scram_start(USER_PENCIL_256, SHA256)
    other = MongoCredential(SHA256, "admin", "someone-else", "pencil")
    with pytest.raises(ValueError, match="another credential"):
        resume_scram_conversation(other, start, ok(RFC7677_SERVER_FIRST), cache=None)


def test_scram_start_nonce_and_escaping() -> None:
    starts = {scram_start(USER_PENCIL_256, SHA256).nonce for _ in range(20)}
    assert len(starts) == 20
    assert all(len(nonce) == 32 and "," not in nonce for nonce in starts)
    odd = MongoCredential(SHA256, "admin", "a=b,c\u2168", "pw")
    assert scram_start(odd, SHA256, nonce="n").client_first_bare == "n=a=3Db=2Cc\u2168,r=n".encode()
    for bad in ("", "a,b", "caf\u00e9", "sp ace"):
        with pytest.raises(ValueError, match="printable ASCII"):
            scram_start(USER_PENCIL_256, SHA256, nonce=bad)
    with pytest.raises(ConfigurationError, match="not a SCRAM mechanism"):
        scram_start(USER_PENCIL_256, "PLAIN")


def test_check_reply() -> None:
    check_reply({"ok": 1})
    check_reply({"ok": True})
    cases: list[tuple[Reply, int | None, str]] = [
        ({"ok": 0}, None, "authentication failed"),
        ({}, None, "authentication failed"),
        ({"ok": 0, "code": True, "errmsg": ""}, None, "authentication failed"),
        ({"ok": 0.0, "code": 11, "errmsg": "UserNotFound"}, 11, "UserNotFound"),
    ]
    for reply, code, message in cases:
        with pytest.raises(OperationFailure) as info:
            check_reply(reply)
        assert info.value.code == code
        assert str(info.value).startswith(message)


# ------------------------------------------------------------------ the key cache


@pytest.fixture
def pbkdf2_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, salt: bytes, iterations: int) -> bytes:
        calls.append(name)
        return real(name, password, salt, iterations)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    return calls


def rfc7677_run(cache: ScramCache | None) -> list[Command]:
    conversation = get_conversation(USER_PENCIL_256, cache=cache, nonce=RFC7677_NONCE)
    return drive(
        conversation, scripted(ok(RFC7677_SERVER_FIRST), ok(RFC7677_SERVER_FINAL, done=True))
    )


def test_cache_is_hit_on_the_second_run(pbkdf2_calls: list[str]) -> None:
    cache = ScramCache()
    first = rfc7677_run(cache)
    second = rfc7677_run(cache)
    assert pbkdf2_calls == ["sha256"]
    assert first == second  # the cached keys give the same proof
    assert len(cache) == 1
    rfc7677_run(None)
    assert pbkdf2_calls == ["sha256", "sha256"]


def test_cache_is_keyed_by_mechanism_salt_iterations_and_password(
    pbkdf2_calls: list[str],
) -> None:
    cache = ScramCache()
    users = {
        "ada": store_user(SHA256, "ada", "pw-1"),
        "bob": store_user(SHA256, "bob", "pw-1"),  # another salt
        "cy": store_user(SHA1, "cy", "pw-1"),
    }
    pbkdf2_calls.clear()
    server = MiniScramServer(users)
    for name, mechanism in [("ada", SHA256), ("bob", SHA256), ("cy", SHA1), ("ada", SHA256)]:
        credential = MongoCredential(mechanism, "admin", name, "pw-1")
        drive(get_conversation(credential, cache=cache), server)
    assert pbkdf2_calls == ["sha256", "sha256", "sha1"]
    assert len(cache) == 3
    wrong = MongoCredential(SHA256, "admin", "ada", "pw-2")
    exc = capture(lambda: drive(get_conversation(wrong, cache=cache), server))
    assert isinstance(exc, OperationFailure) and exc.code == 18
    assert len(pbkdf2_calls) == 4  # a different password never hits another's entry


def test_cache_holds_no_password_and_is_bounded() -> None:
    cache = ScramCache(maxsize=2)
    keys = ScramKeys(b"c" * 32, b"s" * 32)
    for index in range(5):
        cache.put(SHA256, b"pencil-secret", b"salt%d" % index, 4096, keys)
        assert len(cache) <= 2
    assert cache.get(SHA256, b"pencil-secret", b"salt4", 4096) is keys
    assert cache.get(SHA256, b"pencil-secret", b"salt0", 4096) is None  # evicted
    assert cache.get(SHA256, b"pencil-secre7", b"salt4", 4096) is None
    assert cache.get(SHA1, b"pencil-secret", b"salt4", 4096) is None
    assert cache.get(SHA256, b"pencil-secret", b"salt4", 4097) is None
    assert b"pencil" not in repr(vars(cache)).encode()
    assert "c" * 32 not in repr(keys)
    # Two caches share nothing: the password fingerprint is keyed per cache.
    other = ScramCache()
    other.put(SHA256, b"pencil-secret", b"salt4", 4096, keys)
    assert set(vars(other)["_entries"]).isdisjoint(vars(cache)["_entries"])
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        ScramCache(maxsize=0)


# ------------------------------------------------------------------ a SCRAM server


@dataclass(frozen=True)
class StoredUser:
    """What a server stores for a SCRAM user (RFC 5802 section 3): never the password."""

    mechanism: str
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def server_prepare(mechanism: str, username: str, password: str) -> bytes | None:
    """The server side of the password preparation, independent of the driver's code."""
    if mechanism == SHA1:
        return mongo_digest(username, password).encode()
    try:
        prepared = pymongo_saslprep(password, prohibit_unassigned_code_points=False)
    except IndexError:
        prepared = ""  # PyMongo cannot prepare what maps to nothing; the RFC gives ""
    except ValueError:
        return None
    assert isinstance(prepared, str)
    return prepared.encode()


def store_user(mechanism: str, username: str, password: str, iterations: int = 4096) -> StoredUser:
    prepared = server_prepare(mechanism, username, password)
    assert prepared is not None
    name = "sha1" if mechanism == SHA1 else "sha256"
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac(name, prepared, salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", name)
    return StoredUser(
        mechanism,
        salt,
        iterations,
        hashlib.new(name, client_key).digest(),
        hmac.digest(salted, b"Server Key", name),
    )


@dataclass
class MiniScramServer:
    """Just enough of a MongoDB SCRAM server: checks the proof against the stored key.

    ``skip_empty=False`` acts like a server before 4.4; ``impostor=True`` does not know
    the ServerKey (it signs with a random one), as a man in the middle would not.
    """

    users: Mapping[str, StoredUser]
    skip_empty: bool = True
    impostor: bool = False
    seen: list[Command] = field(default_factory=list)
    _state: dict[str, Any] = field(default_factory=dict)

    def __call__(self, command: Command) -> Reply:
        self.seen.append(command)
        if "saslStart" in command:
            return self._start(command)
        assert "saslContinue" in command and command["conversationId"] == 7
        if self._state.get("finished"):
            assert command["payload"] == b""
            return {"ok": 1, "conversationId": 7, "done": True, "payload": b""}
        return self._final(command["payload"])

    def _start(self, command: Command) -> Reply:
        payload = command["payload"]
        assert type(payload) is bytes and payload.startswith(b"n,,")
        bare = payload[3:]
        name_part, nonce_part = bare.split(b",")
        assert name_part.startswith(b"n=") and nonce_part.startswith(b"r=")
        username = name_part[2:].decode().replace("=2C", ",").replace("=3D", "=")
        user = self.users.get(username)
        if user is None or user.mechanism != command["mechanism"]:
            return AUTH_FAILED
        nonce = nonce_part[2:] + base64.b64encode(os.urandom(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(user.salt), user.iterations)
        skip = command.get("options", {}).get("skipEmptyExchange") is True and self.skip_empty
        self._state = {"user": user, "bare": bare, "first": server_first, "nonce": nonce}
        self._state["skip"] = skip
        return {"ok": 1, "conversationId": 7, "done": False, "payload": server_first}

    def _final(self, payload: bytes) -> Reply:
        user: StoredUser = self._state["user"]
        name = "sha1" if user.mechanism == SHA1 else "sha256"
        without_proof, _, proof = payload.rpartition(b",p=")
        assert without_proof == b"c=biws,r=" + self._state["nonce"]
        auth_message = b",".join((self._state["bare"], self._state["first"], without_proof))
        signature = hmac.digest(user.stored_key, auth_message, name)
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature, strict=True))
        if not hmac.compare_digest(hashlib.new(name, client_key).digest(), user.stored_key):
            return AUTH_FAILED
        server_key = os.urandom(len(user.server_key)) if self.impostor else user.server_key
        verifier = b"v=" + base64.b64encode(hmac.digest(server_key, auth_message, name))
        self._state["finished"] = True
        return {"ok": 1, "conversationId": 7, "done": self._state["skip"], "payload": verifier}


usernames = st.text(min_size=1, max_size=12)
passwords = st.text(max_size=20) | st.text(st.characters(min_codepoint=0x80), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mechanism=st.sampled_from([SHA1, SHA256]),
    username=usernames,
    password=passwords,
    skip_empty=st.booleans(),
)
@example(
    mechanism=SHA256, username="a,b=c", password="p\u00e4ssw\u00f6rd\u00a0\u00df", skip_empty=True
)
@example(mechanism=SHA1, username="\u2168", password="\u2163\u0007", skip_empty=False)
def test_mutual_authentication_against_a_scram_server(
    mechanism: str, username: str, password: str, skip_empty: bool
) -> None:
    assume(server_prepare(mechanism, username, password) is not None)
    server = MiniScramServer({username: store_user(mechanism, username, password)}, skip_empty)
    credential = MongoCredential(mechanism, "admin", username, password)
    sent = drive(get_conversation(credential, cache=ScramCache()), server)
    assert len(sent) == (2 if skip_empty else 3)

    # The client proves itself: a wrong password is refused by the server...
    wrong = MongoCredential(mechanism, "admin", username, password + "x")
    exc = capture(lambda: drive(get_conversation(wrong, cache=None), server))
    assert isinstance(exc, OperationFailure) and exc.code == 18
    # ...and the server proves itself: one without the ServerKey is refused by the client.
    impostor = MiniScramServer(server.users, skip_empty, impostor=True)
    exc = capture(lambda: drive(get_conversation(credential, cache=None), impostor))
    assert isinstance(exc, OperationFailure) and "did not verify" in str(exc)


@pytest.mark.parametrize(
    ("username", "stored_password", "client_passwords"),
    [
        # The auth spec's SASLprep test users (Step 4), stored with the raw bytes.
        ("IX", "IX", ["IX", "I\u00adX", "\u2168"]),
        ("\u2168", "\u2163", ["IV", "I\u00adV", "\u2163"]),
    ],
)
def test_auth_spec_saslprep_users(
    username: str, stored_password: str, client_passwords: list[str]
) -> None:
    server = MiniScramServer({username: store_user(SHA256, username, stored_password)})
    for password in client_passwords:
        credential = MongoCredential(SHA256, "admin", username, password)
        drive(get_conversation(credential, cache=None), server)
    # SCRAM-SHA-1 does not prepare: a differently spelt password is another password.
    server = MiniScramServer({username: store_user(SHA1, username, stored_password)})
    drive(
        get_conversation(MongoCredential(SHA1, "admin", username, stored_password), cache=None),
        server,
    )
    spelt = MongoCredential(SHA1, "admin", username, client_passwords[1])
    exc = capture(lambda: drive(get_conversation(spelt, cache=None), server))
    assert isinstance(exc, OperationFailure) and exc.code == 18


def test_unassigned_code_points_reach_the_server_unchanged() -> None:
    # A query-mode SASLprep: an emoji password a server could store is not refused here.
    password = "pw-\U0001f600-\u00e9"
    server = MiniScramServer({"ada": store_user(SHA256, "ada", password)})
    drive(get_conversation(MongoCredential(SHA256, "admin", "ada", password), cache=None), server)


# ------------------------------------------------------------------ speculative auth


def test_speculative_scram_resumes_after_hello() -> None:
    auth = hello_auth_fields(USER_PENCIL_256, nonce=RFC7677_NONCE)
    assert auth.fields == {
        "speculativeAuthenticate": {
            "saslStart": 1,
            "mechanism": SHA256,
            "payload": b"n,,n=user,r=" + RFC7677_NONCE.encode(),
            "autoAuthorize": 1,
            "options": {"skipEmptyExchange": True},
            "db": "admin",
        }
    }
    # The speculative reply is the saslStart reply without ``ok`` (handshake spec).
    hello_reply = {
        "ok": 1.0,
        "isWritablePrimary": True,
        "speculativeAuthenticate": {
            "conversationId": 1,
            "done": False,
            "payload": RFC7677_SERVER_FIRST,
        },
    }
    conversation = auth.conversation(hello_reply, cache=None)
    sent = drive(conversation, scripted(ok(RFC7677_SERVER_FINAL, done=True)))
    assert sent == [
        {"saslContinue": 1, "conversationId": 1, "payload": RFC7677_CLIENT_FINAL, "$db": "admin"}
    ]


def test_speculative_scram_still_verifies_the_server() -> None:
    auth = hello_auth_fields(USER_PENCIL_256, nonce=RFC7677_NONCE)
    hello_reply = {"ok": 1, "speculativeAuthenticate": ok(RFC7677_SERVER_FIRST)}
    conversation = auth.conversation(hello_reply, cache=None)
    exc = capture(lambda: drive(conversation, scripted(ok(b"v=AAAA", done=True))))
    assert isinstance(exc, OperationFailure) and "did not verify" in str(exc)


def test_default_speculates_with_sha256_and_asks_for_mechanisms() -> None:
    credential = MongoCredential("DEFAULT", "app", "\u2168", "pw")
    auth = hello_auth_fields(credential, nonce="abc")
    # The user name goes out as given, never SASLprep'd.
    assert auth.fields["saslSupportedMechs"] == "app.\u2168"
    speculative = auth.fields["speculativeAuthenticate"]
    assert speculative["mechanism"] == SHA256 and speculative["db"] == "app"
    assert speculative["payload"] == "n,,n=\u2168,r=abc".encode()


def test_default_falls_back_to_negotiation_without_a_speculative_reply() -> None:
    credential = MongoCredential("DEFAULT", "admin", "user", "pencil")
    auth = hello_auth_fields(credential, nonce="first-nonce")
    cases: list[tuple[Reply, str]] = [
        ({"ok": 1, "saslSupportedMechs": ["SCRAM-SHA-1"]}, SHA1),
        ({"ok": 1, "saslSupportedMechs": ["SCRAM-SHA-1", "SCRAM-SHA-256"]}, SHA256),
        ({"ok": 1}, SHA1),
        ({"ok": 1, "saslSupportedMechs": "SCRAM-SHA-256"}, SHA1),  # not a list: ignored
    ]
    for reply, mechanism in cases:
        command = first_command(auth.conversation(reply, cache=None, nonce=RFC5802_NONCE))
        assert command is not None
        assert command["saslStart"] == 1 and command["mechanism"] == mechanism
        assert command["payload"] == b"n,,n=user,r=" + RFC5802_NONCE.encode()


def test_full_default_handshake_against_the_scram_server() -> None:
    users = {"ada": store_user(SHA1, "ada", "pw")}
    credential = MongoCredential("DEFAULT", "admin", "ada", "pw")
    auth = hello_auth_fields(credential)
    # A server without SCRAM-SHA-256 for this user ignores the speculative attempt.
    hello_reply = {"ok": 1, "saslSupportedMechs": ["SCRAM-SHA-1"]}
    sent = drive(auth.conversation(hello_reply, cache=None), MiniScramServer(users))
    assert sent[0]["mechanism"] == SHA1


def test_speculative_x509() -> None:
    credential = MongoCredential("MONGODB-X509", "$external", "CN=client,O=Org")
    auth = hello_auth_fields(credential)
    assert auth.fields == {
        "speculativeAuthenticate": {
            "authenticate": 1,
            "mechanism": "MONGODB-X509",
            "user": "CN=client,O=Org",
            "db": "$external",
        }
    }
    taken = {"ok": 1, "speculativeAuthenticate": {"dbname": "$external", "user": "CN=client,O=Org"}}
    assert drive(auth.conversation(taken, cache=None), scripted()) == []
    not_taken = {"ok": 1}
    sent = drive(auth.conversation(not_taken, cache=None), scripted({"ok": 1}), "$external")
    assert sent == [
        {
            "authenticate": 1,
            "mechanism": "MONGODB-X509",
            "user": "CN=client,O=Org",
            "$db": "$external",
        }
    ]


def test_plain_does_not_speculate() -> None:
    credential = MongoCredential("PLAIN", "$external", "u", "Plain-Pw-Secret")
    auth = hello_auth_fields(credential)
    assert auth == HelloAuth(credential, {})
    assert "Plain-Pw-Secret" not in repr(auth)


# ------------------------------------------------------------------ X.509 and PLAIN


def test_x509_command_shapes() -> None:
    anonymous = MongoCredential("MONGODB-X509", "$external", None)
    named = MongoCredential("MONGODB-X509", "$external", "CN=client")
    assert x509_command(anonymous) == {"authenticate": 1, "mechanism": "MONGODB-X509"}
    assert x509_command(MongoCredential("MONGODB-X509", "$external", "")) == x509_command(anonymous)
    assert x509_command(named) == {
        "authenticate": 1,
        "mechanism": "MONGODB-X509",
        "user": "CN=client",
    }
    assert x509_speculative_command(anonymous) == {
        "authenticate": 1,
        "mechanism": "MONGODB-X509",
        "db": "$external",
    }
    reply = {"ok": 1, "dbname": "$external", "user": "CN=client"}
    assert drive(x509_conversation(named), scripted(reply)) == [
        {"authenticate": 1, "mechanism": "MONGODB-X509", "user": "CN=client", "$db": "admin"}
    ]
    exc = capture(lambda: drive(x509_conversation(named), scripted(AUTH_FAILED)))
    assert isinstance(exc, OperationFailure) and exc.code == 18
    assert first_command(resume_x509_conversation(named, {"user": "CN=client"})) is None


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        (MongoCredential("MONGODB-X509", "admin", None), "'\\$external', not 'admin'"),
        (MongoCredential("MONGODB-X509", "$external", None, "pw"), "takes no password"),
    ],
)
def test_x509_credential_rules(credential: MongoCredential, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        x509_command(credential)
    with pytest.raises(ConfigurationError, match=message):
        validate_credential(credential)
    with pytest.raises(ConfigurationError, match=message):
        hello_auth_fields(credential)


def test_plain_command_shape() -> None:
    credential = MongoCredential("PLAIN", "$external", "user", "pencil")
    command = plain_command(credential)
    assert command == {
        "saslStart": 1,
        "mechanism": "PLAIN",
        "payload": b"\x00user\x00pencil",
        "autoAuthorize": 1,
    }
    # The auth spec's example payload.
    assert base64.b64encode(command["payload"]) == b"AHVzZXIAcGVuY2ls"
    assert isinstance(command["payload"], RedactedBytes)
    assert "pencil" not in repr(command) and "pencil" not in str(command)
    # It encodes exactly like plain bytes.
    assert encode(command) == encode({**command, "payload": b"\x00user\x00pencil"})
    done = {"ok": 1, "conversationId": 1, "done": True, "payload": b""}
    assert len(drive(plain_conversation(credential), scripted(done), "$external")) == 1


def test_plain_failures() -> None:
    password = "Plain-Secret-Passw0rd"
    credential = MongoCredential("PLAIN", "$external", "user", password)
    exc = capture(lambda: drive(plain_conversation(credential), scripted(AUTH_FAILED)))
    assert isinstance(exc, OperationFailure) and exc.code == 18
    assert_no_secret(exc, [password])
    not_done = {"ok": 1, "conversationId": 1, "done": False, "payload": b""}
    exc = capture(lambda: drive(plain_conversation(credential), scripted(not_done)))
    assert isinstance(exc, OperationFailure) and "did not finish" in str(exc)
    for bad in (
        MongoCredential("PLAIN", "$external", "us\0er", "pw"),
        MongoCredential("PLAIN", "$external", "user", "pw\0-Secret-Passw0rd"),
    ):
        exc = capture(functools.partial(plain_command, bad))
        assert isinstance(exc, ConfigurationError) and "NUL" in str(exc)
        assert_no_secret(exc, ["-Secret-Passw0rd"])


# ------------------------------------------------------------------ negotiation


@pytest.mark.parametrize(
    ("mechanism", "sasl_supported_mechs", "expected"),
    [
        ("DEFAULT", ["SCRAM-SHA-1", "SCRAM-SHA-256"], SHA256),
        ("DEFAULT", ["SCRAM-SHA-256"], SHA256),
        ("DEFAULT", ["SCRAM-SHA-256", "SCRAM-SHA-1"], SHA256),
        ("DEFAULT", ["SCRAM-SHA-1"], SHA1),
        ("DEFAULT", [], SHA1),  # SCRAM-SHA-1 even if not listed (auth spec)
        ("DEFAULT", None, SHA1),  # no saslSupportedMechs: the pre-4.0 rule
        ("DEFAULT", ["PLAIN", "GSSAPI", "MONGODB-FUTURE"], SHA1),  # unknowns ignored
        ("DEFAULT", ("SCRAM-SHA-256",), SHA256),
        (SHA1, ["SCRAM-SHA-256"], SHA1),  # an explicit mechanism is honoured
        (SHA1, None, SHA1),
        (SHA256, ["SCRAM-SHA-1"], SHA256),
        (SHA256, None, SHA256),
        ("PLAIN", ["SCRAM-SHA-256"], "PLAIN"),
        ("MONGODB-X509", None, "MONGODB-X509"),
    ],
)
def test_mechanism_negotiation(
    mechanism: str, sasl_supported_mechs: list[str] | None, expected: str
) -> None:
    if mechanism == "MONGODB-X509":
        credential = MongoCredential(mechanism, "$external", None)
    else:
        credential = MongoCredential(mechanism, "admin", "ada", "pw")
    assert choose_mechanism(credential, sasl_supported_mechs) == expected


@pytest.mark.parametrize(
    "mechanism",
    ["GSSAPI", "MONGODB-AWS", "MONGODB-OIDC", "MONGODB-CR", "SCRAM-SHA-512", "scram-sha-256"],
)
def test_unsupported_mechanisms(mechanism: str) -> None:
    credential = MongoCredential(mechanism, "$external", "ada", "Secret-Pw-123")
    for action in (
        lambda: validate_credential(credential),
        lambda: choose_mechanism(credential, None),
        lambda: hello_auth_fields(credential),
        lambda: get_conversation(credential, cache=None),
    ):
        exc = capture(action)
        assert isinstance(exc, ConfigurationError)
        assert repr(mechanism) in str(exc) and "not supported" in str(exc)
        assert_no_secret(exc, ["Secret-Pw-123"])


@pytest.mark.parametrize(
    ("mechanism", "database", "expected"),
    [
        ("DEFAULT", None, "admin"),
        ("DEFAULT", "app", "app"),
        (SHA1, None, "admin"),
        (SHA256, "app", "app"),
        ("PLAIN", None, "$external"),
        ("PLAIN", "app", "app"),
        ("MONGODB-X509", "app", "$external"),
        ("GSSAPI", None, "$external"),
        ("MONGODB-AWS", "app", "$external"),
    ],
)
def test_default_source(mechanism: str, database: str | None, expected: str) -> None:
    assert default_source(mechanism, database) == expected


def test_validate_credential_needs_a_source() -> None:
    with pytest.raises(ConfigurationError, match="source"):
        validate_credential(MongoCredential(SHA256, "", "ada", "pw"))


def test_conversations_are_generators_of_the_documented_shape() -> None:
    conversation = get_conversation(USER_PENCIL_256, cache=None)
    command = first_command(conversation)
    assert isinstance(command, dict) and "$db" not in command
    conversation.close()

"""Command monitoring and command logging, the pure parts (no server, no socket).

driver.monitoring's command events and CommandListener, driver.protocol.redaction (the
sensitive commands, the event builders) and driver.protocol.command_log (the "Command
started/succeeded/failed" log lines). The vendored unified spec files of
command-logging-and-monitoring need a live server and a unified runner; here only
their redaction cases are replayed against the pure rules.
"""

from __future__ import annotations

import datetime
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driver import MongoClient
from driver import monitoring as m
from driver.bson import Int64, ObjectId
from driver.bson.json_util import dumps
from driver.errors import (
    AutoReconnect,
    InvalidDocument,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
)
from driver.protocol import command_log
from driver.protocol.command_log import (
    DEFAULT_MAX_DOCUMENT_LENGTH,
    CommandLogMessage,
    format_document,
    log_command_failed,
    log_command_started,
    log_command_succeeded,
    max_document_length,
)
from driver.protocol.redaction import (
    REDACTED_FAILURE_FIELDS,
    CommandContext,
    command_context,
    command_with_sequences,
    failed_event,
    failure_document,
    is_sensitive,
    next_operation_id,
    redact_command,
    redact_failure,
    redact_reply,
    started_event,
    succeeded_event,
)

ROOT = Path(__file__).resolve().parents[2]
SPEC_DIR = ROOT / "tests" / "specs" / "command-logging-and-monitoring" / "tests"
ADDRESS = ("db.example.com", 27017)
SERVICE_ID = ObjectId("65f0a1b2c3d4e5f6a7b8c9d0")

SENSITIVE_NAMES = [
    "authenticate",
    "saslStart",
    "saslContinue",
    "getnonce",
    "createUser",
    "updateUser",
    "copydbgetnonce",
    "copydbsaslstart",
    "copydb",
]
HELLO_NAMES = ["hello", "isMaster", "ismaster"]
SPECULATIVE = {"saslStart": 1, "mechanism": "SCRAM-SHA-256", "payload": b"n,,n=ann,r=nonce"}


def context_of(command: Mapping[str, Any], **kwargs: Any) -> CommandContext:
    defaults: dict[str, Any] = {"driver_connection_id": 3, "server_connection_id": 41}
    defaults.update(kwargs)
    return command_context(command, "app", 17, ADDRESS, 9, **defaults)


def server_error(code: int = 18, **extra: Any) -> OperationFailure:
    reply = {
        "ok": 0,
        "errmsg": "Authentication failed for ann with hunter2",
        "code": code,
        "codeName": "AuthenticationFailed",
        **extra,
    }
    return OperationFailure(str(reply["errmsg"]), code, reply)


# ------------------------------------------------------------------------- sensitivity


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_every_listed_command_is_sensitive_in_any_case(name: str) -> None:
    assert is_sensitive(name, {name: 1})
    assert is_sensitive(name.upper(), {name.upper(): 1})
    assert redact_command(name, {name: 1, "payload": b"secret"}) == {}


@pytest.mark.parametrize("name", HELLO_NAMES)
def test_hello_is_sensitive_only_with_speculative_authenticate(name: str) -> None:
    plain = {name: 1, "client": {"driver": {"name": "feldspar"}}}
    speculative = {name: 1, "speculativeAuthenticate": SPECULATIVE}
    assert not is_sensitive(name, plain)
    assert is_sensitive(name, speculative)
    assert redact_command(name, plain) is plain
    assert redact_command(name, speculative) == {}


@pytest.mark.parametrize("name", ["find", "insert", "ping", "aggregate", "helloWorld"])
def test_ordinary_commands_are_not_sensitive(name: str) -> None:
    assert not is_sensitive(name, {name: 1, "speculativeAuthenticate": {}})


def test_a_hello_reply_is_redacted_when_the_command_or_the_reply_speculates() -> None:
    reply = {"ok": 1, "isWritablePrimary": True}
    speculative_reply = {**reply, "speculativeAuthenticate": {"payload": b"server-first"}}
    assert redact_reply("hello", {"hello": 1}, reply) is reply
    assert redact_reply("hello", {"hello": 1, "speculativeAuthenticate": SPECULATIVE}, reply) == {}
    assert redact_reply("hello", {"hello": 1}, speculative_reply) == {}
    assert redact_reply("saslStart", {"saslStart": 1}, {"ok": 1, "payload": b"r=..."}) == {}


# ---------------------------------------------------------------------- building events


def test_events_of_an_ordinary_command() -> None:
    command = {"find": "users", "filter": {"_id": 1}, "$db": "app"}
    context = context_of(command, service_id=SERVICE_ID)
    started = started_event(context, command)
    assert started.command is command
    assert (started.command_name, started.database_name) == ("find", "app")
    assert (started.request_id, started.operation_id) == (17, 9)
    assert started.connection_id == ADDRESS
    assert (started.service_id, started.server_connection_id) == (SERVICE_ID, 41)

    reply = {"ok": 1, "cursor": {"id": Int64(0), "ns": "app.users", "firstBatch": []}}
    succeeded = succeeded_event(context, reply, 0.0125)
    assert succeeded.reply is reply
    assert succeeded.duration_micros == 12500
    assert (succeeded.command_name, succeeded.database_name) == ("find", "app")
    assert (succeeded.request_id, succeeded.operation_id) == (17, 9)
    assert (succeeded.connection_id, succeeded.service_id) == (ADDRESS, SERVICE_ID)
    assert succeeded.server_connection_id == 41


def test_the_operation_id_defaults_to_the_request_id() -> None:
    context = command_context({"ping": 1}, "admin", 99, ADDRESS)
    assert context.operation_id == 99
    assert started_event(context, {"ping": 1}).operation_id == 99


@pytest.mark.parametrize(
    ("seconds", "micros"), [(0.0, 0), (3e-6, 3), (0.0025, 2500), (1.5, 1_500_000)]
)
def test_durations_are_whole_microseconds(seconds: float, micros: int) -> None:
    context = context_of({"ping": 1})
    assert succeeded_event(context, {"ok": 1}, seconds).duration_micros == micros
    assert failed_event(context, TimeoutError("t"), seconds).duration_micros == micros


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_sensitive_commands_have_empty_command_and_reply(name: str) -> None:
    command = {name: 1, "pwd": "hunter2", "payload": b"n,,n=ann,r=x", "$db": "admin"}
    context = context_of(command)
    assert context.sensitive
    started = started_event(context, command)
    assert started.command == {} and started.command_name == name
    succeeded = succeeded_event(context, {"ok": 1, "payload": b"v=signature"}, 0.001)
    assert succeeded.reply == {} and succeeded.command_name == name


@pytest.mark.parametrize("name", HELLO_NAMES)
def test_hello_events_with_and_without_speculative_authenticate(name: str) -> None:
    reply = {"ok": 1, "isWritablePrimary": True, "maxWireVersion": 21}
    plain = {name: 1, "$db": "admin"}
    context = context_of(plain)
    assert started_event(context, plain).command == plain
    assert succeeded_event(context, reply, 0.0).reply == reply

    speculative = {name: 1, "speculativeAuthenticate": SPECULATIVE, "$db": "admin"}
    context = context_of(speculative)
    started = started_event(context, speculative)
    assert started.command == {} and started.command_name == name
    # The reply of a speculative hello needs no speculativeAuthenticate of its own to be
    # redacted: the command decided it.
    assert succeeded_event(context, reply, 0.0).reply == {}


def test_events_redact_themselves_when_built_directly() -> None:
    # As PyMongo: a listener never sees credentials, even from an event built by hand.
    started = m.CommandStartedEvent({"createUser": "ann", "pwd": "hunter2"}, "admin", 1, ADDRESS, 1)
    assert started.command == {} and started.command_name == "createUser"
    assert "hunter2" not in repr(started)
    hello = m.CommandStartedEvent(
        {"hello": 1, "speculativeAuthenticate": {}}, "admin", 2, ADDRESS, 2
    )
    assert hello.command == {}
    succeeded = m.CommandSucceededEvent(5, {"ok": 1, "nonce": "n"}, "getnonce", 3, ADDRESS, 3)
    assert succeeded.reply == {}
    speculative_reply = {"ok": 1, "speculativeAuthenticate": {"payload": b"x"}}
    assert m.CommandSucceededEvent(5, speculative_reply, "isMaster", 4, ADDRESS, 4).reply == {}
    with pytest.raises(ValueError, match="not a valid command"):
        m.CommandStartedEvent({}, "admin", 5, ADDRESS, 5)
    with pytest.raises(ValueError, match="not a valid command"):
        command_context({}, "admin", 5, ADDRESS)


def test_a_started_event_shows_document_sequences_as_arrays() -> None:
    body = {"insert": "users", "ordered": True, "$db": "app"}
    documents = ({"_id": 1}, {"_id": 2})
    merged = command_with_sequences(body, {"documents": iter(documents)})
    assert merged == {**body, "documents": [{"_id": 1}, {"_id": 2}]}
    assert body == {"insert": "users", "ordered": True, "$db": "app"}  # not modified
    assert started_event(context_of(merged), merged).command["documents"] == list(documents)
    assert command_with_sequences(body, {}) is body


# ---------------------------------------------------------------------- failure events


def test_a_server_error_gives_its_reply_as_the_failure() -> None:
    error = server_error(code=2, codeName="BadValue")
    event = failed_event(context_of({"find": "users"}), error, 0.002)
    assert event.failure is error.details
    assert event.duration_micros == 2000
    assert (event.command_name, event.database_name, event.request_id) == ("find", "app", 17)
    assert (event.operation_id, event.server_connection_id) == (9, 41)


def test_a_driver_error_gives_errmsg_and_errtype() -> None:
    error = NetworkTimeout("db.example.com:27017: timed out")
    event = failed_event(context_of({"find": "users"}), error, 0.0)
    assert event.failure == {"errmsg": str(error), "errtype": "NetworkTimeout"}


def test_not_primary_carries_the_server_reply() -> None:
    reply = {"ok": 0, "errmsg": "not primary", "code": 10107, "codeName": "NotWritablePrimary"}
    assert failure_document(NotPrimaryError("not primary", reply)) is reply
    assert failure_document(NotPrimaryError("lost")) == {
        "errmsg": "lost",
        "errtype": "NotPrimaryError",
    }


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_a_server_error_on_a_sensitive_command_keeps_only_code_name_and_labels(
    name: str,
) -> None:
    error = server_error(errorLabels=["TransientTransactionError"], payload=b"x")
    event = failed_event(context_of({name: 1, "pwd": "hunter2"}), error, 0.0)
    assert event.failure == {
        "code": 18,
        "codeName": "AuthenticationFailed",
        "errorLabels": ["TransientTransactionError"],
    }
    assert set(event.failure) <= set(REDACTED_FAILURE_FIELDS)


@pytest.mark.parametrize(
    "error",
    [AutoReconnect("connection closed"), ConnectionResetError(104, "reset by peer")],
    ids=["AutoReconnect", "OSError"],
)
def test_a_network_error_on_a_sensitive_command_is_not_redacted(error: Exception) -> None:
    # The spec's "network error in response to saslStart is not redacted" cases.
    command = {"saslStart": 1, "payload": b"n,,n=ann"}
    failure = failed_event(context_of(command), error, 0.0).failure
    assert failure == {"errmsg": str(error), "errtype": type(error).__name__}
    assert redact_failure("saslStart", command, error) == failure


def test_another_driver_error_on_a_sensitive_command_keeps_only_its_type() -> None:
    # An encoding error may quote the value it refused: the password, for createUser.
    error = InvalidDocument("cannot encode object: 'hunter2'")
    command = {"createUser": "ann", "pwd": "hunter2"}
    assert failed_event(context_of(command), error, 0.0).failure == {"errtype": "InvalidDocument"}
    assert redact_failure("find", {"find": "c"}, error) == {
        "errmsg": str(error),
        "errtype": "InvalidDocument",
    }


# ------------------------------------------------------------------ listeners, routing


class Recorder(m.CommandListener):
    def __init__(self) -> None:
        self.events: list[object] = []

    def started(self, event: m.CommandStartedEvent) -> None:
        self.events.append(event)

    def succeeded(self, event: m.CommandSucceededEvent) -> None:
        self.events.append(event)

    def failed(self, event: m.CommandFailedEvent) -> None:
        self.events.append(event)


class Beats(m.ServerHeartbeatListener):
    """Same method names as CommandListener: it must get none of the command events."""

    def __init__(self) -> None:
        self.calls = 0

    def started(self, event: object) -> None:
        self.calls += 1

    def succeeded(self, event: object) -> None:
        self.calls += 1

    def failed(self, event: object) -> None:
        self.calls += 1


def test_command_events_reach_command_listeners_only() -> None:
    recorder, beats, pool = Recorder(), Beats(), m.ConnectionPoolListener()
    listeners = [recorder, beats, pool]
    context = context_of({"ping": 1})
    started = started_event(context, {"ping": 1})
    succeeded = succeeded_event(context, {"ok": 1}, 0.001)
    failed = failed_event(context, TimeoutError("t"), 0.001)
    for event in (started, succeeded, failed):
        m.publish(listeners, event)
    assert recorder.events == [started, succeeded, failed]
    assert beats.calls == 0
    # One started event, one matching end event per request id (the spec's guarantee).
    assert {getattr(event, "request_id", None) for event in recorder.events} == {17}


def test_the_base_command_listener_ignores_everything() -> None:
    listener = m.CommandListener()
    context = context_of({"ping": 1})
    m.publish([listener], started_event(context, {"ping": 1}))
    m.publish([listener], succeeded_event(context, {"ok": 1}, 0.0))
    m.publish([listener], failed_event(context, TimeoutError("t"), 0.0))
    assert m.is_listener(listener)
    assert m.listeners_of(m.CommandListener, [listener, Beats()]) == (listener,)


def test_a_command_listener_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(m.CommandListener):
        def started(self, event: m.CommandStartedEvent) -> None:
            raise RuntimeError("listener bug")

    after = Recorder()
    with caplog.at_level(logging.ERROR, logger="driver.monitoring"):
        m.publish([Broken(), after], started_event(context_of({"ping": 1}), {"ping": 1}))
    assert "listener bug" in caplog.text and "CommandStartedEvent" in caplog.text
    assert len(after.events) == 1  # the next listener still ran


def test_the_client_accepts_a_command_listener() -> None:
    MongoClient("mongodb://127.0.0.1:1/", event_listeners=[Recorder()]).close()


def test_command_names_are_exported_and_sorted() -> None:
    for name in (
        "CommandFailedEvent",
        "CommandListener",
        "CommandStartedEvent",
        "CommandSucceededEvent",
    ):
        assert name in m.__all__
    assert m.__all__ == sorted(m.__all__)


def test_operation_ids_are_distinct_across_threads() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        ids = [next_operation_id() for _ in range(500)]
        with lock:
            seen.extend(ids)

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(seen)) == len(seen) == 4000
    assert all(value > 0 for value in seen)


@pytest.mark.parametrize(
    "first", ["driver.protocol.redaction", "driver.monitoring", "driver.protocol.command_log"]
)
def test_the_monitoring_redaction_cycle_imports_in_any_order(first: str) -> None:
    code = (
        f"import {first}\n"
        "from driver.monitoring import CommandStartedEvent\n"
        "from driver.protocol.redaction import started_event\n"
        "print('ok')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ok"


# ----------------------------------------------------------- the spec's redaction cases


def _spec_started_commands() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    spec = json.loads((SPEC_DIR / "monitoring" / "redacted-commands.json").read_text())
    for test in spec["tests"]:
        commands = [op["arguments"]["command"] for op in test["operations"]]
        expected = [
            event["commandStartedEvent"]
            for block in test["expectEvents"]
            for event in block["events"]
            if "commandStartedEvent" in event
        ]
        assert len(commands) == len(expected)
        for index, (command, event) in enumerate(zip(commands, expected, strict=True)):
            yield f"{test['description']}[{index}]", command, event


SPEC_STARTED = list(_spec_started_commands())


@pytest.mark.parametrize(
    ("command", "expected"),
    [(command, expected) for _, command, expected in SPEC_STARTED],
    ids=[name for name, _, _ in SPEC_STARTED],
)
def test_the_spec_redaction_cases(command: dict[str, Any], expected: dict[str, Any]) -> None:
    event = started_event(context_of(command), command)
    assert event.command_name == expected["commandName"]
    for key, value in expected["command"].items():
        if value == {"$$exists": False}:
            assert key not in event.command
        else:
            assert event.command[key] == value


def test_the_spec_tests_are_vendored() -> None:
    names = {path.relative_to(SPEC_DIR).as_posix() for path in SPEC_DIR.rglob("*.json")}
    assert "monitoring/redacted-commands.json" in names
    assert "logging/redacted-commands.json" in names
    assert len(names) == 23
    for path in SPEC_DIR.rglob("*.json"):
        assert "schemaVersion" in json.loads(path.read_text()), path


# --------------------------------------------------------------------------- logging


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG, logger="driver.command"):
        yield caplog


def fields_of(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    records = [r for r in caplog.records if r.name == "driver.command"]
    for record in records:
        assert record.levelno == logging.DEBUG
        assert isinstance(record.msg, CommandLogMessage)
        # The printed form is the same fields as one JSON object.
        assert json.loads(record.getMessage()) == record.msg.fields
    return [r.msg.fields for r in records if isinstance(r.msg, CommandLogMessage)]


def test_the_three_messages_and_their_fields(debug_log: pytest.LogCaptureFixture) -> None:
    command = {"insert": "users", "documents": [{"_id": Int64(1)}], "$db": "app"}
    context = context_of(command, service_id=SERVICE_ID)
    log_command_started(context, command)
    log_command_succeeded(context, {"ok": 1.0, "n": 1}, 0.0042)
    log_command_failed(context, server_error(code=11000, codeName="DuplicateKey"), 0.5)
    started, succeeded, failed = fields_of(debug_log)
    common = {
        "commandName": "insert",
        "databaseName": "app",
        "requestId": 17,
        "operationId": 9,
        "driverConnectionId": 3,
        "serverConnectionId": 41,
        "serverHost": "db.example.com",
        "serverPort": 27017,
        "serviceId": "65f0a1b2c3d4e5f6a7b8c9d0",
    }
    assert started == {
        "message": "Command started",
        **common,
        "command": '{"insert": "users", "documents": [{"_id": 1}], "$db": "app"}',
    }
    assert succeeded == {
        "message": "Command succeeded",
        **common,
        "durationMS": pytest.approx(4.2),
        "reply": '{"ok": 1.0, "n": 1}',
    }
    assert failed["message"] == "Command failed"
    assert failed["durationMS"] == pytest.approx(500.0)
    assert json.loads(failed["failure"])["codeName"] == "DuplicateKey"
    assert {key: failed[key] for key in common} == common


def test_absent_values_are_left_out(debug_log: pytest.LogCaptureFixture) -> None:
    context = command_context({"ping": 1}, "admin", 5, ("/tmp/mongodb-27017.sock", None))
    log_command_started(context, {"ping": 1})
    (fields,) = fields_of(debug_log)
    for key in ("serverPort", "serviceId", "serverConnectionId", "driverConnectionId"):
        assert key not in fields
    assert fields["serverHost"] == "/tmp/mongodb-27017.sock"
    assert fields["operationId"] == 5


def test_documents_are_relaxed_extended_json(debug_log: pytest.LogCaptureFixture) -> None:
    when = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc)
    command = {"find": "c", "filter": {"_id": ObjectId("5f43a1b2c3d4e5f6a7b8c9d0"), "at": when}}
    log_command_started(context_of(command), command)
    (fields,) = fields_of(debug_log)
    assert json.loads(fields["command"]) == {
        "find": "c",
        "filter": {
            "_id": {"$oid": "5f43a1b2c3d4e5f6a7b8c9d0"},
            "at": {"$date": "2024-05-01T12:00:00Z"},
        },
    }


def test_a_long_document_is_cut_at_1000_characters(debug_log: pytest.LogCaptureFixture) -> None:
    # The spec's prose test: insertMany of {"x": "y"} x 100 logs a cut command, and
    # a short reply whole.
    command = {"insert": "c", "documents": [{"x": "y"} for _ in range(100)], "$db": "app"}
    context = context_of(command)
    log_command_started(context, command)
    log_command_succeeded(context, {"ok": 1, "n": 100}, 0.0)
    started, succeeded = fields_of(debug_log)
    assert len(started["command"]) == DEFAULT_MAX_DOCUMENT_LENGTH + 3
    assert started["command"].endswith("...")
    full = dumps(command, json_options=command_log._JSON_OPTIONS)
    assert started["command"] == full[:1000] + "..."
    assert succeeded["reply"] == '{"ok": 1, "n": 100}'


def test_a_long_failure_is_cut_too(debug_log: pytest.LogCaptureFixture) -> None:
    error = OperationFailure("big", 2, {"ok": 0, "errmsg": "e" * 5000, "code": 2})
    log_command_failed(context_of({"find": "c"}), error, 0.0)
    (fields,) = fields_of(debug_log)
    assert len(fields["failure"]) == 1003 and fields["failure"].endswith("...")


@pytest.mark.parametrize(
    ("limit", "expected"),
    [(0, "..."), (5, '{"s":...'), (15, '{"s": "aaaaaaaa...'), (200, '{"s": "' + "a" * 20 + '"}')],
)
def test_format_document_cut_points(limit: int, expected: str) -> None:
    assert format_document({"s": "a" * 20}, max_length=limit) == expected


def test_a_document_exactly_at_the_limit_is_whole() -> None:
    text = format_document({"s": "a" * 20})
    assert format_document({"s": "a" * 20}, max_length=len(text)) == text


def test_the_text_is_ascii_so_a_cut_never_splits_a_character() -> None:
    # Non-ASCII is escaped (as json and PyMongo do): the limit counts characters of
    # that text, and a naive cut (the spec wants naive) cannot leave half a character.
    cut = format_document({"s": "é" * 50}, max_length=20)
    assert cut == '{"s": "\\u00e9\\u00e9\\...'
    assert cut.isascii()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, 1000),
        ({"MONGODB_LOG_MAX_DOCUMENT_LENGTH": "50"}, 50),
        ({"MONGOB_LOG_MAX_DOCUMENT_LENGTH": "60"}, 60),
        ({"MONGODB_LOG_MAX_DOCUMENT_LENGTH": "50", "MONGOB_LOG_MAX_DOCUMENT_LENGTH": "60"}, 50),
        ({"MONGODB_LOG_MAX_DOCUMENT_LENGTH": "lots"}, 1000),
        ({"MONGODB_LOG_MAX_DOCUMENT_LENGTH": "-1"}, 1000),
    ],
)
def test_the_max_document_length_setting(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: int
) -> None:
    monkeypatch.delenv("MONGODB_LOG_MAX_DOCUMENT_LENGTH", raising=False)
    monkeypatch.delenv("MONGOB_LOG_MAX_DOCUMENT_LENGTH", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert max_document_length() == expected
    assert len(format_document({"s": "x" * 5000})) == expected + 3


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=40)
    | st.binary(max_size=20)
    | st.builds(ObjectId)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=8), inner, max_size=8)
    ),
    max_leaves=60,
)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=8), _VALUES, max_size=8), limit=st.integers(0, 300)
)
def test_cutting_early_writes_the_same_text(document: dict[str, Any], limit: int) -> None:
    # The clipping that avoids writing a huge document whole must not change a character.
    full = dumps(document, json_options=command_log._JSON_OPTIONS)
    expected = full if len(full) <= limit else full[:limit] + "..."
    assert format_document(document, max_length=limit) == expected


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_secrets_never_reach_the_log(debug_log: pytest.LogCaptureFixture, name: str) -> None:
    command = {name: "ann", "pwd": "hunter2", "payload": b"hunter2", "$db": "admin"}
    context = context_of(command)
    log_command_started(context, command)
    log_command_succeeded(context, {"ok": 1, "payload": "hunter2", "nonce": "hunter2"}, 0.0)
    log_command_failed(context, server_error(), 0.0)
    log_command_failed(context, InvalidDocument("cannot encode 'hunter2'"), 0.0)
    started, succeeded, failed, other = fields_of(debug_log)
    assert started["command"] == "{}" and started["commandName"] == name
    assert succeeded["reply"] == "{}"
    assert json.loads(failed["failure"]) == {"code": 18, "codeName": "AuthenticationFailed"}
    assert json.loads(other["failure"]) == {"errtype": "InvalidDocument"}
    assert "hunter2" not in debug_log.text
    assert "aHVudGVyMg" not in debug_log.text  # nor its base64


def test_a_speculative_hello_is_logged_redacted(debug_log: pytest.LogCaptureFixture) -> None:
    plain, speculative = {"hello": 1}, {"hello": 1, "speculativeAuthenticate": SPECULATIVE}
    reply = {"ok": 1, "isWritablePrimary": True}
    for command in (plain, speculative):
        context = context_of(command)
        log_command_started(context, command)
        log_command_succeeded(context, reply, 0.0)
    started_plain, succeeded_plain, started_secret, succeeded_secret = fields_of(debug_log)
    assert json.loads(started_plain["command"]) == plain
    assert json.loads(succeeded_plain["reply"]) == reply
    assert started_secret["command"] == "{}" and succeeded_secret["reply"] == "{}"


def test_a_network_error_on_a_sensitive_command_is_logged_whole(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    log_command_failed(context_of({"saslStart": 1}), AutoReconnect("connection closed"), 0.0)
    (fields,) = fields_of(debug_log)
    assert json.loads(fields["failure"]) == {
        "errmsg": "connection closed",
        "errtype": "AutoReconnect",
    }


class Exploding(Mapping[str, Any]):
    """A document that fails the moment anything reads it."""

    def __getitem__(self, key: str) -> Any:
        raise AssertionError("the document was read")

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("the document was read")

    def __len__(self) -> int:
        raise AssertionError("the document was read")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise AssertionError("the error was read")


def test_nothing_is_built_when_debug_is_off(caplog: pytest.LogCaptureFixture) -> None:
    context = context_of({"find": "c"})
    error = Unprintable()
    with caplog.at_level(logging.INFO, logger="driver.command"):
        assert not command_log.enabled()
        log_command_started(context, Exploding())
        log_command_succeeded(context, Exploding(), 0.0)
        log_command_failed(context, error, 0.0)
    assert not [r for r in caplog.records if r.name == "driver.command"]


def test_an_unwritable_document_never_breaks_the_command(
    debug_log: pytest.LogCaptureFixture,
) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "Opaque()"

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    context = context_of({"find": "c"})
    assert command_log.enabled()
    log_command_started(context, {"find": "c", "x": Opaque(), "y": Hostile()})
    log_command_succeeded(context, Exploding(), 0.0)
    started, succeeded = fields_of(debug_log)
    assert json.loads(started["command"]) == {
        "find": "c",
        "x": "Opaque()",
        "y": "<unprintable Hostile>",
    }
    assert succeeded["reply"] == "<document not written as JSON: AssertionError>"


def test_the_log_message_repr_shows_its_fields() -> None:
    message = CommandLogMessage({"message": "Command started"})
    assert repr(message) == "CommandLogMessage({'message': 'Command started'})"

"""The unified test format runner: one async code path for both clients.

``await UnifiedRunner(facts, mode).run(case)`` runs one test of a spec file as
unified-test-format.md, "Executing a Test", says: runOnRequirements, initialData
through an internal client (majority write concern), the entities, the operations (with
expectResult / expectError / saveResultAsEntity / ignoreResultAndError), then fail
points off, expectEvents, outcome, and every entity closed. ``mode`` is ``"async"``
(``AsyncMongoClient``) or ``"sync"`` (``MongoClient``, called directly in the event
loop's thread: a blocking call blocks nothing else the test needs).

The internal client is always async: it is the runner's, not what is tested.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import pytest

from driver import AsyncMongoClient
from driver.bson import ObjectId
from driver.errors import BulkWriteError, NotPrimaryError, OperationFailure, PyMongoError
from driver.results import BulkWriteResult
from driver.write_concern import WriteConcern
from tests.unified import operations as ops
from tests.unified.entities import (
    ClientEntity,
    CursorEntity,
    EntityMap,
    RunnerError,
    event_kind,
    event_name,
    resolve,
)
from tests.unified.matching import MISSING, MatchError, exactly_equal, match
from tests.unified.support import (
    SCHEMA_VERSION,
    Case,
    ServerFacts,
    client_uri,
    dumps,
    unmet_requirements,
    unsupported_entities,
)

__all__ = ["REQUIREMENT_SKIPS", "UnifiedRunner", "run_case"]

REQUIREMENT_SKIPS: dict[str, str] = {}
"""Cases skipped at run time by runOnRequirements (name -> reason), printed at the end."""

MAJORITY = WriteConcern(w="majority")


def run_case(case: Case, mode: str, facts: ServerFacts) -> None:
    """Run one case (the body of each parametrized test)."""
    reason = unmet_requirements(case.document.get("runOnRequirements"), facts) or (
        unmet_requirements(case.test.get("runOnRequirements"), facts)
    )
    if reason is not None:
        REQUIREMENT_SKIPS[f"{case.spec}/{case.name}"] = reason
        pytest.skip(reason)
    asyncio.run(UnifiedRunner(facts, mode).run(case))


def _entity_type(value: Any) -> str:
    from driver._async.collection import AsyncCollection
    from driver._async.database import AsyncDatabase
    from driver._sync.collection import Collection
    from driver._sync.database import Database

    if isinstance(value, ClientEntity):
        return "client"
    if isinstance(value, (AsyncDatabase, Database)):
        return "database"
    if isinstance(value, (AsyncCollection, Collection)):
        return "collection"
    if isinstance(value, CursorEntity):
        return "cursor"
    return type(value).__name__


class _Unsupported:
    """The place of an entity the runner does not make (a case using it is skipped)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


_ITERABLE_RESULTS = {"find", "aggregate", "listCollections", "listDatabases", "listIndexes",
                     "runCursorCommand", "listSearchIndexes"}

_TABLES = {"client": ops.CLIENT, "database": ops.DATABASE, "collection": ops.COLLECTION,
           "cursor": ops.CURSOR}


class UnifiedRunner:
    """Runs one test; holds its entity map, fail points and internal client."""

    def __init__(self, facts: ServerFacts, mode: str) -> None:
        self.facts = facts
        self.mode = mode
        self.entities = EntityMap()
        self.fail_points: list[str] = []
        self.internal: Any = None
        self.uses_fail_points = False

    # -- the test

    async def run(self, case: Case) -> None:
        document, test = case.fresh()
        version = tuple(int(part) for part in str(document["schemaVersion"]).split("."))
        if version[0] != SCHEMA_VERSION[0] or version[:2] > SCHEMA_VERSION:
            raise RunnerError(f"schemaVersion {document['schemaVersion']} is not supported")
        self.uses_fail_points = '"failPoint"' in dumps(test["operations"])
        self.internal = AsyncMongoClient(self.facts.internal_uri)
        try:
            for data in document.get("initialData") or []:
                await self._initial_data(data)
            await self._create_entities(document.get("createEntities") or [])
            for operation in test["operations"]:
                await self.run_operation(operation)
            for entity in self.entities.values():
                if isinstance(entity, ClientEntity):
                    entity.recorder.enabled = False
            await self._fail_points_off()
            for expected in test.get("expectEvents") or []:
                self._check_events(expected)
            for data in test.get("outcome") or []:
                await self._check_outcome(data)
        finally:
            cleanup_errors = await self._clean_up()
        if cleanup_errors:  # only reached when the test itself passed
            raise cleanup_errors[0]

    async def _clean_up(self) -> list[BaseException]:
        """Fail points off, cursors and clients closed: every step, whatever fails."""
        steps = [self._fail_points_off]
        steps += [entity.close for entity in self.entities.values()
                  if isinstance(entity, CursorEntity)]
        steps += [entity.close for entity in self.entities.values()
                  if isinstance(entity, ClientEntity)]
        steps.append(self.internal.close)
        errors: list[BaseException] = []
        for step in steps:
            try:
                await step()
            except Exception as exc:
                errors.append(exc)
        return errors

    async def _initial_data(self, data: Mapping[str, Any]) -> None:
        database = self.internal.get_database(data["databaseName"]).with_options(
            write_concern=MAJORITY
        )
        name = data["collectionName"]
        await database.drop_collection(name)
        options = data.get("createOptions")
        if options is not None or not data["documents"]:
            await database.create_collection(name, check_exists=False, **(options or {}))
        if data["documents"]:
            await database.get_collection(name).insert_many(data["documents"])

    async def _check_outcome(self, data: Mapping[str, Any]) -> None:
        collection = self.internal[data["databaseName"]][data["collectionName"]]
        actual = await collection.find({}).sort("_id", 1).to_list()
        expected = data["documents"]
        if not exactly_equal(expected, actual):
            raise MatchError(
                f"outcome of {data['databaseName']}.{data['collectionName']}: "
                f"expected {dumps(expected)}, got {dumps(actual)}"
            )

    async def _fail_points_off(self) -> None:
        while self.fail_points:
            name = self.fail_points.pop()
            await self.internal.admin.command({"configureFailPoint": name, "mode": "off"})

    # -- entities

    async def _create_entities(self, entities: list[Mapping[str, Any]]) -> None:
        # Entities the runner cannot make (sessions...) are left out: a case that uses
        # one is skipped by name before it runs (support.static_reason).
        unsupported = unsupported_entities(entities)
        for entity in entities:
            ((kind, options),) = entity.items()
            name = options["id"]
            if name in unsupported:
                # Not made, but its references are checked (valid-fail tests).
                for key in ("client", "database"):
                    parent = options.get(key)
                    if parent is not None and parent not in self.entities:
                        raise RunnerError(f"{kind} {name!r}: no entity named {parent!r}")
                self.entities.add(name, _Unsupported(unsupported[name]))
                continue
            if kind == "client":
                known = {"id", "uriOptions", "useMultipleMongoses", "observeEvents",
                         "ignoreCommandMonitoringEvents", "observeSensitiveCommands"}
                unknown = set(options) - known
                if unknown:
                    raise RunnerError(f"client entity options not supported: {sorted(unknown)}")
                uri_options = dict(options.get("uriOptions") or {})
                if self.uses_fail_points and "heartbeatFrequencyMS" not in uri_options:
                    # The spec allows a shorter heartbeat for clients of a test with fail
                    # points, so that after a state change error the server is found
                    # again at once, not after 10 s. Polling, because a streaming monitor
                    # is inside an awaited hello until heartbeatFrequencyMS (0.5 s at
                    # least) has passed; with the minimum gap between checks lowered
                    # (conftest) a requested check then runs at once.
                    uri_options["heartbeatFrequencyMS"] = 500
                    uri_options.setdefault("serverMonitoringMode", "poll")
                uri = client_uri(self.facts, uri_options)
                self.entities.add(name, ClientEntity.create(self.mode, uri, options))
            elif kind == "database":
                client = self.entities.get_typed(options["client"], ClientEntity)
                database = client.client.get_database(options["databaseName"])
                extra = self._options(options.get("databaseOptions"))
                self.entities.add(name, database.with_options(**extra) if extra else database)
            elif kind == "collection":
                database = self.entities.get_typed(options["database"])
                if _entity_type(database) != "database":
                    raise RunnerError(f"{options['database']!r} is not a database entity")
                collection = database.get_collection(
                    options["collectionName"], **self._options(options.get("collectionOptions"))
                )
                self.entities.add(name, collection)
            else:
                raise RunnerError(f"entity type {kind!r} is not supported")

    @staticmethod
    def _options(options: Mapping[str, Any] | None) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in (options or {}).items():
            if key == "readConcern":
                found["read_concern"] = ops.read_concern(value)
            elif key == "writeConcern":
                found["write_concern"] = ops.write_concern(value)
            elif key == "readPreference":
                found["read_preference"] = ops.read_preference(value)
            else:
                raise RunnerError(f"collection/database option {key!r} is not supported")
        return found

    # -- operations

    async def run_operation(self, operation: Mapping[str, Any]) -> None:
        name = operation["name"]
        target = operation["object"]
        if target == "testRunner":
            await self._special(name, operation.get("arguments") or {})
            return
        entity = self.entities.get_typed(target)
        table = _TABLES.get(_entity_type(entity))
        if table is None or name not in table:
            raise RunnerError(f"operation {name!r} on a {_entity_type(entity)} is not supported")
        args = ops.Args(name, operation.get("arguments"))
        result: Any = MISSING
        error: BaseException | None = None
        try:
            result = await table[name](self, entity, args)
        except (RunnerError, AssertionError, NotImplementedError):
            raise
        except Exception as exc:
            error = exc
        args.done()  # every argument was used (the handlers take them before calling)
        if operation.get("ignoreResultAndError"):
            return
        if "expectError" in operation:
            if error is None:
                raise MatchError(f"{name}: expected an error, got the result {result!r}")
            self._check_error(operation["expectError"], error)
            return
        if error is not None:
            raise MatchError(f"{name}: unexpected error {type(error).__name__}: {error}") from error
        if "expectResult" in operation:
            try:
                expected = operation["expectResult"]
                if name in _ITERABLE_RESULTS and isinstance(expected, list):
                    # Each document of an iterated result is a root-level document.
                    if not isinstance(result, list) or len(result) != len(expected):
                        raise MatchError(f"expected {len(expected)} documents")
                    for want, got in zip(expected, result, strict=True):
                        match(want, got, self.entities)
                else:
                    match(expected, result, self.entities)
            except MatchError as exc:
                raise MatchError(f"{name} result: {exc}; whole result {dumps(result)}") from None
        if "saveResultAsEntity" in operation:
            if result is MISSING:
                raise RunnerError(f"{name} returned nothing to save as an entity")
            self.entities.add(operation["saveResultAsEntity"], result)

    # -- errors

    def _check_error(self, expected: Mapping[str, Any], error: BaseException) -> None:
        described = f"{type(error).__name__}: {error}"
        server_error = isinstance(error, (OperationFailure, NotPrimaryError))
        for key, value in expected.items():
            if key == "isError":
                continue
            elif key == "isClientError":
                if value == server_error:
                    raise MatchError(f"expected isClientError {value}, got {described}")
            elif key == "isTimeoutError":
                if bool(getattr(error, "timeout", False)) != value:
                    raise MatchError(f"expected isTimeoutError {value}, got {described}")
            elif key == "errorContains":
                messages = [str(error), *(doc.get("errmsg", "") for doc in _server_errors(error))]
                if not any(value.lower() in str(text).lower() for text in messages):
                    raise MatchError(f"expected an error containing {value!r}, got {described}")
            elif key == "errorCode":
                codes = [getattr(error, "code", None),
                         *(doc.get("code") for doc in _server_errors(error))]
                if value not in codes:
                    raise MatchError(f"expected error code {value}, got {codes}: {described}")
            elif key == "errorCodeName":
                names = [str(doc.get("codeName", "")).lower() for doc in _server_errors(error)]
                details = getattr(error, "details", None) or {}
                names.append(str(details.get("codeName", "")).lower())
                if value.lower() not in names:
                    raise MatchError(f"expected error code name {value}, got {described}")
            elif key == "errorLabelsContain":
                missing = [label for label in value if not _has_label(error, label)]
                if missing:
                    raise MatchError(f"error lacks labels {missing}: {described}")
            elif key == "errorLabelsOmit":
                present = [label for label in value if _has_label(error, label)]
                if present:
                    raise MatchError(f"error has labels {present}: {described}")
            elif key == "errorResponse":
                details = getattr(error, "details", None)
                if not isinstance(details, Mapping):
                    raise MatchError(f"expected a server response, got {described}")
                match(value, details, self.entities)
            elif key == "expectResult":
                if not isinstance(error, BulkWriteError):
                    raise MatchError(f"expected a result with the error, got {described}")
                details = dict(error.details or {})
                match(value, ops.bulk_result(BulkWriteResult(details, True)), self.entities)
            else:
                raise RunnerError(f"expectError {key!r} is not supported")

    # -- events

    def _check_events(self, expected: Mapping[str, Any]) -> None:
        client = self.entities.get_typed(expected["client"], ClientEntity)
        kind = expected.get("eventType", "command")
        actual = [event for event in client.events if event_kind(event) == kind]
        wanted = expected["events"]
        if expected.get("ignoreExtraEvents"):
            actual = actual[: len(wanted)]
        listing = "\n  ".join(describe_event(event) for event in actual)
        if len(actual) != len(wanted):
            raise MatchError(
                f"expected {len(wanted)} {kind} events, got {len(actual)}:\n  {listing}"
            )
        for index, (want, event) in enumerate(zip(wanted, actual, strict=True)):
            try:
                match_event(want, event, self.entities)
            except MatchError as exc:
                raise MatchError(f"event {index}: {exc}\nobserved:\n  {listing}") from None

    # -- special operations

    async def _special(self, name: str, arguments: Mapping[str, Any]) -> None:
        if name == "failPoint":
            client = self.entities.get_typed(arguments["client"], ClientEntity)
            command = arguments["failPoint"]
            await resolve(client.client.admin.command(command))
            self.fail_points.append(command["configureFailPoint"])
        elif name in ("assertCollectionExists", "assertCollectionNotExists"):
            database = self.internal[arguments["databaseName"]]
            names = await database.list_collection_names()
            exists = arguments["collectionName"] in names
            if exists != (name == "assertCollectionExists"):
                raise MatchError(f"{name}: {arguments['collectionName']} in {names}")
        elif name in ("assertIndexExists", "assertIndexNotExists"):
            collection = self.internal[arguments["databaseName"]][arguments["collectionName"]]
            names = [index["name"] async for index in await collection.list_indexes()]
            exists = arguments["indexName"] in names
            if exists != (name == "assertIndexExists"):
                raise MatchError(f"{name}: {arguments['indexName']} in {names}")
        elif name == "createEntities":
            await self._create_entities(arguments["entities"])
        elif name == "assertNumberConnectionsCheckedOut":
            client = self.entities.get_typed(arguments["client"], ClientEntity)
            if client.recorder.checked_out != arguments["connections"]:
                raise MatchError(
                    f"{client.recorder.checked_out} connections checked out, "
                    f"expected {arguments['connections']}"
                )
        elif name == "wait":
            await asyncio.sleep(arguments["ms"] / 1000)
        elif name in ("waitForEvent", "assertEventCount"):
            await self._count_events(name, arguments)
        elif name == "recordTopologyDescription":
            client = self.entities.get_typed(arguments["client"], ClientEntity)
            self.entities.add(arguments["id"], client.client.topology_description)
        elif name == "assertTopologyType":
            description = self.entities.get_typed(arguments["topologyDescription"])
            if description.topology_type.name != arguments["topologyType"]:
                raise MatchError(f"topology type {description.topology_type.name}, "
                                 f"expected {arguments['topologyType']}")
        elif name in ("assertSameLsidOnLastTwoCommands", "assertDifferentLsidOnLastTwoCommands"):
            client = self.entities.get_typed(arguments["client"], ClientEntity)
            started = [e for e in client.events if event_name(e) == "commandStartedEvent"]
            if len(started) < 2:
                raise MatchError(f"{name}: fewer than two commands observed")
            first, second = (event.command.get("lsid") for event in started[-2:])
            if first is None or second is None:
                raise MatchError(f"{name}: a command without lsid")
            if (first == second) != (name == "assertSameLsidOnLastTwoCommands"):
                raise MatchError(f"{name}: {first} vs {second}")
        else:
            raise RunnerError(f"special operation {name!r} is not supported")

    async def _count_events(self, name: str, arguments: Mapping[str, Any]) -> None:
        client = self.entities.get_typed(arguments["client"], ClientEntity)
        wanted, count = arguments["event"], arguments["count"]

        def matching() -> int:
            found = 0
            for event in list(client.events):
                try:
                    match_event(wanted, event, self.entities)
                except MatchError:
                    continue
                found += 1
            return found

        if name == "assertEventCount":
            if matching() != count:
                raise MatchError(f"{matching()} events like {wanted}, expected {count}")
            return
        deadline = time.monotonic() + 10
        while matching() < count:
            if time.monotonic() > deadline:
                raise MatchError(f"waitForEvent: {matching()} events like {wanted} in 10 s")
            await asyncio.sleep(0.01)


# ---------------------------------------------------------------------------- helpers


def _server_errors(error: BaseException) -> list[Mapping[str, Any]]:
    """The write errors and write concern errors a bulk write error aggregates."""
    details = getattr(error, "details", None)
    if not isinstance(error, BulkWriteError) or not isinstance(details, Mapping):
        return []
    return [*details.get("writeErrors", ()), *details.get("writeConcernErrors", ())]


def _has_label(error: BaseException, label: str) -> bool:
    return isinstance(error, PyMongoError) and error.has_error_label(label)


def describe_event(event: Any) -> str:
    name = event_name(event)
    if name == "commandStartedEvent":
        return f"{name} {event.database_name} {dumps(event.command)}"
    if name == "commandSucceededEvent":
        return f"{name} {event.command_name} {dumps(event.reply)}"
    if name == "commandFailedEvent":
        return f"{name} {event.command_name} {dumps(event.failure)}"
    return f"{name} {event!r}"


def _has_service_id(event: Any) -> bool:
    service_id = getattr(event, "service_id", None)
    return isinstance(service_id, ObjectId) and service_id.binary != b"\x00" * 12


def match_event(expected: Mapping[str, Any], event: Any, entities: Mapping[str, Any]) -> None:
    """Match one observed event against an expectedEvent document."""
    ((name, fields),) = expected.items()
    if event_name(event) != name:
        raise MatchError(f"expected {name}, got {describe_event(event)}")
    for key, value in fields.items():
        if key == "command":
            match(value, event.command, entities)
        elif key == "reply":
            match(value, event.reply, entities)
        elif key == "commandName":
            if event.command_name != value:
                raise MatchError(f"command name {event.command_name}, expected {value}")
        elif key == "databaseName":
            if event.database_name != value:
                raise MatchError(f"database {event.database_name}, expected {value}")
        elif key == "hasServiceId":
            if _has_service_id(event) != value:
                raise MatchError(f"hasServiceId {value}: {describe_event(event)}")
        elif key == "hasServerConnectionId":
            connection_id = getattr(event, "server_connection_id", None)
            has = isinstance(connection_id, int) and connection_id > 0
            if has != value:
                raise MatchError(f"hasServerConnectionId {value}: {connection_id!r}")
        elif key == "interruptInUseConnections":
            if event.interrupt_connections != value:
                raise MatchError(f"interruptInUseConnections {value}: {event!r}")
        elif key in ("reason", "awaited"):
            if getattr(event, key) != value:
                raise MatchError(f"{key} {value!r}: {event!r}")
        elif key in ("previousDescription", "newDescription"):
            description = getattr(event, "previous_description" if key[0] == "p" else
                                  "new_description")
            for field, want in value.items():
                if field != "type":
                    raise RunnerError(f"{name}.{key}.{field} is not supported")
                kind = getattr(description, "topology_type", None) or description.server_type
                if kind.name != want:
                    raise MatchError(f"{name}.{key}.type {kind.name}, expected {want}")
        else:
            raise RunnerError(f"expected event field {name}.{key} is not supported")

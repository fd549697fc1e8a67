"""What the runner needs besides matching: server facts, requirements, the plan of cases.

- :class:`ServerFacts`: the server's version (``buildInfo``'s ``versionArray``), its
  topology as a ``runOnRequirements`` name, auth, and its parameters, read once per run.
- :func:`unmet_requirements`: why a ``runOnRequirements`` list is not met (or None).
- :func:`plan`: the pytest parameters of one spec folder: every case of every file, each
  marked skip (by name, with the reason, in the module's ``SPEC_SKIPS``), strict xfail
  (a driver bug, in the module's ``DRIVER_BUGS``) or plain.

Topology: SecantusDB answers ``hello`` as the primary of a one-member replica set
(``setName: secantus``), so the runner reports ``replicaset`` (never ``single``) and
client entities connect with ``replicaSet=<name>``, as a driver's CI does against a
replica set. ``useMultipleMongoses`` is ignored (no mongos here).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from driver.bson import json_util

__all__ = [
    "SCHEMA_VERSION",
    "SPECS",
    "Case",
    "ServerFacts",
    "client_uri",
    "load_facts",
    "plan",
    "unmet_requirements",
]

SPECS = Path(__file__).resolve().parents[1] / "specs"

SCHEMA_VERSION = (1, 23)
"""The newest schema version the runner accepts (files at or below it, major 1)."""

# ---------------------------------------------------------------------------- versions


def parse_version(text: str) -> tuple[int, ...]:
    parts = [int(part) for part in str(text).split("-")[0].split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def format_version(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


# ---------------------------------------------------------------------------- the server


@dataclass
class ServerFacts:
    """What runOnRequirements are judged against, and how entities connect."""

    hosts: str  # "127.0.0.1:27017"
    base_options: dict[str, str]  # the URI options every client entity gets
    version: tuple[int, ...]
    topology: str  # single, replicaset, sharded, load-balanced
    auth: bool
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def internal_uri(self) -> str:
        return client_uri(self, {})


def client_uri(facts: ServerFacts, uri_options: Mapping[str, Any]) -> str:
    """The connection string of a client entity: the base options, then ``uriOptions``."""
    options: dict[str, Any] = dict(facts.base_options)
    for key, value in uri_options.items():
        options = {k: v for k, v in options.items() if k.lower() != key.lower()}
        if isinstance(value, list):  # readPreferenceTags: one tag set a value
            options[key] = [_uri_value(item) for item in value]
        else:
            options[key] = _uri_value(value)
    if options.get("directConnection") == "true":
        options.pop("replicaSet", None)
    query = urlencode(options, doseq=True)
    return f"mongodb://{facts.hosts}/" + (f"?{query}" if query else "")


def _uri_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)


async def load_facts(uri: str) -> ServerFacts:
    """Ask the server (``hello``, ``buildInfo``, ``getParameter: '*'``) through ``uri``."""
    from driver import AsyncMongoClient

    parts = urlsplit(uri)
    hosts = parts.netloc.rpartition("@")[2]
    given = dict(parse_qsl(parts.query))
    async with AsyncMongoClient(uri) as client:
        hello = await client.admin.command("hello")
        build = await client.admin.command("buildInfo")
        try:
            parameters = dict(await client.admin.command("getParameter", "*"))
        except Exception:
            parameters = {}
    base = {k: v for k, v in given.items() if k not in ("directConnection", "replicaSet")}
    if hello.get("msg") == "isdbgrid":
        topology = "sharded"
    elif hello.get("setName"):
        topology = "replicaset"
        base["replicaSet"] = str(hello["setName"])
    else:
        topology = "single"
        base["directConnection"] = "true"
    version = tuple(int(part) for part in build["versionArray"][:3])
    return ServerFacts(
        hosts=hosts,
        base_options=base,
        version=version,
        topology=topology,
        auth="@" in parts.netloc,
        parameters=parameters,
    )


# ---------------------------------------------------------------------------- requirements


def _numbers_equal(want: Any, got: Any) -> bool:
    numeric = (int, float)
    if isinstance(want, numeric) and isinstance(got, numeric):
        return bool(want == got) and isinstance(want, bool) == isinstance(got, bool)
    return bool(want == got)


def _unmet(requirement: Mapping[str, Any], facts: ServerFacts) -> str | None:
    """Why one runOnRequirement is not met, or None when it is."""
    version = facts.version
    for key, value in requirement.items():
        if key == "minServerVersion" and version < parse_version(value):
            return f"minServerVersion {value} (server {format_version(version)})"
        if key == "maxServerVersion" and version > parse_version(value):
            return f"maxServerVersion {value} (server {format_version(version)})"
        if key == "topologies":
            names = set(value)
            if "sharded-replicaset" in names:
                names.add("sharded")
            if facts.topology not in names:
                return f"topologies {value} (server: {facts.topology})"
        if key == "serverless" and value == "require":
            return "serverless: require (not Atlas Serverless)"
        if key == "auth" and bool(value) != facts.auth:
            return f"auth: {value} (server auth: {facts.auth})"
        if key == "authMechanism":
            mechanisms = facts.parameters.get("authenticationMechanisms") or []
            if str(value).lower() not in {str(m).lower() for m in mechanisms}:
                return f"authMechanism {value} (server offers {mechanisms})"
        if key == "csfle" and value:
            return "csfle: true (the driver has no client-side field level encryption)"
        if key == "serverParameters":
            for name, want in value.items():
                if name not in facts.parameters:
                    return f"serverParameters {name} (not known to the server)"
                if not _numbers_equal(want, facts.parameters[name]):
                    return f"serverParameters {name}={want!r} (server: {facts.parameters[name]!r})"
        if key not in {
            "minServerVersion", "maxServerVersion", "topologies", "serverless", "auth",
            "authMechanism", "csfle", "serverParameters",
        }:
            return f"unknown runOnRequirement {key!r}"
    return None


def unmet_requirements(
    requirements: Iterable[Mapping[str, Any]] | None, facts: ServerFacts
) -> str | None:
    """None when one of ``requirements`` is met (or there are none), else why not."""
    if requirements is None:
        return None
    reasons = []
    for requirement in requirements:
        reason = _unmet(requirement, facts)
        if reason is None:
            return None
        reasons.append(reason)
    return "runOnRequirements not met: " + "; or ".join(reasons)


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One test of one spec file."""

    spec: str  # "crud"
    file: str  # "aggregate.json"
    description: str
    document: Mapping[str, Any] = field(repr=False, compare=False)  # the whole file
    index: int = 0  # the test's index in the file

    @property
    def name(self) -> str:
        return f"{self.file}: {self.description}"

    @property
    def test(self) -> Mapping[str, Any]:
        test: Mapping[str, Any] = self.document["tests"][self.index]
        return test

    def fresh(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Deep copies of the file and the test: operations may change their arguments
        (inserted documents get an ``_id``), and each case runs twice."""
        document = dict(copy.deepcopy(self.document))
        test: dict[str, Any] = document["tests"][self.index]
        return document, test


def load_cases(spec: str, folder: str) -> list[Case]:
    """Every test of every JSON file in ``tests/specs/<folder>``, in file order."""
    cases = []
    for path in sorted((SPECS / folder).glob("*.json")):
        document = json_util.loads(path.read_text())
        for index, test in enumerate(document["tests"]):
            cases.append(Case(spec, path.name, test["description"], document, index))
    return cases


# What the runner (or the driver, today) does not do, found by reading the case. Each is
# a reason a case is skipped by name; the reasons are printed with the run.
SESSIONS = "explicit sessions: a later issue"
UNSUPPORTED_ENTITIES = {
    "session": SESSIONS,
    "bucket": "GridFS: the driver has no GridFSBucket yet",
    "clientEncryption": "client-side field level encryption: not in the driver",
    "thread": "runner threads (runOnThread): not needed by the suites run here",
}
UNSUPPORTED_OPERATIONS = {
    "startTransaction": SESSIONS,
    "commitTransaction": SESSIONS,
    "abortTransaction": SESSIONS,
    "withTransaction": SESSIONS,
    "endSession": SESSIONS,
    "targetedFailPoint": SESSIONS + " (targetedFailPoint pins a session)",
    "assertSessionTransactionState": SESSIONS,
    "assertSessionPinned": SESSIONS,
    "assertSessionUnpinned": SESSIONS,
    "assertSessionDirty": SESSIONS,
    "assertSessionNotDirty": SESSIONS,
    "createChangeStream": "change streams: a later issue",
    "clientBulkWrite": "driver lacks MongoClient.bulk_write (client-level bulkWrite command)",
    "count": "Collection.count: removed in PyMongo 4, so not in the driver's API",
    "mapReduce": "mapReduce: removed in PyMongo 4, so not in the driver's API",
    "listIndexNames": "listIndexNames: not in PyMongo's API (list_indexes / index_information)",
    "listCollectionObjects": "listCollectionObjects: not in PyMongo's API",
    "listDatabaseObjects": "listDatabaseObjects: not in PyMongo's API",
    "createSearchIndex": "driver lacks Atlas search index helpers",
    "createSearchIndexes": "driver lacks Atlas search index helpers",
    "dropSearchIndex": "driver lacks Atlas search index helpers",
    "listSearchIndexes": "driver lacks Atlas search index helpers",
    "updateSearchIndex": "driver lacks Atlas search index helpers",
    "download": "GridFS: the driver has no GridFSBucket yet",
    "downloadByName": "GridFS: the driver has no GridFSBucket yet",
    "upload": "GridFS: the driver has no GridFSBucket yet",
    "delete": "GridFS: the driver has no GridFSBucket yet",
    "runOnThread": UNSUPPORTED_ENTITIES["thread"],
    "waitForThread": UNSUPPORTED_ENTITIES["thread"],
    "loop": "loop: only for the Atlas workload executor",
}
UNSUPPORTED_CLIENT_OPTIONS = {
    "autoEncryptOpts": "client-side field level encryption: not in the driver",
    "serverApi": "driver lacks the Stable API (serverApi) option on the client",
    "observeLogMessages": "log message assertions: the command logging part is not run here",
    "storeEventsAsEntities": "storeEventsAsEntities: not needed by the suites run here",
}


def _operations(operations: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    for operation in operations:
        yield operation
        arguments = operation.get("arguments") or {}
        if isinstance(arguments.get("operations"), list):
            yield from _operations(arguments["operations"])
        if isinstance(arguments.get("callback"), list):
            yield from _operations(arguments["callback"])
        if isinstance(arguments.get("operation"), Mapping):
            yield from _operations([arguments["operation"]])


def unsupported_entities(entities: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The entities the runner cannot make (id -> reason), and those made from them."""
    found: dict[str, str] = {}
    for entity in entities:
        ((kind, options),) = entity.items()
        parents = [options.get(key) for key in ("client", "database")]
        if kind in UNSUPPORTED_ENTITIES:
            found[options["id"]] = UNSUPPORTED_ENTITIES[kind]
        elif any(parent in found for parent in parents):
            found[options["id"]] = next(found[p] for p in parents if p in found)
        elif kind == "client":
            for key in options:
                if key in UNSUPPORTED_CLIENT_OPTIONS:
                    found[options["id"]] = UNSUPPORTED_CLIENT_OPTIONS[key]
    return found


def _entity_reason(entities: Iterable[Mapping[str, Any]], test: Mapping[str, Any]) -> str | None:
    """Why the test cannot run for an entity it uses (an unused one is just not made)."""
    unsupported = unsupported_entities(entities)
    if not unsupported:
        return None
    used = {key: test[key] for key in ("operations", "expectEvents") if key in test}
    text = json_util.dumps(used)
    for name, reason in unsupported.items():
        if json.dumps(name) in text:
            return reason
    return None


def static_reason(document: Mapping[str, Any], test: Mapping[str, Any]) -> str | None:
    """Why the runner cannot run ``test`` at all (read from the file), or None."""
    version = tuple(int(part) for part in str(document["schemaVersion"]).split("."))
    if version[0] != SCHEMA_VERSION[0] or version[:2] > SCHEMA_VERSION:
        return None  # not skipped: the run fails, as the spec asks for an incompatible file
    if "skipReason" in test:
        return f"skipReason in the file: {test['skipReason']}"
    reason = _entity_reason(document.get("createEntities") or [], test)
    if reason:
        return reason
    if "expectLogMessages" in test:
        return UNSUPPORTED_CLIENT_OPTIONS["observeLogMessages"]
    for operation in _operations(test["operations"]):
        name = operation["name"]
        if name in UNSUPPORTED_OPERATIONS:
            return UNSUPPORTED_OPERATIONS[name]
        arguments = operation.get("arguments") or {}
        if "session" in arguments:
            return SESSIONS
        if name == "createEntities":
            reason = _entity_reason(arguments["entities"], test)
            if reason:
                return reason
        if "rawData" in arguments or any(
            isinstance(request, Mapping) and "rawData" in next(iter(request.values()), {})
            for request in arguments.get("requests") or ()
        ):
            return "driver lacks the rawData option (8.2+ time-series buckets)"
        if "timeoutMS" in arguments:
            return "driver lacks client-side operation timeouts (timeoutMS)"
    return None


def plan(
    spec: str,
    folder: str,
    skips: Mapping[str, str],
    bugs: Mapping[str, str],
) -> tuple[list[Any], list[tuple[str, str]]]:
    """The pytest parameters of a spec folder and its SPEC_SKIPS list.

    ``skips`` and ``bugs`` map a case name (``"file.json: description"``) or a file
    name (``"file.json"``: every case in it) to a reason. A name that matches no case
    is an error, so the lists cannot rot.
    """
    cases = load_cases(spec, folder)
    known = {case.name for case in cases} | {case.file for case in cases}
    stale = [name for name in [*skips, *bugs] if name not in known]
    if stale:
        raise ValueError(f"{spec}: skip/bug names that match no case: {stale}")
    params = []
    spec_skips: list[tuple[str, str]] = []
    for case in cases:
        reason = skips.get(case.name) or skips.get(case.file)
        if reason is None:
            reason = static_reason(case.document, case.test)
        bug = bugs.get(case.name) or bugs.get(case.file)
        marks: list[Any] = []
        if reason is not None:
            spec_skips.append((case.name, reason))
            marks.append(pytest.mark.skip(reason=reason))
        elif bug is not None:
            marks.append(pytest.mark.xfail(reason=f"driver bug: {bug}", strict=True))
        params.append(pytest.param(case, id=f"{case.file[:-5]}:{case.description}", marks=marks))
    return params, spec_skips


def dumps(value: Any) -> str:
    """Extended JSON for messages."""
    try:
        return json_util.dumps(value)
    except Exception:
        return json.dumps(repr(value))

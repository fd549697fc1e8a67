"""Hello documents for the mock server (:mod:`tests.mockserver`): defaults and role shapes.

Every helper returns *fields* for :meth:`MockServer.set_hello`; a field whose value is
None is removed from the reply, so switching a server from one role to another never
leaves a stale field behind (a secondary keeps no ``electionId``, a mongos no
``setName``). Fields set to :data:`AUTO` are filled in per reply (``connectionId``,
``localTime``, ``helloOk``).

Example::

    server.set_hello(replica_set_member("secondary", hosts=hosts, me=hosts[1], primary=hosts[0]))
    server.set_hello(mongos())
    server.set_hello(documentdb("4.0"))
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from driver.bson import ObjectId

__all__ = [
    "AUTO",
    "HELLO_NAMES",
    "Role",
    "default_hello",
    "documentdb",
    "mongos",
    "replica_set_member",
    "shape_hello",
    "standalone",
]

#: Every spelling of the handshake/monitoring command a server answers.
HELLO_NAMES: Final = ("hello", "isMaster", "ismaster")

Role = Literal["primary", "secondary", "arbiter", "other", "ghost"]


class _Auto:
    """Marks a field computed for each reply (the connection's id, the clock...)."""

    def __repr__(self) -> str:
        return "AUTO"


AUTO: Final = _Auto()

# The fields that say which role a server plays; each role helper sets all of them
# (None = absent), so a role change is one set_hello call.
_ROLE_FIELDS = (
    "isWritablePrimary",
    "ismaster",
    "secondary",
    "arbiterOnly",
    "hidden",
    "isreplicaset",
    "setName",
    "setVersion",
    "electionId",
    "hosts",
    "passives",
    "arbiters",
    "primary",
    "me",
    "tags",
    "msg",
)


def default_hello() -> dict[str, Any]:
    """A MongoDB 7.0 standalone (wire version 21), as a real one answers ``hello``."""
    return {
        "isWritablePrimary": True,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "maxMessageSizeBytes": 48_000_000,
        "maxWriteBatchSize": 100_000,
        "localTime": AUTO,
        "logicalSessionTimeoutMinutes": 30,
        "connectionId": AUTO,
        "minWireVersion": 0,
        "maxWireVersion": 21,
        "readOnly": False,
        "helloOk": AUTO,
        "ok": 1.0,
    }


def _role(**fields: Any) -> dict[str, Any]:
    shaped: dict[str, Any] = dict.fromkeys(_ROLE_FIELDS)
    shaped.update(fields)
    return shaped


def standalone() -> dict[str, Any]:
    """A standalone mongod: writable, no replica-set fields."""
    return _role(isWritablePrimary=True)


def mongos() -> dict[str, Any]:
    """A mongos router: ``msg: "isdbgrid"``, writable, no replica-set fields."""
    return _role(isWritablePrimary=True, msg="isdbgrid")


def replica_set_member(
    role: Role,
    *,
    hosts: Sequence[str],
    me: str,
    primary: str | None = None,
    set_name: str = "rs0",
    set_version: int = 1,
    election_id: ObjectId | None = None,
    arbiters: Sequence[str] = (),
    passives: Sequence[str] = (),
    hidden: bool = False,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The hello fields of a replica-set member in ``role`` (SDAM's server types).

    ``primary`` is who this member believes is primary (a primary names itself);
    ``"other"`` is RSOther (recovering, or ``hidden=True``); ``"ghost"`` is a member
    still starting up (``isreplicaset: true`` and nothing else).
    """
    if role == "ghost":
        return _role(isWritablePrimary=False, secondary=False, isreplicaset=True)
    fields = _role(
        isWritablePrimary=role == "primary",
        secondary=role == "secondary",
        setName=set_name,
        setVersion=set_version,
        hosts=list(hosts),
        me=me,
        primary=me if role == "primary" else primary,
        arbiters=list(arbiters) or None,
        passives=list(passives) or None,
        tags=dict(tags) if tags else None,
        hidden=True if hidden else None,
    )
    if role == "primary":
        fields["electionId"] = election_id or ObjectId("7fffffff0000000000000001")
    elif role == "arbiter":
        fields["arbiterOnly"] = True
    return fields


# The wire versions of the MongoDB releases each DocumentDB version is compatible with.
_DOCUMENTDB_WIRE = {"3.6": 6, "4.0": 7, "5.0": 13, "8.0": 25}


def documentdb(
    version: str = "5.0", *, set_name: str = "rs0", me: str | None = None
) -> dict[str, Any]:
    """An Amazon DocumentDB-like primary: modelled on its documented behaviour, not captured.

    What a driver notices: a legacy ``ismaster`` field, an old ``maxWireVersion`` (3.6
    -> 6, 4.0 -> 7, 5.0 -> 13, 8.0 -> 25), no ``topologyVersion`` (so no streaming
    hello), no ``connectionId`` or ``helloOk``, and no sessions on 3.6.
    """
    fields = _role(
        ismaster=True,
        isWritablePrimary=None,
        secondary=False,
        setName=set_name,
        hosts=[me] if me else None,
        me=me,
        primary=me,
    )
    fields.update(
        maxWireVersion=_DOCUMENTDB_WIRE[version],
        minWireVersion=0,
        topologyVersion=None,
        connectionId=None,
        helloOk=None,
        logicalSessionTimeoutMinutes=None if version == "3.6" else 30,
    )
    return fields


def shape_hello(
    template: Mapping[str, Any],
    request: Mapping[str, Any],
    *,
    connection_id: int,
    service_id: ObjectId | None,
) -> dict[str, Any]:
    """The reply to one hello ``request``, from the server's ``template``.

    As a real server does: ``isMaster`` gets the legacy ``ismaster`` field and
    ``hello`` gets ``isWritablePrimary``; ``helloOk`` only if the client sent it;
    ``compression`` is what both sides support; ``serviceId`` only when the client
    said ``loadBalanced: true`` (and the server is behind a load balancer).
    """
    reply = dict(template)
    legacy = next(iter(request), "").lower() == "ismaster"
    old, new = ("isWritablePrimary", "ismaster") if legacy else ("ismaster", "isWritablePrimary")
    if old in reply:
        value = reply.pop(old)
        reply.setdefault(new, value)
    if reply.get("connectionId") is AUTO:
        reply["connectionId"] = connection_id
    if reply.get("localTime") is AUTO:
        reply["localTime"] = datetime.datetime.now(datetime.timezone.utc)
    if reply.get("helloOk") is AUTO:
        if request.get("helloOk"):
            reply["helloOk"] = True
        else:
            del reply["helloOk"]
    if "compression" in reply:
        supported = set(reply.pop("compression") or ())
        common = [name for name in request.get("compression") or () if name in supported]
        if common:
            reply["compression"] = common
    if service_id is not None and request.get("loadBalanced"):
        reply.setdefault("serviceId", service_id)
    if "ok" in reply:
        reply["ok"] = reply.pop("ok")  # last, as servers send it
    return reply

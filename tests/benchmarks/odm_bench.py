"""The ODM benchmark spec's tasks: our ODM against the raw driver and three peer ODMs.

Implementations, measured in the same process and run, against the same server, taking
turns (:func:`tests.benchmarks.interleaved`):

- ``ours``: :class:`odm.Engine` (sync) with :class:`odm.Document` models;
- ``driver``: our :class:`driver.MongoClient` doing the same operations on plain dicts
  (what the ODM costs on top of its driver);
- ``beanie`` (async, on PyMongo's ``AsyncMongoClient``), ``odmantic`` (async, on Motor)
  and ``mongoengine`` (sync, on PyMongo), as references. They come from the ``bench``
  extra (``pip install -e '.[bench]'``, which ``make bench`` does); a peer that is not
  installed is left out and named in the results (``missing``) and under the tables.

The async ODMs run on one asyncio event loop owned by the suite; each of their timed
repetitions is a coroutine run to completion on it, timed inside the coroutine.

Tasks (``source/benchmarking/odm-benchmarking.md``; models from the spec's data, copied
to ``data/odm/``; each model class is built from its document: str, int and bytes
fields, embedded models, a list of embedded models):

====================  ===============================================================
task                  one timed operation ("do task"), per implementation
====================  ===============================================================
small_create          build the small flat model from its dict and save it as new
small_update          set ``field1`` of a loaded model and persist that change
small_find            find by filter ``_id == id`` (a query returning a list)
large_flat_create     build the large flat model (250 fields and a 2.4 MB ``bytes``)
                      and save it as new
large_nested_create   build the large nested model (13 embedded models, a list of two)
                      and save it as new
large_nested_update   set ``embedded_str_doc_1.field1`` of a loaded model, persist it
large_nested_find     find by filter ``_id == id and embedded_str_doc_1.field1 == v``
====================  ===============================================================

What "save", "update" and "find" are, per implementation (each ODM's own API):

- create: ours ``engine.insert(Model.model_validate(data))``; driver
  ``insert_one(dict)``; Beanie ``await Model.model_validate(data).insert()``; ODMantic
  ``await engine.save(Model.model_validate(data))`` (its only write: an upsert
  ``update_one`` with ``$set`` of every field); MongoEngine ``Model(**data).save()``
  (validates, then ``insert``).
- update, on models loaded beforehand: the field is assigned on the instance, then
  persisted: ours ``engine.update_one(Model, Model.id == m.id, update.set(Model.<path>,
  v))``; driver ``update_one({_id}, {$set: {path: v}})`` (no instance); Beanie
  ``await Model.find_one(Model.id == m.id).update(Set({Model.<path>: v}))``; ODMantic
  ``await engine.save(m)`` (``$set`` of the modified and mutable fields: for the nested
  model, every embedded model, about the whole document); MongoEngine ``m.save()``
  (validates the model, sends ``$set`` of the changed path).
- find, a query returning a list: ours ``engine.find(Model, *conditions).to_list()``;
  driver ``list(collection.find(filter))``; Beanie ``await Model.find(...).to_list()``;
  ODMantic ``await engine.find(Model, ...)`` (an ``aggregate`` with ``$match``);
  MongoEngine ``list(Model.objects(**filter))``. The flat find is ``Model.id == id``
  in every ODM; the nested find's two conditions below.

Filters and updates on SecantusDB. Our test server answers a filter under ``$and``,
and ``findAndModify``, with a scan of the whole collection (MongoDB uses the ``_id``
index for both): about 100 ms and 20-30 ms per operation on the 1,000 nested
documents, which would time the server, not the ODM. So every implementation sends
the nested find as one filter document ``{_id: id, "embedded_str_doc_1.field1": v}``:
ours from ``engine.find(Model, Model.id == id, Model.embedded_str_doc_1.field1 == v)``
(it merges the conditions), MongoEngine from ``objects(id=..., embedded_str_doc_1__
field1=...)``; Beanie and ODMantic would send ``$and`` for two conditions, so they get
one document keyed by their field expressions (``{Model.id: id, ...}`` for Beanie,
``{+Model.id: id, ...}`` for ODMantic), which both document. Beanie's instance
``m.set({...})`` is a ``findAndModify`` that reads the new document back; its query
update (above) is an ``update`` like everyone else's.

Phases (the spec's): create tasks drop (and re-create) the implementation's collection
before each repetition, and drop it after (its documents checked first); update and
find tasks fill a collection per implementation once per task with ``corpus`` copies
of the document (through PyMongo, ObjectId ``_id``), then the implementation loads
them (its own models, or dicts for the driver) outside the timings. Each repetition
is checked outside its timing: after a create, the collection holds ``n`` documents
and one of them equals the source document (``_id`` aside); after an update, ``n``
stored documents carry the new value (a new value every repetition); after a find,
the last query returned exactly the document asked for, as the implementation's model.

Scale. The spec asks for 10,000 operations per iteration for every task and at least a
minute and up to 100 iterations per task: hours with five implementations, and 24 GB
of writes per iteration of the large flat create. The suite's schemes:

- ``FULL_SCHEME`` (``make bench``): ``iterations`` = 1,000 operations per repetition
  (1/10 of the spec, like the driver suite's single-document tasks), except
  ``large_flat_create`` at ``iterations / 10`` = 100 (1/100 of the spec: its document
  is 2.4 MB); 5 to 10 interleaved repetitions per task, stopping after 5 once a task
  has used 20 s, except ``large_flat_create``: 15 (each repetition writes, then drops,
  240 MB per implementation, and its times spread from 1x to 3x the fastest); a
  warm-up of 100 operations per implementation (10 for the large flat create). The
  update and find corpus holds as many documents as a repetition touches. About 6
  minutes on a 2-CPU machine.
- ``--iterations N`` changes ``iterations`` (``--quick``: 50, a smoke run).

Servers: unless ``BENCH_MONGODB_URI`` names one, each group of tasks (small, nested,
large flat) gets a fresh SecantusDB (:class:`tools.testserver.TestServer`); the large
flat group's starts with ``--cache-size 6G --oplog-max-entries 100`` like the driver
suite's large-document groups. Every client connects with ``retryWrites=false`` (see
:mod:`tests.benchmarks.driver_bench`). The database is ``perftest``, dropped before
and after each group; each implementation has its own collections
(``<dataset>_<implementation>``).

Scores: wall time (``time.perf_counter``) per repetition, median over the repetitions;
client CPU time (``time.process_time`` of this process, all its threads: Motor's
worker threads and every client's monitors count) beside it. MB/s is the spec's score:
the BSON size of the task's document times the operations, over the median wall time
(the spec sizes every task, updates and finds included, by its document). Ratios are
ours over the other's time per operation: above 1, ours is slower.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import json
import os
import platform
import sys
import time
import types
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tests.benchmarks import Runner, Sample, Scheme, Timing, format_table, interleaved

__all__ = [
    "DATASETS",
    "FULL_SCHEME",
    "GROUPS",
    "IMPLEMENTATIONS",
    "PEERS",
    "QUICK_SCHEME",
    "TASKS",
    "BenchmarkError",
    "Dataset",
    "Task",
    "load_document",
    "ratios",
    "render",
    "run",
    "task_ops",
]

DATA_DIR = Path(__file__).resolve().parent / "data" / "odm"
DATABASE = "perftest"
SPEC_OPS = 10_000
URI_VARIABLE = "BENCH_MONGODB_URI"

#: ``make bench``: see the module docstring ("Scale").
FULL_SCHEME = Scheme(iterations=1_000, repeat=10, min_repeat=5, budget=20.0, warmup=100)
#: ``--quick``: a smoke run, not a score.
QUICK_SCHEME = Scheme(iterations=50, repeat=2, min_repeat=2, budget=0.0, warmup=5)

LARGE_SERVER_ARGS = ("--cache-size", "6G", "--oplog-max-entries", "100")


class BenchmarkError(RuntimeError):
    """A task did not do what it should have (documents missing, a value not changed)."""


# ------------------------------------------------------------------ data and tasks


@dataclass(frozen=True)
class Dataset:
    """One of the spec's model documents, and the paths its tasks update and filter."""

    name: str
    file: str  # under data/odm/
    title: str
    update_path: str  # the (dotted) field the update task sets


DATASETS: dict[str, Dataset] = {
    "small": Dataset("small", "flat/small_doc.json", "small flat", "field1"),
    "large_flat": Dataset("large_flat", "flat/large_doc.json", "large flat", "field1"),
    "large_nested": Dataset(
        "large_nested",
        "nested/large_doc_nested.json",
        "large nested",
        "embedded_str_doc_1.field1",
    ),
}

#: The nested find's second filter: ``_id`` and this nested field (the spec's "filter on
#: the nested model's field and the main model's _id").
NESTED_FILTER_PATH = "embedded_str_doc_1.field1"


@dataclass(frozen=True)
class Task:
    """One benchmark task: spec title, dataset, kind, server group and scale divisor."""

    name: str
    title: str
    dataset: str
    kind: str  # "create" | "update" | "find"
    group: str
    divisor: int = 1  # operations per repetition = iterations / divisor
    rounds: int = 0  # at least this many rounds, unless --repeat fixed the count


TASKS: tuple[Task, ...] = (
    Task("small_create", "Small model create", "small", "create", "small"),
    Task("small_update", "Small model update", "small", "update", "small"),
    Task("small_find", "Small model find by filter", "small", "find", "small"),
    Task(
        "large_flat_create",
        "Large flat model create",
        "large_flat",
        "create",
        "large_flat",
        divisor=10,
        rounds=15,
    ),
    Task("large_nested_create", "Large nested model create", "large_nested", "create", "nested"),
    Task(
        "large_nested_update",
        "Large nested model update (nested field)",
        "large_nested",
        "update",
        "nested",
    ),
    Task(
        "large_nested_find",
        "Large nested model find (nested field + _id)",
        "large_nested",
        "find",
        "nested",
    ),
)
TASKS_BY_NAME = {task.name: task for task in TASKS}

#: Server group -> extra ``secantusd-py`` arguments (a fresh server per group).
GROUPS: dict[str, tuple[str, ...]] = {
    "small": (),
    "nested": (),
    "large_flat": LARGE_SERVER_ARGS,
}

PEERS = ("beanie", "odmantic", "mongoengine")
IMPLEMENTATIONS = ("ours", "driver", *PEERS)


def task_ops(task: Task, scheme: Scheme) -> int:
    """Operations per timed repetition (and documents in an update or find corpus)."""
    return max(2, scheme.iterations // task.divisor)


def task_scheme(task: Task, scheme: Scheme) -> Scheme:
    """``scheme`` for one task: its operation count, and a warm-up that fits it."""
    ops = task_ops(task, scheme)
    this = replace(scheme, iterations=ops, warmup=min(scheme.warmup // task.divisor, ops))
    if task.rounds and scheme.repeat > scheme.min_repeat:  # a range, not --repeat N
        rounds = max(scheme.min_repeat, task.rounds)
        this = replace(this, repeat=max(scheme.repeat, rounds), min_repeat=rounds)
    return this


def _binary_hook(obj: dict[str, Any]) -> Any:
    # The large flat document's one extended-JSON value: {"$binary": {base64, subType}}.
    binary = obj.get("$binary")
    if isinstance(binary, dict) and len(obj) == 1:
        if binary.get("subType") != "00":
            raise ValueError(f"unexpected binary subtype {binary.get('subType')!r}")
        return base64.b64decode(binary["base64"])
    return obj


@cache
def load_document(name: str) -> dict[str, Any]:
    """A dataset as a plain dict (binary as ``bytes``); do not modify it."""
    path = DATA_DIR / DATASETS[name].file
    document: dict[str, Any] = json.loads(path.read_text("utf-8"), object_hook=_binary_hook)
    return document


def bytes_per_op(task: Task) -> int:
    """The BSON size of the task's document (without ``_id``): the spec's task size."""
    from bson import encode

    return len(encode(load_document(task.dataset)))


def get_path(document: Any, path: str) -> Any:
    """``document[a][b]`` for ``"a.b"`` (dicts) or ``document.a.b`` (objects)."""
    value = document
    for part in path.split("."):
        value = value[part] if isinstance(value, Mapping) else getattr(value, part)
    return value


# ------------------------------------------------------------- model shapes


@dataclass(frozen=True)
class Embedded:
    """An embedded model's shape: its class name and scalar fields; ``many``: a list."""

    name: str
    fields: tuple[tuple[str, str], ...]
    many: bool = False


FieldKind = str | Embedded  # "str" | "int" | "bytes" | Embedded


@dataclass(frozen=True)
class Shape:
    """A top-level model's fields, derived from its document."""

    name: str
    fields: tuple[tuple[str, FieldKind], ...]


def _scalar(value: Any, where: str) -> str:
    for kind, python in (("str", str), ("bytes", bytes)):
        if isinstance(value, python):
            return kind
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"
    raise TypeError(f"{where}: no model field type for {type(value).__name__}")


@cache
def model_shape(dataset: str) -> Shape:
    """The model of a dataset: one field per key, embedded models named by field type
    (``StrEmbedded``: 15 str fields, ``IntEmbedded``: 15 int fields), as the reference
    implementation's models are."""
    document = load_document(dataset)
    fields: list[tuple[str, FieldKind]] = []

    def embedded(sub: Mapping[str, Any], where: str, many: bool) -> Embedded:
        scalars = tuple((k, _scalar(v, f"{where}.{k}")) for k, v in sub.items())
        kinds = {kind for _, kind in scalars}
        name = f"{next(iter(kinds)).capitalize()}Embedded" if len(kinds) == 1 else "MixedEmbedded"
        return Embedded(name, scalars, many)

    for key, value in document.items():
        if isinstance(value, Mapping):
            fields.append((key, embedded(value, key, False)))
        elif isinstance(value, list):
            shapes = {embedded(item, key, True) for item in value}
            if len(shapes) != 1:
                raise TypeError(f"{dataset}.{key}: items of different shapes")
            fields.append((key, shapes.pop()))
        else:
            fields.append((key, _scalar(value, key)))
    class_name = "".join(part.capitalize() for part in dataset.split("_")) + "Model"
    return Shape(class_name, tuple(fields))


def _class(name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwds: Any) -> type:
    """A class made as a ``class`` statement would (metaclass keywords included)."""

    def body(ns: dict[str, Any]) -> None:
        ns["__module__"] = __name__
        ns["__qualname__"] = name
        ns.update(namespace)

    return types.new_class(name, bases, kwds, body)


def pydantic_models(
    shape: Shape,
    base: type,
    embedded_base: type,
    namespace: Mapping[str, Any] | None = None,
    **kwds: Any,
) -> type:
    """``shape`` as Pydantic model classes on ``base`` (embedded: ``embedded_base``)."""
    scalars: dict[str, type] = {"str": str, "int": int, "bytes": bytes}
    made: dict[Embedded, type] = {}

    def annotation(kind: FieldKind) -> Any:
        if isinstance(kind, str):
            return scalars[kind]
        key = replace(kind, many=False)
        if key not in made:
            made[key] = _class(
                kind.name,
                (embedded_base,),
                {"__annotations__": {name: scalars[k] for name, k in kind.fields}},
            )
        return list[made[key]] if kind.many else made[key]  # type: ignore[valid-type]

    annotations = {name: annotation(kind) for name, kind in shape.fields}
    return _class(
        shape.name, (base,), {"__annotations__": annotations, **(namespace or {})}, **kwds
    )


# --------------------------------------------------------- implementations

Call = Callable[..., Any]


@dataclass
class Ops:
    """What a task does with one implementation's model of one dataset.

    ``create(data)``, ``update(instance, value)``, ``find(id, nested_value)`` are the
    timed operations; ``load()`` (set-up) returns the stored instances. For an async
    implementation all four return awaitables. ``model``: results of ``find`` and
    ``load`` are instances of it (None: plain dicts).
    """

    create: Call
    update: Call
    find: Call
    load: Call
    id_of: Callable[[Any], Any]
    model: type | None


class Implementation:
    """One implementation under test, connected to one server at a time."""

    name: str = ""
    is_async = False

    def version(self) -> str:
        raise NotImplementedError

    def open(self, uri: str, database: str) -> Any:
        """Connect (a coroutine for async implementations)."""
        raise NotImplementedError

    def close(self) -> Any:
        raise NotImplementedError

    def bind(self, dataset: str, collection: str) -> Any:
        """The :class:`Ops` for ``dataset`` stored in ``collection`` (async: awaitable)."""
        raise NotImplementedError


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


class DriverImpl(Implementation):
    """Our driver on plain dicts: the floor under any ODM built on it."""

    name = "driver"

    def version(self) -> str:
        return f"feldspar driver {_package_version('feldspar')}"

    def open(self, uri: str, database: str) -> None:
        import driver

        self.client = driver.MongoClient(uri)
        self.client.admin.command("ping")
        self.db = self.client[database]

    def close(self) -> None:
        self.client.close()

    def bind(self, dataset: str, collection: str) -> Ops:
        coll = self.db[collection]
        insert_one, update_one, find = coll.insert_one, coll.update_one, coll.find
        path = DATASETS[dataset].update_path
        nested = dataset == "large_nested"

        def create(data: dict[str, Any]) -> object:
            return insert_one(data)  # a fresh copy per operation (made untimed)

        def update(document: Mapping[str, Any], value: str) -> object:
            return update_one({"_id": document["_id"]}, {"$set": {path: value}})

        def find_flat(id: Any, nested_value: Any) -> list[Any]:
            return list(find({"_id": id}))

        def find_nested(id: Any, nested_value: Any) -> list[Any]:
            return list(find({"_id": id, NESTED_FILTER_PATH: nested_value}))

        return Ops(
            create=create,
            update=update,
            find=find_nested if nested else find_flat,
            load=lambda: list(coll.find({})),
            id_of=lambda document: document["_id"],
            model=None,
        )


class OursImpl(Implementation):
    """``odm.Engine`` (sync) with ``odm.Document`` models."""

    name = "ours"

    def version(self) -> str:
        return f"feldspar odm {_package_version('feldspar')}"

    def open(self, uri: str, database: str) -> None:
        from odm import Engine

        self.engine = Engine(uri, database=database)
        self.engine.client.admin.command("ping")

    def close(self) -> None:
        self.engine.close()

    def bind(self, dataset: str, collection: str) -> Ops:
        from pydantic import BaseModel

        from odm import Document, update

        engine = self.engine
        model: Any = pydantic_models(
            model_shape(dataset), Document, BaseModel, collection=collection
        )
        validate = model.model_validate
        insert, update_one, find = engine.insert, engine.update_one, engine.find
        path = DATASETS[dataset].update_path
        head, last = path.split(".")[:-1], path.split(".")[-1]
        builder_set = update.set
        nested = dataset == "large_nested"

        def create(data: dict[str, Any]) -> object:
            return insert(validate(data))

        def update_(instance: Any, value: str) -> object:
            target = instance
            for part in head:
                target = getattr(target, part)
            setattr(target, last, value)
            return update_one(
                model, model.id == instance.id, builder_set(field_of(model, path), value)
            )

        def find_flat(id: Any, nested_value: Any) -> list[Any]:
            return find(model, model.id == id).to_list()

        def find_nested(id: Any, nested_value: Any) -> list[Any]:
            condition = field_of(model, NESTED_FILTER_PATH) == nested_value
            return find(model, model.id == id, condition).to_list()

        return Ops(
            create=create,
            update=update_,
            find=find_nested if nested else find_flat,
            load=lambda: find(model).to_list(),
            id_of=lambda instance: instance.id,
            model=model,
        )


def field_of(model: Any, path: str) -> Any:
    """``Model.a.b`` for ``"a.b"``: the ODM's field proxy (expression) for a path.

    Called inside the timed operations, as user code spells ``Model.field`` in each
    query (a proxy lookup is not free: about 1.7 us in ours)."""
    proxy = model
    for part in path.split("."):
        proxy = getattr(proxy, part)
    return proxy


class BeanieImpl(Implementation):
    """Beanie 2 (async, PyMongo's ``AsyncMongoClient``)."""

    name = "beanie"
    is_async = True

    def version(self) -> str:
        return f"Beanie {_package_version('beanie')}"

    async def open(self, uri: str, database: str) -> None:
        from pymongo import AsyncMongoClient

        self.client: Any = AsyncMongoClient(uri)
        await self.client.admin.command("ping")
        self.db = self.client[database]

    async def close(self) -> None:
        await self.client.close()

    async def bind(self, dataset: str, collection: str) -> Ops:
        import beanie
        from pydantic import BaseModel

        shape = model_shape(dataset)
        # Pydantic skips a nested class only if it was defined in the class body.
        settings = type(
            "Settings", (), {"name": collection, "__qualname__": f"{shape.name}.Settings"}
        )
        model: Any = pydantic_models(shape, beanie.Document, BaseModel, {"Settings": settings})
        await beanie.init_beanie(database=self.db, document_models=[model])
        from beanie.operators import Set

        validate, find, find_one = model.model_validate, model.find, model.find_one
        path = DATASETS[dataset].update_path
        head, last = path.split(".")[:-1], path.split(".")[-1]
        nested = dataset == "large_nested"

        def create(data: dict[str, Any]) -> Awaitable[Any]:
            return validate(data).insert()

        def update(instance: Any, value: str) -> Awaitable[Any]:
            target = instance
            for part in head:
                target = getattr(target, part)
            setattr(target, last, value)
            return find_one(model.id == instance.id).update(Set({field_of(model, path): value}))

        def find_flat(id: Any, nested_value: Any) -> Awaitable[list[Any]]:
            return find(model.id == id).to_list()

        def find_nested(id: Any, nested_value: Any) -> Awaitable[list[Any]]:
            # One document (Beanie's field expressions are its keys), not two arguments:
            # see "Filters and updates on SecantusDB" in the module docstring.
            return find({model.id: id, field_of(model, NESTED_FILTER_PATH): nested_value}).to_list()

        return Ops(
            create=create,
            update=update,
            find=find_nested if nested else find_flat,
            load=lambda: model.find_all().to_list(),
            id_of=lambda instance: instance.id,
            model=model,
        )


class OdmanticImpl(Implementation):
    """ODMantic 1 (async, on Motor)."""

    name = "odmantic"
    is_async = True

    def version(self) -> str:
        return f"ODMantic {_package_version('odmantic')}"

    async def open(self, uri: str, database: str) -> None:
        from motor.motor_asyncio import AsyncIOMotorClient
        from odmantic import AIOEngine

        self.client: Any = AsyncIOMotorClient(uri)
        await self.client.admin.command("ping")
        self.engine = AIOEngine(client=self.client, database=database)

    async def close(self) -> None:
        self.client.close()

    async def bind(self, dataset: str, collection: str) -> Ops:
        import odmantic

        model: Any = pydantic_models(
            model_shape(dataset),
            odmantic.Model,
            odmantic.EmbeddedModel,
            {"model_config": {"collection": collection}},
        )
        engine = self.engine
        validate, save, find = model.model_validate, engine.save, engine.find
        parts = DATASETS[dataset].update_path.split(".")
        head, last = parts[:-1], parts[-1]
        nested = dataset == "large_nested"

        def create(data: dict[str, Any]) -> Awaitable[Any]:
            return save(validate(data))

        def update(instance: Any, value: str) -> Awaitable[Any]:
            target = instance
            for part in head:
                target = getattr(target, part)
            setattr(target, last, value)
            return save(instance)

        def find_flat(id: Any, nested_value: Any) -> Awaitable[list[Any]]:
            return find(model, model.id == id)

        def find_nested(id: Any, nested_value: Any) -> Awaitable[list[Any]]:
            # One document (``+proxy`` is the stored name), not ``(a) & (b)``: see
            # "Filters and updates on SecantusDB" in the module docstring.
            return find(model, {+model.id: id, +field_of(model, NESTED_FILTER_PATH): nested_value})

        return Ops(
            create=create,
            update=update,
            find=find_nested if nested else find_flat,
            load=lambda: find(model),
            id_of=lambda instance: instance.id,
            model=model,
        )


class MongoEngineImpl(Implementation):
    """MongoEngine (sync, on PyMongo)."""

    name = "mongoengine"
    _aliases = itertools.count(1)

    def version(self) -> str:
        return f"MongoEngine {_package_version('mongoengine')}"

    def open(self, uri: str, database: str) -> None:
        import mongoengine

        self.alias = f"feldspar-bench-{os.getpid()}-{next(self._aliases)}"
        client = mongoengine.connect(
            db=database, alias=self.alias, host=uri, uuidRepresentation="standard"
        )
        client.admin.command("ping")

    def close(self) -> None:
        import mongoengine

        mongoengine.disconnect(self.alias)

    def bind(self, dataset: str, collection: str) -> Ops:
        import mongoengine as me

        scalars: dict[str, Callable[[], Any]] = {
            "str": me.StringField,
            "int": me.IntField,
            "bytes": me.BinaryField,
        }
        made: dict[str, type] = {}

        def field_for(kind: FieldKind) -> Any:
            if isinstance(kind, str):
                return scalars[kind](required=True)
            if kind.name not in made:
                made[kind.name] = type(
                    kind.name,
                    (me.EmbeddedDocument,),
                    {name: scalars[k](required=True) for name, k in kind.fields},
                )
            embedded = me.EmbeddedDocumentField(made[kind.name], required=not kind.many)
            return me.ListField(embedded) if kind.many else embedded

        shape = model_shape(dataset)
        namespace: dict[str, Any] = {name: field_for(kind) for name, kind in shape.fields}
        namespace["meta"] = {"collection": collection, "db_alias": self.alias}
        model: Any = type(shape.name, (me.Document,), namespace)
        parts = DATASETS[dataset].update_path.split(".")
        head, last = parts[:-1], parts[-1]
        nested = dataset == "large_nested"
        nested_key = NESTED_FILTER_PATH.replace(".", "__")

        def create(data: dict[str, Any]) -> object:
            return model(**data).save()

        def update(instance: Any, value: str) -> object:
            target = instance
            for part in head:
                target = getattr(target, part)
            setattr(target, last, value)
            return instance.save()

        def find_flat(id: Any, nested_value: Any) -> list[Any]:
            return list(model.objects(id=id))

        def find_nested(id: Any, nested_value: Any) -> list[Any]:
            return list(model.objects(id=id, **{nested_key: nested_value}))

        return Ops(
            create=create,
            update=update,
            find=find_nested if nested else find_flat,
            load=lambda: list(model.objects),
            id_of=lambda instance: instance.id,
            model=model,
        )


FACTORIES: dict[str, Callable[[], Implementation]] = {
    "ours": OursImpl,
    "driver": DriverImpl,
    "beanie": BeanieImpl,
    "odmantic": OdmanticImpl,
    "mongoengine": MongoEngineImpl,
}

#: Modules an implementation needs, checked before a run (missing: left out, reported).
REQUIRES: dict[str, tuple[str, ...]] = {
    "ours": ("odm", "odm.update"),
    "driver": ("driver",),
    "beanie": ("beanie", "pymongo"),
    "odmantic": ("odmantic", "motor"),
    "mongoengine": ("mongoengine",),
}


def available(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """Which of ``names`` can run here, and why the others cannot."""
    import importlib

    ok: list[str] = []
    missing: dict[str, str] = {}
    for name in names:
        try:
            for module in REQUIRES[name]:
                importlib.import_module(module)
            if name == "ours":
                from odm import Document, Engine  # noqa: F401
        except Exception as exc:  # ImportError, or a half-written package
            missing[name] = f"{type(exc).__name__}: {exc}"
        else:
            ok.append(name)
    return ok, missing


# ----------------------------------------------------------------------------- timing


def _time_sync(fn: Call, items: Sequence[tuple[Any, ...]]) -> tuple[Sample, Any]:
    """Run ``fn(*args)`` for each item after a full collection; (wall, CPU), last result."""
    gc.collect()
    process_time, perf_counter = time.process_time, time.perf_counter
    result = None
    cpu0 = process_time()
    wall0 = perf_counter()
    for args in items:
        result = fn(*args)
    wall = perf_counter() - wall0
    cpu = process_time() - cpu0
    return (wall, cpu), result


async def _time_async(fn: Call, items: Sequence[tuple[Any, ...]]) -> tuple[Sample, Any]:
    """:func:`_time_sync` for a coroutine function, timed inside the event loop."""
    gc.collect()
    process_time, perf_counter = time.process_time, time.perf_counter
    result = None
    cpu0 = process_time()
    wall0 = perf_counter()
    for args in items:
        result = await fn(*args)
    wall = perf_counter() - wall0
    cpu = process_time() - cpu0
    return (wall, cpu), result


@dataclass
class Bound:
    """An implementation bound to a server, with the event loop it runs on (if async)."""

    impl: Implementation
    loop: asyncio.AbstractEventLoop | None

    def call(self, fn: Call, *args: Any) -> Any:
        """``fn(*args)``, run to completion on the loop for an async implementation."""
        result = fn(*args)
        if self.loop is not None:
            return self.loop.run_until_complete(result)
        return result

    def timed(self, fn: Call, items: Sequence[tuple[Any, ...]]) -> tuple[Sample, Any]:
        if self.loop is not None:
            return self.loop.run_until_complete(_time_async(fn, items))
        return _time_sync(fn, items)


class _Setup:
    """The PyMongo client that prepares and checks every implementation's data."""

    def __init__(self, client: Any, database: str) -> None:
        self.client = client
        self.database = database
        self.db = client[database]

    def reset(self, collection: str) -> None:
        """The spec's "before task" of the create tasks: drop, then ``create``."""
        self.db.drop_collection(collection)
        self.db.command("create", collection)

    def drop(self, collection: str) -> None:
        self.db.drop_collection(collection)

    def fill(self, collection: str, document: Mapping[str, Any], count: int) -> None:
        """``count`` copies of ``document`` with ObjectId ``_id``s."""
        self.reset(collection)
        self.db[collection].insert_many([dict(document) for _ in range(count)])
        self.expect_count(collection, {}, count)

    def count(self, collection: str, filter: Mapping[str, Any]) -> int:
        found: int = self.db[collection].count_documents(filter)
        return found

    def expect_count(self, collection: str, filter: Mapping[str, Any], count: int) -> None:
        found = self.count(collection, filter)
        if found != count:
            raise BenchmarkError(
                f"{self.database}.{collection}: {found} documents match {filter!r:.80}, not {count}"
            )

    def stored_example(self, collection: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.db[collection].find_one({}, sort=[("_id", -1)])
        return found


def _check(ok: bool, task: Task, impl: str, what: str) -> None:
    if not ok:
        raise BenchmarkError(f"{task.name} [{impl}]: {what}")


def _same_document(stored: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> bool:
    if stored is None:
        return False
    return {k: v for k, v in stored.items() if k != "_id"} == dict(expected)


def make_runner(task: Task, bound: Bound, ops: Ops, setup: _Setup, collection: str) -> Runner:
    """A runner timing ``task`` on one implementation (its corpus, if any, in place)."""
    name = bound.impl.name
    document = load_document(task.dataset)

    if task.kind == "create":

        def create(n: int) -> Sample:
            setup.reset(collection)
            items = [(dict(document),) for _ in range(n)]
            sample, _ = bound.timed(ops.create, items)
            setup.expect_count(collection, {}, n)
            stored = setup.stored_example(collection)
            _check(
                _same_document(stored, document),
                task,
                name,
                f"stored {stored!r:.200} differs from the dataset",
            )
            setup.drop(collection)  # frees the server's memory (large documents)
            return sample

        return create

    instances: list[Any] = bound.call(ops.load)
    corpus = len(instances)
    _check(
        all(ops.model is None or isinstance(i, ops.model) for i in instances),
        task,
        name,
        "load() did not return models",
    )

    if task.kind == "update":
        path = DATASETS[task.dataset].update_path
        values = (f"updated_value{i}" for i in itertools.count(1))

        def update(n: int) -> Sample:
            _check(n <= corpus, task, name, f"{n} updates in a corpus of {corpus}")
            value = next(values)
            items = [(instance, value) for instance in instances[:n]]
            sample, _ = bound.timed(ops.update, items)
            setup.expect_count(collection, {path: value}, n)
            if ops.model is not None:
                _check(
                    get_path(instances[n - 1], path) == value,
                    task,
                    name,
                    "the instance does not hold the value it saved",
                )
            return sample

        return update

    if task.kind == "find":
        nested_value = (
            get_path(document, NESTED_FILTER_PATH) if task.dataset == "large_nested" else None
        )
        ids = [ops.id_of(instance) for instance in instances]

        def find(n: int) -> Sample:
            _check(n <= corpus, task, name, f"{n} lookups in a corpus of {corpus}")
            items = [(id, nested_value) for id in ids[:n]]
            sample, last = bound.timed(ops.find, items)
            _check(
                isinstance(last, list)
                and len(last) == 1
                and ops.id_of(last[0]) == ids[n - 1]
                and (ops.model is None or isinstance(last[0], ops.model)),
                task,
                name,
                f"the last find returned {last!r:.120}, not the document {ids[n - 1]!r}",
            )
            return sample

        return find

    raise ValueError(f"unknown task kind {task.kind!r}")


# ------------------------------------------------------------------------ the suite


def with_retry_writes_off(uri: str) -> str:
    """``uri`` with ``retryWrites=false`` (replacing any value it had)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "retrywrites"]
    query.append(("retryWrites", "false"))
    path = parts.path or "/"
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


@contextlib.contextmanager
def _server(group: str, uri: str | None) -> Iterator[str]:
    """The URI for a group: the given one, or a fresh SecantusDB stopped afterwards."""
    if uri is not None:
        yield uri
        return
    from tools.testserver import TestServer

    with TestServer(GROUPS[group]) as server:
        yield server.uri


def _environment(setup_client: Any, names: Sequence[str]) -> dict[str, Any]:
    import pydantic
    import pymongo

    build = setup_client.admin.command("buildInfo")
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "pydantic": pydantic.VERSION,
        "pymongo": pymongo.version,
        "motor": _package_version("motor"),
        "server_version": build.get("version"),
        "secantusdb": _package_version("SecantusDB"),
        "versions": {name: FACTORIES[name]().version() for name in names},
    }


def _progress(task: Task, timings: Mapping[str, Timing]) -> None:
    parts = [
        f"{name} {t.us_per_op():.0f} us ({t.cpu_us_per_op():.0f} cpu)"
        for name, t in timings.items()
    ]
    rounds = max(len(t.wall) for t in timings.values())
    ops = next(iter(timings.values())).iterations
    print(
        f"  {task.name:<20} per op: {', '.join(parts)}  ({rounds} rounds of {ops})",
        file=sys.stderr,
        flush=True,
    )


def run(
    scheme: Scheme,
    tasks: Sequence[str] | None = None,
    *,
    implementations: Sequence[str] | None = None,
    uri: str | None = None,
    database: str | None = None,
) -> dict[str, Any]:
    """Run the suite (progress on stderr); JSON-able results for :func:`render`.

    ``implementations``: default all of :data:`IMPLEMENTATIONS` that are installed (the
    others are listed under ``missing``). ``uri``: a server for every group (default:
    ``BENCH_MONGODB_URI``, else a fresh SecantusDB per group). ``database`` (default
    ``perftest``) is dropped before and after each group.
    """
    import pymongo

    database = database or DATABASE
    selected = [TASKS_BY_NAME[name] for name in (tasks or [t.name for t in TASKS])]
    names, missing = available(implementations or IMPLEMENTATIONS)
    if not names:
        raise BenchmarkError(f"no implementation can run: {missing}")
    uri = uri or os.environ.get(URI_VARIABLE) or None
    results: dict[str, Any] = {
        "suite": "odm",
        "scheme": scheme.as_dict(),
        "environment": {},
        "server": "external" if uri else "SecantusDB, a fresh server per group",
        "database": database,
        "implementations": names,
        "missing": missing,
        "ops": {task.name: task_ops(task, scheme) for task in selected},
        "bytes_per_op": {task.name: bytes_per_op(task) for task in selected},
        "notes": [],
        "tasks": {},
    }
    for name, reason in missing.items():
        print(f"odm suite: {name} left out ({reason})", file=sys.stderr, flush=True)
    print(
        f"odm suite: {', '.join(names)}; {scheme.iterations} ops per repetition "
        f"(large flat create: {scheme.iterations // 10}), "
        f"{scheme.min_repeat}-{scheme.repeat} rounds per task",
        file=sys.stderr,
        flush=True,
    )
    loop = asyncio.new_event_loop()
    try:
        for group in dict.fromkeys(task.group for task in selected):
            with _server(group, uri) as group_uri:
                client_uri = with_retry_writes_off(group_uri)
                setup_client = pymongo.MongoClient(client_uri)
                try:
                    if not results["environment"]:
                        results["environment"] = _environment(setup_client, names)
                    setup_client.drop_database(database)
                    setup = _Setup(setup_client, database)
                    with _connected(names, client_uri, database, loop) as bound:
                        for task in (t for t in selected if t.group == group):
                            results["tasks"][task.name] = _run_task(task, scheme, bound, setup)
                    setup_client.drop_database(database)
                finally:
                    setup_client.close()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return results


@contextlib.contextmanager
def _connected(
    names: Sequence[str], uri: str, database: str, loop: asyncio.AbstractEventLoop
) -> Iterator[dict[str, Bound]]:
    """Every implementation connected (and pinged) to ``uri``; closed afterwards."""
    with contextlib.ExitStack() as stack:
        bound: dict[str, Bound] = {}
        for name in names:
            impl = FACTORIES[name]()
            one = Bound(impl, loop if impl.is_async else None)
            one.call(impl.open, uri, database)
            stack.callback(one.call, impl.close)
            bound[name] = one
        yield bound


def _run_task(
    task: Task, scheme: Scheme, bound: Mapping[str, Bound], setup: _Setup
) -> dict[str, Any]:
    this = task_scheme(task, scheme)
    document = load_document(task.dataset)
    runners: dict[str, Runner] = {}
    collections: list[str] = []
    for name, one in bound.items():
        collection = f"{task.dataset}_{name}"
        collections.append(collection)
        if task.kind != "create":
            setup.fill(collection, document, this.iterations)
        ops = one.call(one.impl.bind, task.dataset, collection)
        runners[name] = make_runner(task, one, ops, setup, collection)
    timings = interleaved(runners, this)
    for collection in collections:
        setup.drop(collection)
    _progress(task, timings)
    size = bytes_per_op(task)
    return {name: timing.as_dict(size) for name, timing in timings.items()}


# ---------------------------------------------------------------------------- output

LABELS = {
    "ours": "ours",
    "driver": "driver",
    "beanie": "Beanie",
    "odmantic": "ODMantic",
    "mongoengine": "MongoEngine",
}


def ratios(results: Mapping[str, Any]) -> dict[str, dict[str, dict[str, float]]]:
    """Per task and other implementation: ours over its wall and CPU time per op."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for task, by_impl in results["tasks"].items():
        ours = by_impl.get("ours")
        if not ours:
            continue
        for other, theirs in by_impl.items():
            if other == "ours" or not theirs["us_per_op"] or not theirs["cpu_us_per_op"]:
                continue
            out.setdefault(task, {})[other] = {
                "wall": ours["us_per_op"] / theirs["us_per_op"],
                "cpu": ours["cpu_us_per_op"] / theirs["cpu_us_per_op"],
            }
    return out


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def render(results: dict[str, Any]) -> str:
    """Three tables: MB/s, wall time per op, client CPU per op (with ours/other ratios)."""
    names = [n for n in IMPLEMENTATIONS if n in results.get("implementations", [])]
    others = [n for n in names if n != "ours"]
    has_ours = "ours" in names
    tasks = results["tasks"]
    env = results.get("environment") or {}

    def title(name: str) -> str:
        task = TASKS_BY_NAME.get(name)
        return task.title if task else name

    def table(metric: str, with_ratios: bool) -> str:
        headers = ["task", "ops", *(LABELS[n] for n in names)]
        if with_ratios and has_ours:
            headers += [f"ours/{LABELS[n]}" for n in others]
        rows = []
        for name, by_impl in tasks.items():
            row = [title(name), str(results["ops"].get(name, "-"))]
            row += [_number(by_impl[n][metric]) if n in by_impl else "-" for n in names]
            if with_ratios and has_ours:
                ours = by_impl.get("ours")
                for n in others:
                    theirs = by_impl.get(n)
                    ok = ours and theirs and theirs[metric]
                    row.append(f"{ours[metric] / theirs[metric]:.2f}" if ok else "-")
            rows.append(row)
        return format_table(headers, rows)

    rounds = sorted({len(t["wall_s"]) for by_impl in tasks.values() for t in by_impl.values()})
    span = "-".join(map(str, rounds[:1] + rounds[1:][-1:])) or "0"
    versions = env.get("versions", {})
    header = (
        f"ODM benchmarks (Python {env.get('python')}, Pydantic {env.get('pydantic')}, "
        f"server {env.get('server_version')} [{results.get('server')}]): "
        + "; ".join(versions.get(n, n) for n in names)
        + f".\nMedian of {span} interleaved repetitions per task; 'ops' = operations per "
        f"repetition (the spec: {SPEC_OPS:,}). Ratios are ours/other time per operation "
        f"(above 1: ours is slower)."
    )
    parts = [
        header,
        "",
        "MB/s (the spec's score: document BSON size x ops / median wall time):",
        table("mb_per_s", with_ratios=False),
        "",
        "Wall time per operation (us):",
        table("us_per_op", with_ratios=True),
        "",
        "Client CPU per operation (us):",
        table("cpu_us_per_op", with_ratios=True),
    ]
    for name, reason in results.get("missing", {}).items():
        hint = " (pip install -e '.[bench]')" if name in PEERS else ""
        parts.append(f"missing: {name}: {reason}{hint}")
    parts.extend(f"note: {note}" for note in results.get("notes", []))
    return "\n".join(parts)

"""Index states: what indexes each collection has, as plain JSON-able data.

A :data:`State` maps a collection's name to the list of its indexes, each the
``IndexSpec.to_dict()`` form (``{"keys", "name", "options"}``), collections sorted by
name, indexes sorted by name, never the ``_id`` index, no collection without indexes.
BSON values in options (a date or an ObjectId in a partial filter) are kept as Relaxed
Extended JSON (``{"$date": ...}``), so a state can be written into a migration file as
Python literals and read back unchanged; :func:`decode` gives the BSON values back.

A state comes from the models (:func:`state_from_models`), from a live database's
``list_indexes()`` (:func:`state_from_database`) or from the last migration file.

Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from driver.bson import json_util
from odm.index import IndexSpec, _differences, index_specs
from odm.model import collection_name

__all__ = [
    "State",
    "decode",
    "encode",
    "normalize_state",
    "spec_of",
    "state_differences",
    "state_from_database",
    "state_from_models",
    "states_equal",
]

#: collection name -> list of ``IndexSpec.to_dict()`` (JSON-able), both sorted.
State = dict[str, list[dict[str, Any]]]

# Set by ``collMod`` on the way to a unique index; not a property of the finished index.
_TRANSIENT = ("prepareUnique",)


def encode(value: Any) -> Any:
    """``value`` with BSON values as Relaxed Extended JSON: plain dicts, lists, str,
    int, float, bool and None only (dict key order kept)."""
    return json.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`: Extended JSON objects back to BSON values (BSON
    values already there are kept)."""
    return json_util.loads(json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS))


def spec_of(data: Mapping[str, Any]) -> IndexSpec:
    """The :class:`IndexSpec` of one state entry (BSON values restored)."""
    return IndexSpec.from_dict(decode(dict(data)))


def _entry(spec: IndexSpec) -> dict[str, Any]:
    entry: dict[str, Any] = encode(spec.to_dict())
    return entry


def normalize_state(state: Mapping[str, Iterable[Mapping[str, Any]]]) -> State:
    """``state`` in its canonical form: every entry checked and re-encoded, collections
    and indexes sorted by name, empty collections and ``_id_`` left out. Raises
    ValueError on a malformed entry or two indexes of one name in a collection."""
    if not isinstance(state, Mapping):
        raise ValueError(f"an index state is a mapping of collection -> indexes, not {state!r}")
    result: State = {}
    for collection in sorted(state):
        if not isinstance(collection, str) or not collection:
            raise ValueError(f"a collection name must be a non-empty str, not {collection!r}")
        entries = [_entry(spec_of(item)) for item in state[collection]]
        entries = [entry for entry in entries if entry["name"] != "_id_"]
        names = [entry["name"] for entry in entries]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"collection {collection!r}: two indexes named {duplicates}")
        if entries:
            result[collection] = sorted(entries, key=lambda entry: str(entry["name"]))
    return result


def state_from_models(models: Iterable[type[BaseModel]]) -> State:
    """The indexes ``models`` declare, by collection. Two models stored in one collection
    merge their indexes; the same index declared twice counts once; one name for two
    different indexes, or the same index under two names, raises ValueError."""
    found: dict[str, list[tuple[str, IndexSpec]]] = {}
    for model in models:
        collection = collection_name(model)
        for spec in index_specs(model):
            found.setdefault(collection, []).append((model.__name__, spec))
    state: dict[str, list[dict[str, Any]]] = {}
    for collection, pairs in found.items():
        kept: list[tuple[str, IndexSpec]] = []
        for owner, spec in pairs:
            for other_owner, other in kept:
                if spec == other:
                    break
                same = not (set(_differences(spec, other)) - {"name"})
                if spec.name == other.name or same:
                    raise ValueError(
                        f"collection {collection!r}: {other_owner} declares {other} and "
                        f"{owner} declares {spec}; one collection cannot have both"
                    )
            else:
                kept.append((owner, spec))
        state[collection] = [spec.to_dict() for _, spec in kept]
    return normalize_state(state)


def state_from_database(listings: Mapping[str, Iterable[Mapping[str, Any]]]) -> State:
    """The state of a live database from each collection's ``list_indexes()`` documents
    (``_id_`` and a clustered index left out; ``prepareUnique`` too, a step of a
    conversion to unique and not part of an index's declaration)."""
    state: dict[str, list[dict[str, Any]]] = {}
    for collection, documents in listings.items():
        entries = []
        for document in documents:
            spec = IndexSpec.from_index_document(document)
            if spec.name == "_id_" or spec.options.get("clustered"):
                continue
            options = {k: v for k, v in spec.options.items() if k not in _TRANSIENT}
            entries.append(IndexSpec(spec.keys, spec.name, options).to_dict())
        state[collection] = entries
    return normalize_state(state)


def states_equal(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """True when both states have the same indexes, compared as :mod:`odm.index`
    compares a declaration with the server (``expected`` is the declared side)."""
    return not state_differences(expected, actual)


def state_differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Readable lines saying how ``actual`` differs from ``expected`` (empty: equal)."""
    mine, theirs = normalize_state(expected), normalize_state(actual)
    lines: list[str] = []
    for collection in sorted(set(mine) | set(theirs)):
        want = {entry["name"]: spec_of(entry) for entry in mine.get(collection, [])}
        have = {entry["name"]: spec_of(entry) for entry in theirs.get(collection, [])}
        for name in sorted(set(want) | set(have)):
            if name not in have:
                lines.append(f"{collection}: missing index {name} {_describe(want[name])}")
            elif name not in want:
                lines.append(f"{collection}: unexpected index {name} {_describe(have[name])}")
            else:
                for option, (ours, server) in _differences(want[name], have[name]).items():
                    lines.append(
                        f"{collection}: index {name} {option}: expected {ours!r}, found {server!r}"
                    )
    return lines


def _describe(spec: IndexSpec) -> str:
    keys = ", ".join(f"{path}: {value!r}" for path, value in spec.keys)
    options = "".join(f", {k}={v!r}" for k, v in sorted(spec.options.items()))
    return f"{{{keys}}}{options}"

"""The migration planner: a pure diff of two index states into operations.

``plan(old, new)`` lists the operations that turn the indexes of state ``old`` into
those of state ``new`` (see :mod:`odm.migrations.state`), as plain JSON-able dicts in
the order to run them; ``invert(operations)`` is the way back (the reverse order, each
operation inverted, a replacement's bridges rebuilt for the indexes the way back
drops), so ``apply_operations(apply_operations(s, ops), invert(ops)) == s``.

Operations:

- ``{"op": "create_index", "collection", "index": spec_dict}``
- ``{"op": "drop_index", "collection", "index": spec_dict}`` (the whole spec, to
  recreate it on the way back)
- ``{"op": "modify_index", "collection", "name", "options": {option: new},
  "previous": {option: old}}``: ``collMod``, for ``expireAfterSeconds`` (a TTL index
  keeping a TTL), ``hidden`` and ``unique`` (``None`` = absent = false). A change to
  unique runs as MongoDB 6.0+ asks: ``prepareUnique`` then ``unique`` (see
  :func:`commands`); back to non-unique is ``unique: false`` then ``prepareUnique:
  false``.
- ``{"op": "rename_collection", "from", "to"}``: detected when a collection leaves the
  declared state and one with exactly the same indexes arrives (a model's collection
  renamed; a collection passed in ``declared``, still used by a model, is never a
  source); run with ``renameCollection`` (review it: two unrelated models that happen
  to declare the same indexes look the same).
- ``{"op": "rename_index", "collection", "from": spec_dict, "to": spec_dict}``: the same
  index (keys and options) under a new name.

How a change that keeps the collection covered is run:

- A new index is always created before an old one is dropped (collection by
  collection: renames and changes, then new indexes, then drops).
- An index that changes in a way ``collMod`` cannot do (keys, partial filter,
  collation, sparse, text options, wildcard projection, 2dsphere version, adding or
  removing a TTL...) while keeping its name, or a new index whose key pattern is the one
  of an index it replaces (the server refuses two indexes it considers equivalent,
  ``IndexOptionsConflict``), is replaced through a *bridge*: a temporary copy of the old
  index with one more key, :data:`BRIDGE_KEY` (a field no document has, so every query
  and sort the old index served uses the bridge, and a unique bridge enforces the same
  uniqueness, every document holding null there), then the old index is dropped, the
  new one built, the bridge dropped. A bridge cannot be built for a text index (one per
  collection) nor a wildcard index (no compound wildcard before MongoDB 7.0): those are
  dropped then rebuilt, the one case where the collection goes without the index for
  the time of the build; the file says so.
- Changes that block each other (a new index needing the name or the key pattern of
  one going away, or a second text index: two indexes swapping names, a name moving
  to the keys of a dropped index) are replaced as one group: a bridge of each old
  index, the old ones dropped, the new ones built, the bridges dropped. Every plan
  passes :func:`apply_operations` step by step, and every key pattern both states
  share has an index starting with it after each step (text indexes aside).
- A rename runs the same bridge (MongoDB cannot rename an index, and refuses two
  equivalent indexes): :func:`expand` lists the steps. An index is planned as a
  ``rename_index`` only when its new name is free; otherwise it joins a group above.

Pure: no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from odm.index import IndexSpec, _differences
from odm.migrations.state import State, decode, normalize_state, spec_of

__all__ = [
    "BRIDGE_KEY",
    "IN_PLACE",
    "Operation",
    "apply_operations",
    "bridge",
    "commands",
    "describe",
    "expand",
    "invert",
    "plan",
]

#: One operation: a plain JSON-able dict (see the module docstring).
Operation = dict[str, Any]

#: Options ``collMod`` changes on an existing index (see :func:`plan`).
IN_PLACE = frozenset({"expireAfterSeconds", "hidden", "unique"})

#: The extra key of a bridge index: a field that no document is expected to have.
BRIDGE_KEY = "__odm_migration_bridge"
_BRIDGE_SUFFIX = "__bridge"


# ------------------------------------------------------------------ planning


def plan(old: State, new: State, *, declared: Iterable[str] = ()) -> list[Operation]:
    """The operations turning the indexes of ``old`` into those of ``new``.
    ``declared``: collections that still exist in the new declarations even without
    an index (a state leaves them out): never taken for the source of a rename."""
    before, after = _specs(old), _specs(new)
    kept = set(declared)
    operations: list[Operation] = []
    # A model's collection renamed: a collection gone and one arrived, same indexes.
    gone = [name for name in before if name not in after and name not in kept]
    arrived = [name for name in after if name not in before]
    for target in arrived:
        source = next((c for c in gone if _same_indexes(before[c], after[target])), None)
        if source is not None:
            gone.remove(source)
            operations.append({"op": "rename_collection", "from": source, "to": target})
            before[target] = before.pop(source)
    for collection in sorted(set(before) | set(after)):
        operations += _plan_collection(collection, before.get(collection, {}), after.get(collection, {}))
    return operations


def _specs(state: State) -> dict[str, dict[str, IndexSpec]]:
    return {
        collection: {entry["name"]: spec_of(entry) for entry in entries}
        for collection, entries in normalize_state(state).items()
    }


def _same(a: IndexSpec, b: IndexSpec) -> bool:
    """Same keys and options (the name aside)."""
    return not set(_differences(a, b)) - {"name"}


def _same_indexes(a: Mapping[str, IndexSpec], b: Mapping[str, IndexSpec]) -> bool:
    return a.keys() == b.keys() and all(not _differences(b[name], a[name]) for name in a)


def _key(spec: IndexSpec) -> Any:
    return spec.normalized()["key"]


def _conflict(a: IndexSpec, b: IndexSpec) -> bool:
    """True when ``a`` cannot be built while ``b`` exists: the same name, the same key
    pattern (the server may take them for one index, ``IndexOptionsConflict``), or two
    text indexes (one per collection)."""
    return a.name == b.name or _key(a) == _key(b) or (_text(a) and _text(b))


def _text(spec: IndexSpec) -> bool:
    return any(value == "text" for _, value in spec.keys)


def _plan_collection(
    collection: str, old: Mapping[str, IndexSpec], new: Mapping[str, IndexSpec]
) -> list[Operation]:
    changes: list[Operation] = []
    # What goes (removed) and what comes (added); an index changed in a way collMod
    # cannot do under its name is both.
    removed = [old[name] for name in sorted(old) if name not in new]
    added = [new[name] for name in sorted(new) if name not in old]
    modified: list[Operation] = []
    for name in sorted(set(old) & set(new)):
        differences = _differences(new[name], old[name])
        if not differences:
            continue
        in_place = _in_place(collection, old[name], new[name], differences)
        if in_place is not None:
            modified.append(in_place)
        else:
            removed.append(old[name])
            added.append(new[name])
    # Renamed: the same index under a name no index has yet (and no other index going
    # away on its keys): one rename_index, through its own bridge.
    old_names = set(old)
    for target in sorted(added, key=lambda spec: spec.name):
        if target.name in old_names:
            continue
        source = next((o for o in removed if _same(o, target)), None)
        if source is None or any(
            o is not source and _conflict(o, target) for o in removed
        ):
            continue
        removed.remove(source)
        added.remove(target)
        changes.append(_op_rename(collection, source, target))
    changes += modified
    # A new index that cannot be built while an index going away exists (its name, its
    # keys, a second text index) waits for it: each group of such indexes (linked
    # through their conflicts) is replaced at once, every old one through a bridge.
    groups: list[tuple[list[IndexSpec], list[IndexSpec]]] = []
    for spec in added:
        blocking = [o for o in removed if _conflict(o, spec)]
        if not blocking:
            continue
        merged_old, merged_new = list(blocking), [spec]
        for group in list(groups):
            if any(o in group[0] for o in blocking):
                groups.remove(group)
                merged_old += [o for o in group[0] if o not in merged_old]
                merged_new += group[1]
        groups.append((merged_old, merged_new))
    for group_old, group_new in sorted(groups, key=lambda g: min(o.name for o in g[0])):
        changes += _replace_group(collection, group_old, group_new)
        removed = [o for o in removed if o not in group_old]
        added = [n for n in added if n not in group_new]
    creates = [_op("create_index", collection, spec) for spec in sorted(added, key=lambda s: s.name)]
    drops = [_op("drop_index", collection, spec) for spec in sorted(removed, key=lambda s: s.name)]
    # Changes first (each keeps its collection covered), then new indexes, then drops.
    return changes + creates + drops


def _replace_group(
    collection: str, old: Sequence[IndexSpec], new: Sequence[IndexSpec]
) -> list[Operation]:
    """Replace the indexes ``old`` by ``new`` when they cannot all exist at once: a
    bridge for each old one (see :func:`bridge`), the old ones dropped, the new ones
    built, the bridges dropped. One old and one new index give the four steps of
    :func:`_replace`."""
    old = sorted(old, key=lambda spec: spec.name)
    new = sorted(new, key=lambda spec: spec.name)
    bridges = [b for b in (bridge(spec) for spec in old) if b is not None]
    return (
        [_op("create_index", collection, spec) for spec in bridges]
        + [_op("drop_index", collection, spec) for spec in old]
        + [_op("create_index", collection, spec) for spec in new]
        + [_op("drop_index", collection, spec) for spec in bridges]
    )


def _op(kind: str, collection: str, spec: IndexSpec) -> Operation:
    return {"op": kind, "collection": collection, "index": _entry(spec)}


def _entry(spec: IndexSpec) -> dict[str, Any]:
    return normalize_state({"_": [spec.to_dict()]})["_"][0]


def _op_rename(collection: str, old: IndexSpec, new: IndexSpec) -> Operation:
    return {"op": "rename_index", "collection": collection, "from": _entry(old), "to": _entry(new)}


def _flag(spec: IndexSpec, option: str) -> Any:
    value = spec.options.get(option)
    if option in ("hidden", "unique"):
        return True if value else None
    return value


def _in_place(
    collection: str, old: IndexSpec, new: IndexSpec, differences: Mapping[str, Any]
) -> Operation | None:
    """The ``modify_index`` doing this change with ``collMod``, or None."""
    if not set(differences) <= IN_PLACE:
        return None
    if "expireAfterSeconds" in differences and (
        "expireAfterSeconds" not in old.options or "expireAfterSeconds" not in new.options
    ):
        return None  # adding (5.1+ only) or removing (never) a TTL: rebuilt
    options = {option: _flag(new, option) for option in sorted(differences)}
    previous = {option: _flag(old, option) for option in sorted(differences)}
    return {
        "op": "modify_index",
        "collection": collection,
        "name": new.name,
        "options": options,
        "previous": previous,
    }


def bridge(spec: IndexSpec) -> IndexSpec | None:
    """The temporary twin of ``spec`` that covers its queries while it is rebuilt: one
    more key, :data:`BRIDGE_KEY`, same options (no TTL: a compound index has none); None
    for a text or wildcard index, which cannot have one."""
    if any(value == "text" or path.endswith("$**") for path, value in spec.keys):
        return None
    options = {k: v for k, v in spec.options.items() if k != "expireAfterSeconds"}
    return IndexSpec((*spec.keys, (BRIDGE_KEY, 1)), spec.name + _BRIDGE_SUFFIX, options)


def _replace(collection: str, old: IndexSpec, new: IndexSpec) -> list[Operation]:
    """Replace ``old`` with ``new`` when both cannot exist at once."""
    return _replace_group(collection, [old], [new])


# ------------------------------------------------------------------ inverting, expanding


def invert(operations: Sequence[Mapping[str, Any]]) -> list[Operation]:
    """The operations undoing ``operations``: reverse order, each one inverted, and the
    bridges of a replacement rebuilt for the way back: going back drops the indexes the
    way up built, so those are the ones bridged (a bridge of the index being restored
    would leave the dropped one's queries uncovered)."""
    result = [_invert_one(operation) for operation in reversed(operations)]
    position = 0
    while position < len(result):
        position = _rebridge(result, position)
    return result


def _is_bridge(entry: Any) -> bool:
    if not isinstance(entry, Mapping):
        return False
    keys, name = entry.get("keys"), entry.get("name")
    return (
        isinstance(name, str) and name.endswith(_BRIDGE_SUFFIX) and isinstance(keys, list)
        and bool(keys) and list(keys[-1])[:1] == [BRIDGE_KEY]
    )


def _bridge_step(operation: Mapping[str, Any], kind: str, collection: str) -> bool:
    return (
        operation.get("op") == kind and operation.get("collection") == collection
        and _is_bridge(operation.get("index"))
    )


def _rebridge(result: list[Operation], position: int) -> int:
    """At ``position``, a replacement (bridges built, indexes dropped and built, the
    same bridges dropped, one collection) has its bridges replaced by bridges of the
    indexes it drops; the position after it. Anything else is left as it is."""
    first = result[position]
    if first.get("op") != "create_index" or not _is_bridge(first.get("index")):
        return position + 1
    collection = first["collection"]
    end = position
    while end < len(result) and _bridge_step(result[end], "create_index", collection):
        end += 1
    built = [result[i]["index"]["name"] for i in range(position, end)]
    middle_end = end
    while middle_end < len(result) and (
        result[middle_end].get("op") in ("create_index", "drop_index")
        and result[middle_end].get("collection") == collection
        and not _is_bridge(result[middle_end].get("index"))
    ):
        middle_end += 1
    last = middle_end
    while last < len(result) and _bridge_step(result[last], "drop_index", collection):
        last += 1
    dropped = [result[i]["index"]["name"] for i in range(middle_end, last)]
    if sorted(built) != sorted(dropped) or middle_end == end:
        return position + 1
    middle = result[end:middle_end]
    bridges = [
        b for b in (bridge(spec_of(op["index"])) for op in middle if op["op"] == "drop_index")
        if b is not None
    ]
    group = (
        [_op("create_index", collection, spec) for spec in bridges]
        + middle
        + [_op("drop_index", collection, spec) for spec in bridges]
    )
    result[position:last] = group
    return position + len(group)


def _invert_one(operation: Mapping[str, Any]) -> Operation:
    result = copy.deepcopy(dict(operation))
    kind = result.get("op")
    if kind == "create_index":
        result["op"] = "drop_index"
    elif kind == "drop_index":
        result["op"] = "create_index"
    elif kind == "modify_index":
        result["options"], result["previous"] = result["previous"], result["options"]
    elif kind in ("rename_index", "rename_collection"):
        result["from"], result["to"] = result["to"], result["from"]
    else:
        raise ValueError(f"unknown migration operation: {operation!r}")
    return result


def expand(operation: Mapping[str, Any]) -> list[Operation]:
    """The basic steps of one operation (each safe to repeat when run as "create if
    missing" / "drop if present"): a ``rename_index`` becomes its bridge, create
    bridge, drop old, create new, drop bridge; anything else is itself."""
    _check(operation)
    if operation["op"] != "rename_index":
        return [copy.deepcopy(dict(operation))]
    old, new = spec_of(operation["from"]), spec_of(operation["to"])
    return _replace(operation["collection"], old, new)


# ------------------------------------------------------------------ simulating


def apply_operations(state: State, operations: Iterable[Mapping[str, Any]]) -> State:
    """``state`` after ``operations``, simulated: what the database's indexes become.
    Strict: creating an index that exists (under its name, or with the same keys and
    options), dropping or changing one that does not, or renaming onto an existing
    collection raises ValueError: a planner mistake, not a server's tolerance."""
    current = _specs(state)
    for operation in operations:
        for step in expand(operation):
            _apply_step(current, step)
    return normalize_state(
        {c: [spec.to_dict() for spec in specs.values()] for c, specs in current.items()}
    )


def _apply_step(current: dict[str, dict[str, IndexSpec]], step: Mapping[str, Any]) -> None:
    kind = step["op"]
    if kind == "rename_collection":
        source, target = step["from"], step["to"]
        if target in current:
            raise ValueError(f"rename_collection: {target!r} exists")
        current[target] = current.pop(source, {})
        return
    collection = step["collection"]
    indexes = current.setdefault(collection, {})
    if kind == "create_index":
        spec = spec_of(step["index"])
        if spec.name in indexes:
            raise ValueError(f"create_index: {collection}.{spec.name} exists")
        twin = next((other for other in indexes.values() if _same(other, spec)), None)
        if twin is not None:
            raise ValueError(f"create_index: {collection}.{spec.name} is {twin.name} again")
        indexes[spec.name] = spec
    elif kind == "drop_index":
        name = step["index"]["name"]
        if name not in indexes:
            raise ValueError(f"drop_index: no {collection}.{name}")
        del indexes[name]
    elif kind == "modify_index":
        name = step["name"]
        if name not in indexes:
            raise ValueError(f"modify_index: no {collection}.{name}")
        spec = indexes[name]
        options = dict(spec.options)
        for option, value in step["options"].items():
            if _flag(spec, option) != step["previous"].get(option):
                raise ValueError(
                    f"modify_index: {collection}.{name} {option} is {options.get(option)!r}, "
                    f"not {step['previous'].get(option)!r}"
                )
            if value is None:
                options.pop(option, None)
            else:
                options[option] = value
        indexes[name] = IndexSpec(spec.keys, spec.name, options)
    else:
        raise ValueError(f"unknown migration operation: {step!r}")
    if not indexes:
        del current[collection]


# ------------------------------------------------------------------ server commands


def commands(operation: Mapping[str, Any], database: str) -> list[tuple[str, dict[str, Any]]]:
    """The exact server commands of one operation, as ``(database, command)`` pairs
    (``renameCollection`` runs on ``admin``), BSON values restored: what ``apply``
    sends and ``--dry-run`` prints."""
    result: list[tuple[str, dict[str, Any]]] = []
    for step in expand(operation):
        kind = step["op"]
        if kind == "rename_collection":
            result.append((
                "admin",
                {
                    "renameCollection": f"{database}.{step['from']}",
                    "to": f"{database}.{step['to']}",
                    "dropTarget": False,
                },
            ))
        elif kind == "create_index":
            document = spec_of(step["index"]).to_index_model().document
            result.append((database, {"createIndexes": step["collection"], "indexes": [document]}))
        elif kind == "drop_index":
            result.append((database, {"dropIndexes": step["collection"], "index": step["index"]["name"]}))
        else:
            result += [(database, command) for command in _coll_mods(step)]
    return result


def _coll_mods(step: Mapping[str, Any]) -> list[dict[str, Any]]:
    collection, name = step["collection"], step["name"]

    def coll_mod(option: str, value: Any) -> dict[str, Any]:
        return {"collMod": collection, "index": {"name": name, option: value}}

    result = []
    for option, value in sorted(step["options"].items()):
        if option == "unique" and value:
            result += [coll_mod("prepareUnique", True), coll_mod("unique", True)]
        elif option == "unique":
            result += [coll_mod("unique", False), coll_mod("prepareUnique", False)]
        elif option == "hidden":
            result.append(coll_mod("hidden", bool(value)))
        else:
            result.append(coll_mod(option, decode(value)))
    return result


# ------------------------------------------------------------------ describing


_KINDS = ("create_index", "drop_index", "modify_index", "rename_collection", "rename_index")


def _check(operation: Mapping[str, Any]) -> None:
    if not isinstance(operation, Mapping) or operation.get("op") not in _KINDS:
        raise ValueError(f"not a migration operation: {operation!r}")


def _keys(entry: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{path}: {value!r}" for path, value in entry["keys"]) + "}"


def _sorted(value: Any) -> Any:
    """``value`` with its dicts, nested too, in key order (a description's bytes do not
    depend on the order a declaration wrote them in)."""
    if isinstance(value, Mapping):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_sorted(item) for item in value)
    return value


def describe(operation: Mapping[str, Any]) -> str:
    """One readable line for ``operation`` (for files, ``status`` and logs)."""
    _check(operation)
    kind = operation["op"]
    if kind == "rename_collection":
        return f"rename collection {operation['from']} to {operation['to']} (detected: review)"
    collection = operation["collection"]
    if kind == "rename_index":
        old, new = operation["from"], operation["to"]
        return f"{collection}: rename index {old['name']} to {new['name']} {_keys(new)}"
    if kind == "modify_index":
        changes = ", ".join(
            f"{option} {operation['previous'].get(option)!r} -> {value!r}"
            for option, value in sorted(operation["options"].items())
        )
        return f"{collection}: change index {operation['name']}: {changes}"
    entry = operation["index"]
    options = "".join(f" {k}={_sorted(v)!r}" for k, v in sorted(entry.get("options", {}).items()))
    verb = "create" if kind == "create_index" else "drop"
    return f"{collection}: {verb} index {entry['name']} {_keys(entry)}{options}"

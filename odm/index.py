"""Indexes declared on models, in the canonical form the server reports, and their diff.

Two ways to declare an index, both read by :func:`index_specs`:

- on a field, ``Annotated[str, Indexed(unique=True)]``: found on the document's fields
  and on the fields of embedded models (``address.city``, through lists and optionals),
  under their stored names (aliases followed, ``id`` is ``_id``). Every field-level
  ``Indexed("text")`` of a model joins ONE text index (a collection has at most one);
- in the model's config, ``indexes=[Index(User.age, -User.created), ...]``: compound,
  wildcard, 2d and any other index. Keys are field proxies, ``-proxy`` sort keys,
  ``(key, direction)`` pairs or strings; strings are stored paths, used as given (like
  raw dict filters). A model cannot name its own proxies in its class body, so
  ``indexes`` may also be a function returning the list, called when it is read.

An :class:`IndexSpec` is plain, comparable data: keys as ordered pairs, a name (MongoDB's
default ``field_1_other_-1`` unless one is given, so the same declaration always gives
the same name) and the options spelled as ``createIndexes``/``listIndexes`` spell them
(``expireAfterSeconds``, ``partialFilterExpression``, ...). :func:`diff_indexes` compares
declared specs with what ``list_indexes()`` returned::

    >>> from pydantic import BaseModel, ConfigDict
    >>> class Doc(BaseModel):
    ...     model_config = ConfigDict(indexes=[Index("a", ("b", -1), unique=True)])
    ...     email: Annotated[str, Indexed(unique=True)]
    >>> [spec.name for spec in index_specs(Doc)]
    ['email_1', 'a_1_b_-1']
    >>> diff = diff_indexes(index_specs(Doc), [
    ...     {"v": 2, "key": {"_id": 1}, "name": "_id_"},
    ...     {"v": 2, "key": {"email": 1}, "name": "email_1"},
    ... ])
    >>> [spec.name for spec in diff.missing], [c.differences for c in diff.changed]
    (['a_1_b_-1'], [{'unique': (True, None)}])

Comparison rules (both sides normalized the same way): ``v``, ``ns`` and ``background``
are ignored; ``unique``/``sparse``/``hidden`` set to false are the same as absent;
numbers compare by value (``1`` = ``1.0``) but never equal a boolean; a text index is
compared in the server's form (``_fts``/``_ftsx`` keys, weights of 1 filled in,
``default_language`` ``"english"``, ``language_override`` ``"language"``); a 2d index
gets ``bits`` 26, ``min`` -180 and ``max`` 180 when not given; ``textIndexVersion`` and
``2dsphereIndexVersion`` are compared only when declared (the server picks them); a
collation is compared on the fields declared only (servers expand a collation to every
field, with defaults that depend on the locale), and ``{"locale": "simple"}`` is the same
as no collation. An index created on a collection with a default collation inherits
that collation: declare it on the index too.

Pure: no I/O. The engine reads ``list_indexes()`` and creates ``spec.to_index_model()``.
"""

# No ``from __future__ import annotations`` here: the docstring examples define models,
# and doctest would compile them with this module's future flags, leaving their
# annotations as strings Pydantic looks up in this module instead of the example.
import copy
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel

from driver import IndexModel
from odm.codec import stored_name

__all__ = [
    "Index",
    "IndexChange",
    "IndexDiff",
    "IndexSpec",
    "Indexed",
    "diff_indexes",
    "index_specs",
]

#: What an index key's value may be when declared: ascending, descending, or a kind.
IndexDirection = Literal[1, -1, "text", "2d", "2dsphere", "hashed"]

_KINDS = frozenset({"text", "2d", "2dsphere", "hashed"})
# Options the server adds or keeps that say nothing about what the index does.
_IGNORED = frozenset({"v", "ns", "background"})
_FLAGS = ("unique", "sparse", "hidden")
_TEXT_OPTIONS = ("weights", "default_language", "language_override", "textIndexVersion")
_GEO_2D_OPTIONS = ("bits", "min", "max")
_GEO_2D_DEFAULTS: dict[str, Any] = {"bits": 26, "min": -180.0, "max": 180.0}
_TEXT_DEFAULTS: dict[str, Any] = {"default_language": "english", "language_override": "language"}
# Chosen by the server when absent, and by its version: compared only when declared.
_SERVER_CHOSEN = frozenset({"textIndexVersion", "2dsphereIndexVersion"})
_MAX_TTL = 2**31 - 1  # the server's bound on expireAfterSeconds


# ------------------------------------------------------------------ spec


@dataclass(frozen=True)
class IndexSpec:
    """One index: ``keys`` as ordered ``(path, direction)`` pairs, its ``name`` and its
    ``options`` as the server spells them. Immutable, hashable, comparable; turns into a
    ``driver.IndexModel`` and round-trips through a JSON-able dict (for migration files).

    >>> spec = IndexSpec((("age", 1), ("name", -1)), "age_1_name_-1", {"unique": True})
    >>> spec.to_index_model().document
    {'name': 'age_1_name_-1', 'unique': True, 'key': {'age': 1, 'name': -1}}
    >>> IndexSpec.from_dict(spec.to_dict()) == spec
    True
    """

    keys: tuple[tuple[str, int | float | str], ...]
    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keys = tuple((str(key), value) for key, value in self.keys)
        if not keys:
            raise ValueError("an index needs at least one key")
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"an index name must be a non-empty str, not {self.name!r}")
        if not isinstance(self.options, Mapping):
            raise TypeError(f"options must be a mapping, not {type(self.options).__name__}")
        # A private deep copy behind a read-only view: nobody can change a spec later.
        object.__setattr__(self, "keys", keys)
        object.__setattr__(self, "options", types.MappingProxyType(copy.deepcopy(dict(self.options))))

    def __hash__(self) -> int:
        # Options may hold dicts; equal specs still share keys and name.
        return hash((self.keys, self.name))

    def __repr__(self) -> str:
        return f"IndexSpec({self.keys!r}, {self.name!r}, {dict(self.options)!r})"

    def to_index_model(self) -> IndexModel:
        """The driver's ``IndexModel`` creating this index."""
        return IndexModel(list(self.keys), name=self.name, **copy.deepcopy(dict(self.options)))

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "keys": [[path, direction], ...], "options"}``: JSON-able when the
        options are (a partial filter may hold BSON values: ``driver.bson.json_util``)."""
        return {
            "name": self.name,
            "keys": [[key, value] for key, value in self.keys],
            "options": copy.deepcopy(dict(self.options)),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "IndexSpec":
        """The spec :meth:`to_dict` gave (also after a trip through JSON)."""
        if not isinstance(data, Mapping) or set(data) - {"name", "keys", "options"}:
            raise ValueError(f"not an IndexSpec dict: {data!r}")
        keys = data.get("keys")
        if not isinstance(keys, Sequence) or isinstance(keys, str) or not all(
            isinstance(pair, Sequence) and not isinstance(pair, str) and len(pair) == 2
            for pair in keys
        ):
            raise ValueError(f"keys must be a list of [path, direction] pairs, not {keys!r}")
        name, options = data.get("name"), data.get("options", {})
        if not isinstance(name, str) or not isinstance(options, Mapping):
            raise ValueError(f"name must be a str and options a mapping: {data!r}")
        return cls(tuple((key, value) for key, value in keys), name, options)

    @classmethod
    def from_index_document(cls, document: Mapping[str, Any]) -> "IndexSpec":
        """The spec of one document from ``list_indexes()`` (``v``/``ns``/``background``
        dropped; a text index's ``_fts``/``_ftsx`` keys turned back into its fields).

        >>> IndexSpec.from_index_document({"v": 2, "key": {"_fts": "text", "_ftsx": 1},
        ...     "name": "t", "weights": {"body": 1, "title": 5}, "textIndexVersion": 3})
        IndexSpec((('body', 'text'), ('title', 'text')), 't', {'weights': {'body': 1, 'title': 5}, 'textIndexVersion': 3})
        """
        key = document.get("key")
        name = document.get("name")
        if not isinstance(key, Mapping) or not key or not isinstance(name, str):
            raise ValueError(f"not an index document (no key or name): {document!r}")
        options = {
            option: value
            for option, value in document.items()
            if option not in ("key", "name") and option not in _IGNORED
        }
        keys: list[tuple[str, Any]] = []
        for path, value in key.items():
            if path == "_fts":
                weights = options.get("weights")
                fields = list(weights) if isinstance(weights, Mapping) else []
                keys.extend((text_field, "text") for text_field in fields)
            elif path != "_ftsx":
                keys.append((path, _number(value)))
        return cls(tuple(keys), name, options)

    def normalized(self) -> dict[str, Any]:
        """The form specs are compared in (see the module's comparison rules): ``key``
        as the server stores it, then the options that matter."""
        options = dict(self.options)
        text_fields = [path for path, value in self.keys if value == "text"]
        key: list[tuple[str, Any]] = []
        for path, value in self.keys:
            if value != "text":
                key.append((path, _number(value)))
            elif path == text_fields[0]:
                key.extend([("_fts", "text"), ("_ftsx", 1)])
        result: dict[str, Any] = {"key": tuple(key)}
        for option, value in options.items():
            if option in _IGNORED:
                continue
            if option in _FLAGS:
                if value:
                    result[option] = True
            elif option == "collation":
                if isinstance(value, Mapping) and value.get("locale") != "simple":
                    result[option] = dict(value)
            elif option == "wildcardProjection" and isinstance(value, Mapping):
                result[option] = {
                    path: int(bool(include)) if isinstance(include, (bool, int, float)) else include
                    for path, include in value.items()
                }
            else:
                result[option] = _number(value)
        if text_fields:
            given = options.get("weights")
            weights = {path: 1 for path in text_fields}
            if isinstance(given, Mapping):
                weights.update({path: _number(weight) for path, weight in given.items()})
            result["weights"] = weights
            for option, default in _TEXT_DEFAULTS.items():
                result.setdefault(option, default)
        if any(value == "2d" for _, value in self.keys):
            for option, default in _GEO_2D_DEFAULTS.items():
                result.setdefault(option, default)
        return result


def _number(value: Any) -> Any:
    """An integral number as an int (servers and shells send ``1.0``); anything else as is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    return int(value)  # also an Int64


def _same(a: Any, b: Any) -> bool:
    """BSON-minded equality: numbers by value, never equal to a bool; documents ignore
    field order; arrays do not."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
        return False
    return bool(a == b)


def _default_name(keys: Iterable[tuple[str, Any]]) -> str:
    """MongoDB's default name: ``field_direction`` joined by ``_`` (``a_1_b_-1``)."""
    return "_".join(f"{key}_{value}" for key, value in keys)


# ------------------------------------------------------------------ declarations


def _check_path(path: str, where: str) -> str:
    if not isinstance(path, str) or not path:
        raise TypeError(f"{where}: an index key must be a non-empty str, not {path!r}")
    parts = path.split(".")
    for i, part in enumerate(parts):
        if not part:
            raise ValueError(f"{where}: index key {path!r} has an empty part")
        if part.startswith("$") and not (part == "$**" and i == len(parts) - 1):
            raise ValueError(f"{where}: index key {path!r} has a $ part other than a last '$**'")
    return path


def _check_direction(value: Any, where: str) -> int | str:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(f"{where}: an index direction is 1, -1 or a kind, not {value!r}")
    if isinstance(value, str):
        if value not in _KINDS:
            raise ValueError(f"{where}: unknown index kind {value!r} (one of {sorted(_KINDS)})")
        return value
    if value not in (1, -1):
        raise ValueError(f"{where}: an index direction is 1 or -1, not {value!r}")
    return int(value)


def _key_pairs(key: Any, where: str) -> list[tuple[str, int | str]]:
    """One ``Index`` key as pairs: a str, a ``(key, direction)`` pair, a mapping, a field
    proxy (ascending) or a sort key from ``-proxy``/``+proxy``."""
    if isinstance(key, str):
        return [(_check_path(key, where), 1)]
    if isinstance(key, Mapping):
        return [pair for k, v in key.items() for pair in _key_pairs((k, v), where)]
    if isinstance(key, tuple) and len(key) == 2:
        first, direction = key
        path: Any = getattr(first, "path", first)
        return [(_check_path(path, where), _check_direction(direction, where))]
    path = getattr(key, "path", None)
    if isinstance(path, str):
        # A field proxy, or a sort key (``-User.age``) that carries its direction.
        return [(_check_path(path, where), _check_direction(getattr(key, "direction", 1), where))]
    raise TypeError(
        f"{where}: an index key is a field proxy, a str, a (key, direction) pair or a "
        f"mapping, not {type(key).__name__}"
    )


def _expire_seconds(value: Any, where: str) -> int:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value
    else:
        raise TypeError(f"{where}: expire_after is seconds or a timedelta, not {value!r}")
    if seconds != int(seconds) or not 0 <= seconds <= _MAX_TTL:
        raise ValueError(f"{where}: expire_after must be whole seconds in 0..{_MAX_TTL}, not {value!r}")
    return int(seconds)


def _filter(value: Any, where: str) -> dict[str, Any]:
    to_filter = getattr(value, "to_filter", None)
    if callable(to_filter):  # a QueryExpression built with field proxies
        value = to_filter()
    if not isinstance(value, Mapping):
        raise TypeError(f"{where}: partial is a query expression or a mapping, not {value!r}")
    return copy.deepcopy(dict(value))


def _collation(value: Any, where: str) -> dict[str, Any]:
    document = value if isinstance(value, Mapping) else getattr(value, "document", None)
    if not isinstance(document, Mapping) or not isinstance(document.get("locale"), str):
        raise TypeError(f"{where}: collation is a mapping with a 'locale' str, not {value!r}")
    return dict(document)


def _paths(value: Any, option: str, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where}: {option} must be a mapping, not {value!r}")
    paths: dict[str, Any] = {}
    for key, item in value.items():
        path = getattr(key, "path", key)  # a field proxy, or a stored path
        if not isinstance(path, str) or not path:
            raise TypeError(f"{where}: {option} keys are paths or field proxies, not {key!r}")
        paths[path] = item
    return paths


def _options(
    where: str,
    *,
    unique: bool,
    sparse: bool,
    expire_after: int | float | timedelta | None,
    partial: Any,
    hidden: bool,
    collation: Any,
    weights: Mapping[Any, int] | None,
    default_language: str | None,
    language_override: str | None,
    text_version: int | None,
    two_d_sphere_version: int | None,
    bits: int | None,
    min: float | None,
    max: float | None,
    wildcard_projection: Mapping[Any, Any] | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The server-spelled options, in one fixed order (so equal declarations are equal)."""
    options: dict[str, Any] = {}
    for option, flag in (("unique", unique), ("sparse", sparse), ("hidden", hidden)):
        if not isinstance(flag, bool):
            raise TypeError(f"{where}: {option} must be a bool, not {flag!r}")
        if flag:
            options[option] = True
    if expire_after is not None:
        options["expireAfterSeconds"] = _expire_seconds(expire_after, where)
    if partial is not None:
        options["partialFilterExpression"] = _filter(partial, where)
    if collation is not None:
        options["collation"] = _collation(collation, where)
    if weights is not None:
        options["weights"] = _paths(weights, "weights", where)
    for option, text, kind in (
        ("default_language", default_language, str),
        ("language_override", language_override, str),
        ("textIndexVersion", text_version, int),
        ("2dsphereIndexVersion", two_d_sphere_version, int),
        ("bits", bits, int),
        ("min", min, (int, float)),
        ("max", max, (int, float)),
    ):
        if text is None:
            continue
        if isinstance(text, bool) or not isinstance(text, kind):
            raise TypeError(f"{where}: {option} has the wrong type: {text!r}")
        options[option] = text
    if wildcard_projection is not None:
        options["wildcardProjection"] = _paths(wildcard_projection, "wildcard_projection", where)
    for option, value in (extra or {}).items():
        if option in options or option in ("key", "name", *_IGNORED):
            raise ValueError(f"{where}: extra option {option!r} is set another way or not at all")
        options[option] = copy.deepcopy(value)
    return options


def _check_kinds(keys: Sequence[tuple[str, Any]], options: Mapping[str, Any], where: str) -> None:
    """Options that only mean something for one kind of index, and TTL's single field."""
    kinds = {value for _, value in keys}
    paths = [path for path, _ in keys]
    if len(set(paths)) != len(paths):
        raise ValueError(f"{where}: a key is given more than once: {paths}")
    if paths == ["_id"] and kinds == {1}:
        raise ValueError(f"{where}: the _id index always exists; declare no other")
    rules = [
        ("text", _TEXT_OPTIONS),
        ("2dsphere", ("2dsphereIndexVersion",)),
        ("2d", _GEO_2D_OPTIONS),
    ]
    for kind, names in rules:
        for option in names:
            if option in options and kind not in kinds:
                raise ValueError(f"{where}: {option} needs a {kind!r} key")
    if "wildcardProjection" in options and "$**" not in paths:
        raise ValueError(f"{where}: wildcard_projection needs the '$**' key")
    if "expireAfterSeconds" in options and (len(keys) != 1 or not kinds <= {1, -1}):
        raise ValueError(f"{where}: expire_after needs a single ascending or descending key")


class Indexed:
    """An index on one field, as ``Annotated`` metadata: ``Annotated[str, Indexed()]``.

    ``direction``: 1, -1, ``"text"``, ``"2d"``, ``"2dsphere"`` or ``"hashed"``.
    ``wildcard=True`` indexes every path under the field (``field.$**``). A list field
    makes a multikey index. Every ``Indexed("text")`` of a model joins one text index
    (``weight`` per field; the other options must agree). Options as in :class:`Index`.

    >>> from datetime import datetime
    >>> from pydantic import BaseModel
    >>> class Session(BaseModel):
    ...     token: Annotated[str, Indexed(unique=True, name="by_token")]
    ...     seen: Annotated[datetime, Indexed(expire_after=timedelta(hours=1))]
    >>> [(s.keys, s.name, dict(s.options)) for s in index_specs(Session)]
    [((('token', 1),), 'by_token', {'unique': True}), ((('seen', 1),), 'seen_1', {'expireAfterSeconds': 3600})]
    """

    __slots__ = ("direction", "name", "options", "weight", "wildcard")

    def __init__(
        self,
        direction: IndexDirection = 1,
        *,
        unique: bool = False,
        sparse: bool = False,
        name: str | None = None,
        expire_after: int | float | timedelta | None = None,
        partial: Any = None,
        hidden: bool = False,
        collation: Any = None,
        weight: int | None = None,
        default_language: str | None = None,
        language_override: str | None = None,
        text_version: int | None = None,
        two_d_sphere_version: int | None = None,
        bits: int | None = None,
        min: float | None = None,
        max: float | None = None,
        wildcard: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        where = "Indexed"
        self.direction = _check_direction(direction, where)
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{where}: name must be a non-empty str, not {name!r}")
        if weight is not None and (
            self.direction != "text" or isinstance(weight, bool) or not isinstance(weight, int)
        ):
            raise ValueError(f"{where}: weight is an int, for a 'text' index only: {weight!r}")
        self.name = name
        self.weight = weight
        self.wildcard = wildcard
        self.options = _options(
            where, unique=unique, sparse=sparse, expire_after=expire_after, partial=partial,
            hidden=hidden, collation=collation, weights=None, default_language=default_language,
            language_override=language_override, text_version=text_version,
            two_d_sphere_version=two_d_sphere_version, bits=bits, min=min, max=max,
            wildcard_projection=None, extra=extra,
        )
        # Checked now against a stand-in path, so a bad declaration fails at import.
        _check_kinds([(self._path("field"), self.direction)], self.options, where)

    def _path(self, path: str) -> str:
        return f"{path}.$**" if self.wildcard else path

    def spec(self, path: str) -> IndexSpec:
        """The index this declaration makes on the stored path ``path``."""
        keys = ((self._path(path), self.direction),)
        return IndexSpec(keys, self.name or _default_name(keys), self.options)

    def __repr__(self) -> str:
        args = [repr(self.direction)]
        args += [f"name={self.name!r}"] if self.name else []
        args += [f"weight={self.weight!r}"] if self.weight is not None else []
        args += ["wildcard=True"] if self.wildcard else []
        args += [f"{k}={v!r}" for k, v in self.options.items()]
        return f"Indexed({', '.join(args)})"


class Index:
    """An index in a model's config ``indexes``: compound, text, geo, wildcard, ...

    Keys: field proxies (``User.age``), sort keys (``-User.created``), strings (stored
    paths, ``"$**"`` or ``"attrs.$**"`` for wildcards) and ``(key, direction)`` pairs.
    Options: ``unique``, ``sparse``, ``name``, ``expire_after`` (seconds or timedelta),
    ``partial`` (a query expression or a filter mapping), ``hidden``, ``collation``,
    ``weights``/``default_language``/``language_override``/``text_version`` (text),
    ``two_d_sphere_version``, ``bits``/``min``/``max`` (2d), ``wildcard_projection``,
    and ``extra`` for any other server option as the server spells it.

    >>> Index(("title", "text"), ("body", "text"), weights={"title": 10}).spec
    IndexSpec((('title', 'text'), ('body', 'text')), 'title_text_body_text', {'weights': {'title': 10}})
    >>> Index("$**", wildcard_projection={"secret": 0}).spec.name
    '$**_1'
    """

    __slots__ = ("spec",)

    spec: IndexSpec

    def __init__(
        self,
        *keys: Any,
        name: str | None = None,
        unique: bool = False,
        sparse: bool = False,
        expire_after: int | float | timedelta | None = None,
        partial: Any = None,
        hidden: bool = False,
        collation: Any = None,
        weights: Mapping[Any, int] | None = None,
        default_language: str | None = None,
        language_override: str | None = None,
        text_version: int | None = None,
        two_d_sphere_version: int | None = None,
        bits: int | None = None,
        min: float | None = None,
        max: float | None = None,
        wildcard_projection: Mapping[Any, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        where = f"Index({name!r})" if name else "Index"
        if not keys:
            raise ValueError(f"{where}: give at least one key")
        pairs = [pair for key in keys for pair in _key_pairs(key, where)]
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{where}: name must be a non-empty str, not {name!r}")
        options = _options(
            where, unique=unique, sparse=sparse, expire_after=expire_after, partial=partial,
            hidden=hidden, collation=collation, weights=weights, default_language=default_language,
            language_override=language_override, text_version=text_version,
            two_d_sphere_version=two_d_sphere_version, bits=bits, min=min, max=max,
            wildcard_projection=wildcard_projection, extra=extra,
        )
        _check_kinds(pairs, options, where)
        self.spec = IndexSpec(tuple(pairs), name or _default_name(pairs), options)

    def __repr__(self) -> str:
        return f"Index({self.spec!r})"


# ------------------------------------------------------------------ finding them on a model


def _found(
    annotation: Any, path: str, stack: tuple[type[BaseModel], ...]
) -> Iterator[tuple[str, Indexed]]:
    """``Indexed`` metadata inside a field's type: ``Optional[Annotated[...]]``, list
    items, and the fields of embedded models (not through mappings: no fixed path)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        inner, *metadata = typing.get_args(annotation)
        yield from ((path, meta) for meta in metadata if isinstance(meta, Indexed))
        yield from _found(inner, path, stack)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in stack:  # a recursive model: its first level only
            yield from _walk(annotation, path + ".", (*stack, annotation))
    elif origin is Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _found(arg, path, stack)
    elif isinstance(origin, type) and not issubclass(origin, Mapping) and issubclass(
        origin, Iterable
    ):
        for arg in typing.get_args(annotation):
            if arg is not Ellipsis:
                yield from _found(arg, path, stack)


def _walk(
    model: type[BaseModel], prefix: str, stack: tuple[type[BaseModel], ...]
) -> Iterator[tuple[str, Indexed]]:
    if not model.__pydantic_complete__:
        # A forward reference not resolved yet would hide the indexes behind it.
        try:
            model.model_rebuild()
        except Exception as exc:
            raise TypeError(
                f"{model.__name__} is not fully defined, so its indexes cannot be read: "
                f"define what it refers to, then call {model.__name__}.model_rebuild()"
            ) from exc
    for name, info in model.model_fields.items():
        path = prefix + stored_name(model, name)
        yield from ((path, meta) for meta in info.metadata if isinstance(meta, Indexed))
        yield from _found(info.annotation, path, stack)


def _text_spec(found: list[tuple[str, Indexed]], where: str) -> IndexSpec:
    """The one text index all field-level ``Indexed("text")`` make together."""
    options = found[0][1].options
    for path, indexed in found[1:]:
        if not _same(indexed.options, options):
            raise ValueError(
                f"{where}: the text fields {found[0][0]!r} and {path!r} join one text index "
                f"but declare different options: {dict(options)} and {indexed.options}"
            )
    names = {indexed.name for _, indexed in found if indexed.name}
    if len(names) > 1:
        raise ValueError(f"{where}: one text index, several names: {sorted(names)}")
    # One key per path: a model reached twice (a union, a list and its items) repeats it.
    keys = tuple((path, "text") for path in dict.fromkeys(path for path, _ in found))
    weights: dict[str, int] = {}
    for path, indexed in found:
        if indexed.weight is not None and weights.setdefault(path, indexed.weight) != indexed.weight:
            raise ValueError(f"{where}: the text field {path!r} has two weights")
    merged = {**options, **({"weights": weights} if weights else {})}
    return IndexSpec(keys, names.pop() if names else _default_name(keys), merged)


def _config_indexes(model: type[BaseModel], where: str) -> list[IndexSpec]:
    declared = model.model_config.get("indexes") or []
    if callable(declared):
        declared = declared()
    if isinstance(declared, (str, Mapping)) or not isinstance(declared, Iterable):
        raise TypeError(f"{where}: config 'indexes' must be a list of Index, not {declared!r}")
    specs = []
    for item in declared:
        if isinstance(item, Index):
            specs.append(item.spec)
        elif isinstance(item, IndexSpec):
            specs.append(item)
        else:
            raise TypeError(f"{where}: config 'indexes' holds {item!r}, not an Index")
    return specs


def index_specs(model: type[BaseModel]) -> list[IndexSpec]:
    """Every index ``model`` declares: its fields' (embedded models' too, in field
    order; the joint text index where its first text field is), then its config's.

    Raises ValueError when two declarations clash: one name for two different
    indexes, the same index under two names, or two text indexes.

    >>> from pydantic import BaseModel, ConfigDict
    >>> class Address(BaseModel):
    ...     city: Annotated[str, Indexed()]
    >>> class Shop(BaseModel):
    ...     model_config = ConfigDict(indexes=lambda: [Index(("loc", "2dsphere"))])
    ...     title: Annotated[str, Indexed("text", weight=3)]
    ...     about: Annotated[str, Indexed("text")]
    ...     addresses: list[Address]
    >>> [spec.name for spec in index_specs(Shop)]
    ['title_text_about_text', 'addresses.city_1', 'loc_2dsphere']
    """
    where = model.__name__
    found = list(_walk(model, "", (model,)))
    text = [(path, indexed) for path, indexed in found if indexed.direction == "text"]
    specs: list[IndexSpec] = []
    for path, indexed in found:
        if indexed.direction != "text":
            specs.append(indexed.spec(path))
        elif path == text[0][0] and indexed is text[0][1]:
            specs.append(_text_spec(text, where))
    specs += _config_indexes(model, where)
    return _checked(specs, where)


def _checked(specs: list[IndexSpec], where: str) -> list[IndexSpec]:
    """``specs`` with exact repeats dropped (a model reached twice); clashes raise."""
    result: list[IndexSpec] = []
    for spec in specs:
        for other in result:
            if spec == other:
                break
            if spec.name == other.name:
                raise ValueError(
                    f"{where}: two different indexes are named {spec.name!r}: {other} and {spec}"
                )
            same = spec.normalized(), other.normalized()
            if _same(*same):
                raise ValueError(
                    f"{where}: the same index is declared as {other.name!r} and {spec.name!r}"
                )
        else:
            result.append(spec)
    texts = [spec.name for spec in result if any(v == "text" for _, v in spec.keys)]
    if len(texts) > 1:
        raise ValueError(f"{where}: a collection has at most one text index, not {texts}")
    return result


# ------------------------------------------------------------------ diff


@dataclass(frozen=True)
class IndexChange:
    """A declared index whose server twin (same name, or same keys) differs:
    ``differences`` maps each option (``key``, ``name`` too) to ``(declared, server)``,
    ``None`` meaning absent, both in :meth:`IndexSpec.normalized` form."""

    declared: IndexSpec
    existing: IndexSpec
    differences: Mapping[str, tuple[Any, Any]]


@dataclass(frozen=True)
class IndexDiff:
    """How the server's indexes differ from the declared ones: ``missing`` (declared,
    not on the server), ``extra`` (on the server, not declared; ``_id_`` never counts),
    ``changed`` (see :class:`IndexChange`)."""

    missing: tuple[IndexSpec, ...] = ()
    extra: tuple[IndexSpec, ...] = ()
    changed: tuple[IndexChange, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the server has exactly the declared indexes."""
        return not (self.missing or self.extra or self.changed)

    def __str__(self) -> str:
        if self.is_empty:
            return "indexes match"
        lines = [f"missing: {spec.name} {dict(spec.normalized())}" for spec in self.missing]
        lines += [f"extra: {spec.name} {dict(spec.normalized())}" for spec in self.extra]
        for change in self.changed:
            for option, (declared, server) in change.differences.items():
                lines.append(
                    f"changed: {change.declared.name} {option}: declared {declared!r}, server {server!r}"
                )
        return "\n".join(lines)


def _differences(declared: IndexSpec, existing: IndexSpec) -> dict[str, tuple[Any, Any]]:
    mine, theirs = declared.normalized(), existing.normalized()
    result: dict[str, tuple[Any, Any]] = {}
    if declared.name != existing.name:
        result["name"] = (declared.name, existing.name)
    for option in dict.fromkeys([*mine, *theirs]):
        ours, server = mine.get(option), theirs.get(option)
        if option in _SERVER_CHOSEN and option not in mine:
            continue
        if option == "collation" and isinstance(ours, Mapping) and isinstance(server, Mapping):
            # Only what was declared: the server fills in the locale's defaults.
            if all(_same(value, server.get(k)) for k, value in ours.items()):
                continue
        elif _same(ours, server):
            continue
        result[option] = (ours, server)
    return result


def diff_indexes(
    specs: Iterable[IndexSpec], existing: Iterable[Mapping[str, Any] | IndexSpec]
) -> IndexDiff:
    """Compare declared ``specs`` with ``existing`` (documents from ``list_indexes()``,
    or specs, e.g. a stored state). A declared index is matched to the server's index
    of the same name, else to one with the same keys (then ``name`` is a difference).

    >>> declared = [Index("age", expire_after=60).spec]
    >>> diff = diff_indexes(declared, [{"key": {"age": 1}, "name": "age_1", "expireAfterSeconds": 30}])
    >>> diff.changed[0].differences
    {'expireAfterSeconds': (60, 30)}
    """
    remaining = [
        item if isinstance(item, IndexSpec) else IndexSpec.from_index_document(item)
        for item in existing
    ]
    # The _id index (a clustered collection's may have another name) is never declared.
    remaining = [
        spec for spec in remaining if spec.name != "_id_" and not spec.options.get("clustered")
    ]
    missing: list[IndexSpec] = []
    changed: list[IndexChange] = []
    unmatched: list[IndexSpec] = []
    for spec in specs:
        twin = next((other for other in remaining if other.name == spec.name), None)
        if twin is None:
            unmatched.append(spec)
            continue
        remaining.remove(twin)
        differences = _differences(spec, twin)
        if differences:
            changed.append(IndexChange(spec, twin, differences))
    for spec in unmatched:
        key = spec.normalized()["key"]
        same_keys = [other for other in remaining if _same(other.normalized()["key"], key)]
        if not same_keys:
            missing.append(spec)
            continue
        # Several may share keys (other collation or filter): take the closest.
        twin = min(same_keys, key=lambda other: len(_differences(spec, other)))
        remaining.remove(twin)
        changed.append(IndexChange(spec, twin, _differences(spec, twin)))
    return IndexDiff(tuple(missing), tuple(remaining), tuple(changed))


"""Write models, index models and key specs: PyMongo's ``pymongo.operations``.

The write models (:class:`InsertOne`, :class:`UpdateOne`, :class:`UpdateMany`,
:class:`ReplaceOne`, :class:`DeleteOne`, :class:`DeleteMany`) are what ``bulk_write``
takes; :mod:`driver.protocol.bulk` turns them into ``insert`` / ``update`` /
``delete`` commands. :class:`IndexModel` is one entry of ``createIndexes``.

Differences from PyMongo, each a fix of something PyMongo accepts and the server (or
nobody) then reports badly:

- Arguments are checked when the model is built, not when ``bulk_write`` runs, so the
  traceback points at the line that made the bad model. The errors are PyMongo's types
  (``TypeError`` for a wrong type, ``ValueError`` for an update without ``$``
  operators, a replacement with them, or an empty key spec).
- ``sort`` (``UpdateOne``, ``ReplaceOne``) is normalised like every other sort
  (``[("a", -1)]`` becomes ``{"a": -1}``); PyMongo sends a list as a BSON array.
- A key spec naming the same field twice is a ``ValueError``; PyMongo keeps the last.
- ``IndexModel.document`` is a fresh copy each time.

Example::

    >>> from driver.operations import DESCENDING, IndexModel, UpdateOne
    >>> UpdateOne({"_id": 1}, {"$inc": {"n": 1}}, upsert=True)
    UpdateOne({'_id': 1}, {'$inc': {'n': 1}}, True, None, None, None, None)
    >>> IndexModel([("a", 1), ("b", DESCENDING)], unique=True).document
    {'unique': True, 'name': 'a_1_b_-1', 'key': {'a': 1, 'b': -1}}
    >>> UpdateOne({}, {"n": 1})
    Traceback (most recent call last):
    ...
    ValueError: update only works with $ operators: the first key of the update is 'n' (use replace_one to replace a whole document)
"""

from __future__ import annotations

from collections.abc import ItemsView, Mapping, MutableMapping, Sequence
from typing import Any, TypeAlias

from driver.bson.raw_bson import RawBSONDocument

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "GEO2D",
    "GEOSPHERE",
    "HASHED",
    "TEXT",
    "DeleteMany",
    "DeleteOne",
    "IndexModel",
    "InsertOne",
    "ReplaceOne",
    "ReturnDocument",
    "UpdateMany",
    "UpdateOne",
    "collation_document",
    "hint_document",
    "index_document",
    "index_keys",
    "index_name",
    "sort_document",
    "validate_ok_for_replace",
    "validate_ok_for_update",
]

#: Ascending index or sort direction.
ASCENDING = 1
#: Descending index or sort direction.
DESCENDING = -1
#: A legacy planar geospatial index.
GEO2D = "2d"
#: A spherical geospatial index.
GEOSPHERE = "2dsphere"
#: A hashed index.
HASHED = "hashed"
#: A text index.
TEXT = "text"

#: What PyMongo accepts as keys: ``"a"``, ``[("a", 1), "b"]``, ``{"a": 1}``.
IndexKeys: TypeAlias = str | Sequence[str | tuple[str, Any]] | Mapping[str, Any]
#: A hint: an index name, or its keys.
Hint: TypeAlias = str | Sequence[str | tuple[str, Any]] | Mapping[str, Any]


class ReturnDocument:
    """Which version ``find_one_and_update`` / ``find_one_and_replace`` return.

    Plain booleans, as in PyMongo, so ``return_document=True`` keeps working.

    >>> ReturnDocument.BEFORE, ReturnDocument.AFTER
    (False, True)
    """

    #: The document as it was before the change (the default).
    BEFORE = False
    #: The document as it is after the change (or the upserted one).
    AFTER = True


# ------------------------------------------------------------------ key specs


def _check_pair(key: Any, value: Any) -> None:
    if not isinstance(key, str):
        raise TypeError(f"an index or sort key must be a str, not {type(key).__name__}")
    # PyMongo's rule: ints (1, -1), strings ("2d", "text"...) or documents ({"$meta": ...}).
    # Floats and None are refused so a typo is caught here rather than by the server.
    if not isinstance(value, (int, str, Mapping)):
        raise TypeError(
            f"the direction of key {key!r} must be 1, -1, '2d', 'text' or another MongoDB "
            f"index type, or a document such as {{'$meta': 'textScore'}}; not "
            f"{type(value).__name__}"
        )


def _pairs(key_or_list: Any) -> list[tuple[Any, Any]]:
    if isinstance(key_or_list, str):
        return [(key_or_list, ASCENDING)]
    if isinstance(key_or_list, Mapping):
        return list(key_or_list.items())
    if isinstance(key_or_list, ItemsView):
        return list(key_or_list)
    if not isinstance(key_or_list, (list, tuple)):
        raise TypeError(
            "keys must be a str, a list of (key, direction) pairs or a mapping, not "
            f"{type(key_or_list).__name__}"
        )
    pairs: list[tuple[Any, Any]] = []
    for item in key_or_list:
        if isinstance(item, str):
            pairs.append((item, ASCENDING))
        elif isinstance(item, (list, tuple)):
            if len(item) != 2:
                raise ValueError(
                    f"each key pair must be a (key, direction) pair, not {len(item)} items"
                )
            pairs.append((item[0], item[1]))
        else:
            hint = ""
            if isinstance(key_or_list, tuple) and len(key_or_list) == 2:
                hint = f"; did you mean [{key_or_list!r}]?"
            raise TypeError(
                f"each key must be a str or a (key, direction) pair, not "
                f"{type(item).__name__}{hint}"
            )
    return pairs


def index_keys(key_or_list: Any, direction: Any = None) -> list[tuple[str, Any]]:
    """Normalise keys as PyMongo accepts them to a list of ``(key, direction)`` pairs.

    ``key_or_list`` is a field name (ascending, or ``direction``), a list of names and
    ``(key, direction)`` pairs, or a mapping. Raises TypeError for a wrong type,
    ValueError for an empty spec or a field named twice.

    >>> index_keys("a"), index_keys("a", DESCENDING), index_keys(["a", ("b", TEXT)])
    ([('a', 1)], [('a', -1)], [('a', 1), ('b', 'text')])
    """
    if direction is not None:
        if not isinstance(key_or_list, str):
            raise TypeError(
                f"with a direction, the key must be a str, not {type(key_or_list).__name__}"
            )
        pairs: list[tuple[Any, Any]] = [(key_or_list, direction)]
    else:
        pairs = _pairs(key_or_list)
    if not pairs:
        raise ValueError("key_or_list must not be empty: give at least one key")
    seen: set[str] = set()
    for key, value in pairs:
        _check_pair(key, value)
        if key in seen:
            raise ValueError(f"key {key!r} is given more than once")
        seen.add(key)
    return pairs


def index_document(key_or_list: Any, direction: Any = None) -> dict[str, Any]:
    """The keys as an ordered document, as sent in ``key``, ``sort`` or ``hint``.

    >>> index_document([("a", 1), ("b", -1)])
    {'a': 1, 'b': -1}
    """
    return dict(index_keys(key_or_list, direction))


def sort_document(key_or_list: Any, direction: Any = None) -> dict[str, Any]:
    """A sort spec (``"a"``, ``("a", -1)`` as two arguments, pairs or a mapping) as a document.

    Accepts everything ``Cursor.sort`` accepts, plus a lone field name.

    >>> sort_document("a", DESCENDING), sort_document({"score": {"$meta": "textScore"}})
    ({'a': -1}, {'score': {'$meta': 'textScore'}})
    """
    return index_document(key_or_list, direction)


def index_name(key_or_list: Any) -> str:
    """The name the server would give an index on these keys by default.

    >>> index_name([("a", 1), ("b", -1), ("loc", GEOSPHERE)])
    'a_1_b_-1_loc_2dsphere'
    """
    return "_".join(f"{key}_{value}" for key, value in index_keys(key_or_list))


def hint_document(hint: Any) -> str | dict[str, Any]:
    """A hint as sent: an index name stays a str, keys become a document.

    >>> hint_document("a_1"), hint_document([("a", 1)])
    ('a_1', {'a': 1})
    """
    if isinstance(hint, str):
        return hint
    return index_document(hint)


# ------------------------------------------------------------------ validation


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_filter(filter: Any) -> None:
    if not isinstance(filter, Mapping):
        raise TypeError(f"filter must be a mapping (a dict, SON...), not {_type_name(filter)}")


def _check_upsert(upsert: Any) -> None:
    if upsert is not None and not isinstance(upsert, bool):
        raise TypeError(f"upsert must be True or False, not {upsert!r}")


def _check_array_filters(array_filters: Any) -> None:
    if array_filters is None:
        return
    if not isinstance(array_filters, list):
        raise TypeError(f"array_filters must be a list, not {_type_name(array_filters)}")
    for item in array_filters:
        if not isinstance(item, Mapping):
            raise TypeError(f"each array filter must be a mapping, not {_type_name(item)}")


def _check_namespace(namespace: Any) -> None:
    if namespace is not None and not isinstance(namespace, str):
        raise TypeError(f"namespace must be a str, not {_type_name(namespace)}")


def collation_document(collation: Any) -> dict[str, Any] | None:
    """A collation as sent: ``None``, a mapping, or an object with a ``document`` mapping.

    >>> collation_document({"locale": "fr", "strength": 2})
    {'locale': 'fr', 'strength': 2}
    """
    if collation is None:
        return None
    if isinstance(collation, Mapping):
        return dict(collation)
    # A Collation object (PyMongo's shape): anything with a ``document`` mapping.
    document = getattr(collation, "document", None)
    if isinstance(document, Mapping):
        return dict(document)
    raise TypeError(
        f"collation must be a mapping, a Collation or None, not {_type_name(collation)}"
    )


def validate_ok_for_update(update: Any) -> None:
    """Check an update: a non-empty mapping of ``$`` operators, or a pipeline (a list).

    TypeError for another type, ValueError when empty or not made of operators.

    >>> validate_ok_for_update([{"$set": {"a": 1}}])
    >>> validate_ok_for_update({})
    Traceback (most recent call last):
    ...
    ValueError: update cannot be empty
    """
    if not isinstance(update, (Mapping, list)):
        raise TypeError(
            f"update must be a mapping of update operators or a pipeline (a list), not "
            f"{_type_name(update)}"
        )
    if not update:
        raise ValueError("update cannot be empty")
    if isinstance(update, list):
        for stage in update:
            if not isinstance(stage, Mapping):
                raise TypeError(f"each pipeline stage must be a mapping, not {_type_name(stage)}")
        return
    first = next(iter(update))
    if not (isinstance(first, str) and first.startswith("$")):
        raise ValueError(
            f"update only works with $ operators: the first key of the update is {first!r} "
            "(use replace_one to replace a whole document)"
        )


def validate_ok_for_replace(replacement: Any) -> None:
    """Check a replacement: a mapping that is a document, not ``$`` operators.

    >>> validate_ok_for_replace({"$set": {"a": 1}})
    Traceback (most recent call last):
    ...
    ValueError: replacement can not include $ operators: the first key is '$set' (use update_one to apply operators)
    """
    if not isinstance(replacement, Mapping):
        raise TypeError(f"replacement must be a mapping, not {_type_name(replacement)}")
    # A RawBSONDocument is already encoded: PyMongo trusts it, and so do we.
    if replacement and not isinstance(replacement, RawBSONDocument):
        first = next(iter(replacement))
        if isinstance(first, str) and first.startswith("$"):
            raise ValueError(
                f"replacement can not include $ operators: the first key is {first!r} "
                "(use update_one to apply operators)"
            )


# ------------------------------------------------------------------ write models


class _WriteModel:
    """The base of every write model, so a list mixing them has one type (``bulk_write``'s)."""

    __slots__ = ()
    __hash__ = None  # type: ignore[assignment]  # mutable contents, like PyMongo


class InsertOne(_WriteModel):
    """Insert one document (a ``bulk_write`` request).

    The document gets an ``_id`` (a new ObjectId) when it is planned if it has none:
    the caller's mapping is changed, as in PyMongo.

    >>> InsertOne({"x": 1})
    InsertOne({'x': 1})
    """

    __slots__ = ("_doc", "_namespace")

    def __init__(self, document: Any, namespace: str | None = None) -> None:
        if not isinstance(document, (MutableMapping, RawBSONDocument)):
            raise TypeError(
                "document must be a dict, SON, RawBSONDocument or another mutable mapping, "
                f"not {_type_name(document)}"
            )
        _check_namespace(namespace)
        self._doc = document
        self._namespace = namespace

    @property
    def document(self) -> Any:
        """The document to insert (the caller's own object)."""
        return self._doc

    def __repr__(self) -> str:
        if self._namespace is None:
            return f"InsertOne({self._doc!r})"
        return f"InsertOne({self._doc!r}, {self._namespace!r})"

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, InsertOne)
            return (self._doc, self._namespace) == (other._doc, other._namespace)
        return NotImplemented


class _FilterOp(_WriteModel):
    """What the update, replace and delete models share: a filter, collation and hint."""

    __slots__ = ("_collation", "_filter", "_hint", "_namespace")

    def __init__(self, filter: Any, collation: Any, hint: Any, namespace: Any) -> None:
        _check_filter(filter)
        collation_document(collation)  # checked now; the given object is kept for repr
        _check_namespace(namespace)
        self._filter = filter
        self._collation = collation
        # PyMongo keeps a key-spec hint normalised (its repr shows the document).
        self._hint = None if hint is None else hint_document(hint)
        self._namespace = namespace

    def _fields(self) -> tuple[Any, ...]:
        raise NotImplementedError

    def _options(self, statement: dict[str, Any]) -> dict[str, Any]:
        collation = collation_document(self._collation)
        if collation is not None:
            statement["collation"] = collation
        return statement

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            assert isinstance(other, _FilterOp)
            return self._fields() == other._fields()
        return NotImplemented

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self._fields()))})"


class _DeleteOp(_FilterOp):
    __slots__ = ()
    _limit = 0

    def __init__(
        self,
        filter: Mapping[str, Any],
        collation: Any = None,
        hint: Hint | None = None,
        namespace: str | None = None,
    ) -> None:
        super().__init__(filter, collation, hint, namespace)

    def _fields(self) -> tuple[Any, ...]:
        fields = (self._filter, self._collation, self._hint)
        return fields if self._namespace is None else (*fields, self._namespace)

    def _statement(self) -> dict[str, Any]:
        """The ``deletes`` entry PyMongo sends for this model."""
        statement = self._options({"q": self._filter, "limit": self._limit})
        if self._hint is not None:
            statement["hint"] = self._hint
        return statement


class DeleteOne(_DeleteOp):
    """Delete at most one document matching ``filter`` (a ``bulk_write`` request).

    >>> DeleteOne({"x": 1}, hint=[("x", 1)])
    DeleteOne({'x': 1}, None, {'x': 1})
    """

    __slots__ = ()
    _limit = 1


class DeleteMany(_DeleteOp):
    """Delete every document matching ``filter`` (a ``bulk_write`` request).

    >>> DeleteMany({})
    DeleteMany({}, None, None)
    """

    __slots__ = ()
    _limit = 0


class _UpdateOp(_FilterOp):
    """What the update and replace models share: the new content, upsert, sort."""

    __slots__ = ("_array_filters", "_doc", "_sort", "_sort_doc", "_upsert")

    def __init__(
        self,
        filter: Any,
        doc: Any,
        upsert: Any,
        collation: Any,
        array_filters: Any,
        hint: Any,
        namespace: Any,
        sort: Any,
    ) -> None:
        super().__init__(filter, collation, hint, namespace)
        _check_upsert(upsert)
        _check_array_filters(array_filters)
        self._doc = doc
        self._upsert = upsert
        self._array_filters = array_filters
        self._sort = sort
        self._sort_doc = None if sort is None else sort_document(sort)

    def _update_options(self, statement: dict[str, Any]) -> dict[str, Any]:
        self._options(statement)
        if self._array_filters is not None:
            statement["arrayFilters"] = self._array_filters
        if self._hint is not None:
            statement["hint"] = self._hint
        if self._sort_doc is not None:
            statement["sort"] = self._sort_doc
        return statement


class UpdateOne(_UpdateOp):
    """Update at most one document matching ``filter`` (a ``bulk_write`` request).

    ``update`` is a mapping of ``$`` operators or an aggregation pipeline (a list);
    ``sort`` (MongoDB 8.0+) picks which document when several match.

    >>> UpdateOne({"x": 1}, [{"$set": {"y": 2}}], sort=[("x", -1)])
    UpdateOne({'x': 1}, [{'$set': {'y': 2}}], None, None, None, None, [('x', -1)])
    """

    __slots__ = ()

    def __init__(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any] | list[Mapping[str, Any]],
        upsert: bool | None = None,
        collation: Any = None,
        array_filters: list[Mapping[str, Any]] | None = None,
        hint: Hint | None = None,
        namespace: str | None = None,
        sort: Any = None,
    ) -> None:
        validate_ok_for_update(update)
        super().__init__(filter, update, upsert, collation, array_filters, hint, namespace, sort)

    def _fields(self) -> tuple[Any, ...]:
        head = (self._filter, self._doc, self._upsert, self._collation, self._array_filters)
        middle = (self._hint,) if self._namespace is None else (self._hint, self._namespace)
        return (*head, *middle, self._sort)

    def _statement(self) -> dict[str, Any]:
        """The ``updates`` entry PyMongo sends: ``upsert`` always present (False by default)."""
        validate_ok_for_update(self._doc)  # the caller may have emptied it since
        statement = {"q": self._filter, "u": self._doc, "multi": False, "upsert": bool(self._upsert)}
        return self._update_options(statement)


class UpdateMany(_UpdateOp):
    """Update every document matching ``filter`` (a ``bulk_write`` request).

    >>> UpdateMany({}, {"$unset": {"tmp": ""}})
    UpdateMany({}, {'$unset': {'tmp': ''}}, None, None, None, None, None)
    """

    __slots__ = ()

    def __init__(
        self,
        filter: Mapping[str, Any],
        update: Mapping[str, Any] | list[Mapping[str, Any]],
        upsert: bool | None = None,
        collation: Any = None,
        array_filters: list[Mapping[str, Any]] | None = None,
        hint: Hint | None = None,
        namespace: str | None = None,
    ) -> None:
        validate_ok_for_update(update)
        super().__init__(filter, update, upsert, collation, array_filters, hint, namespace, None)

    def _fields(self) -> tuple[Any, ...]:
        head = (self._filter, self._doc, self._upsert, self._collation, self._array_filters)
        middle = (self._hint,) if self._namespace is None else (self._hint, self._namespace)
        return (*head, *middle, self._sort)

    def _statement(self) -> dict[str, Any]:
        """The ``updates`` entry PyMongo sends: ``upsert`` only when given."""
        validate_ok_for_update(self._doc)
        statement: dict[str, Any] = {"q": self._filter, "u": self._doc, "multi": True}
        if self._upsert is not None:
            statement["upsert"] = self._upsert
        return self._update_options(statement)


class ReplaceOne(_UpdateOp):
    """Replace at most one document matching ``filter`` (a ``bulk_write`` request).

    >>> ReplaceOne({"_id": 1}, {"name": "Ada"}, upsert=True)
    ReplaceOne({'_id': 1}, {'name': 'Ada'}, True, None, None, None)
    """

    __slots__ = ()

    def __init__(
        self,
        filter: Mapping[str, Any],
        replacement: Mapping[str, Any],
        upsert: bool | None = None,
        collation: Any = None,
        hint: Hint | None = None,
        namespace: str | None = None,
        sort: Any = None,
    ) -> None:
        validate_ok_for_replace(replacement)
        super().__init__(filter, replacement, upsert, collation, None, hint, namespace, sort)

    def _fields(self) -> tuple[Any, ...]:
        head = (self._filter, self._doc, self._upsert, self._collation)
        middle = (self._hint,) if self._namespace is None else (self._hint, self._namespace)
        return (*head, *middle, self._sort)

    def _statement(self) -> dict[str, Any]:
        """The ``updates`` entry PyMongo sends for a replacement (no ``multi``)."""
        validate_ok_for_replace(self._doc)
        statement: dict[str, Any] = {"q": self._filter, "u": self._doc}
        if self._upsert is not None:
            statement["upsert"] = self._upsert
        return self._update_options(statement)


#: Any write model ``bulk_write`` takes (their common base, so ``[InsertOne(...),
#: DeleteOne(...)]`` type-checks without an annotation).
WriteModel: TypeAlias = _WriteModel


# ------------------------------------------------------------------ indexes

# Options whose value the server wants as a document: a wrong type is caught here.
_MAPPING_OPTIONS = ("partialFilterExpression", "weights", "wildcardProjection", "storageEngine")


class IndexModel:
    """One index to create: its keys and options, as ``createIndexes`` takes them.

    ``keys`` is a field name, a list of ``(key, direction)`` pairs (directions
    ``ASCENDING``, ``DESCENDING``, ``GEO2D``, ``GEOSPHERE``, ``HASHED``, ``TEXT``, or a
    wildcard's ``1``) or a mapping. Every keyword becomes an index option, passed as
    given: ``name`` (generated from the keys when absent), ``unique``, ``sparse``,
    ``partialFilterExpression``, ``expireAfterSeconds``, ``collation`` (a mapping or a
    Collation), ``hidden``, ``wildcardProjection``, ``weights``, ``default_language``,
    ``language_override``, ``textIndexVersion``, ``2dsphereIndexVersion`` (pass it
    with ``**{...}``), ``bits``, ``min``, ``max``, ``storageEngine``...

    >>> model = IndexModel([("loc", GEOSPHERE)], name="where", **{"2dsphereIndexVersion": 3})
    >>> model.document
    {'name': 'where', '2dsphereIndexVersion': 3, 'key': {'loc': '2dsphere'}}
    >>> IndexModel({"title": TEXT}, weights={"title": 10}, collation={"locale": "en"})
    IndexModel({'title': 'text'}, weights={'title': 10}, name='title_text', collation={'locale': 'en'})
    """

    __slots__ = ("__document",)

    def __init__(self, keys: IndexKeys, **kwargs: Any) -> None:
        pairs = index_keys(keys)
        document = dict(kwargs)
        if document.get("name") is None:
            document["name"] = "_".join(f"{key}_{value}" for key, value in pairs)
        elif not isinstance(document["name"], str):
            raise TypeError(f"name must be a str, not {_type_name(document['name'])}")
        for option in _MAPPING_OPTIONS:
            if option in document and not isinstance(document[option], Mapping):
                raise TypeError(
                    f"{option} must be a mapping, not {_type_name(document[option])}"
                )
        document["key"] = dict(pairs)
        # PyMongo puts the collation last, converted to its document.
        collation = collation_document(document.pop("collation", None))
        if collation is not None:
            document["collation"] = collation
        self.__document = document

    @property
    def document(self) -> dict[str, Any]:
        """The ``indexes`` entry of ``createIndexes`` (a fresh shallow copy each time)."""
        return dict(self.__document)

    def __repr__(self) -> str:
        options = "".join(
            f", {name}={value!r}" for name, value in self.__document.items() if name != "key"
        )
        return f"{type(self).__name__}({self.__document['key']!r}{options})"

"""Field proxies: ``User.age >= 18`` as a query, ``-User.age`` as a sort key.

A :class:`FieldProxy` stands for one field of a model, under the name it is *stored*
with (aliases followed, ``id`` is ``_id``). Comparing it builds an
:class:`odm.query.QueryExpression`; attribute access walks into embedded models
(``User.address.city``), also through lists (``User.addresses.city`` means "any
address"); ``[i]`` picks an array element and ``["key"]`` a mapping's entry::

    >>> from pydantic import BaseModel, Field
    >>> class Address(BaseModel):
    ...     city: str
    ...     zip_code: str = Field(alias="zip")
    >>> class User(BaseModel):
    ...     name: str
    ...     age: int = 0
    ...     tags: list[str] = []
    ...     addresses: list[Address] = []
    >>> age = proxy_for(User, "age")
    >>> (age >= 18).to_filter()
    {'age': {'$gte': 18}}
    >>> proxy_for(User, "addresses").zip_code.path
    'addresses.zip'
    >>> proxy_for(User, "tags")[0].path
    'tags.0'

Values are checked against the field's type before anything is sent (a wrong value
raises :class:`odm.errors.ValidationError` naming the field) and are always values: a
string ``"$where"`` or a dict with ``$`` keys is compared literally, never read as an
operator.

Which type a value is checked against:

- query operators (``==``, ``<``, ``any_in``...) check the field's *type* but not its
  constraints (``Field(gt=0)``, ``min_length``...): ``Product.price > 0`` is a fine
  query even when ``price`` must be positive. Transforms (``to_lower``...) and
  validators still run, so the query value has the stored form;
- on an array field, a value may be the whole array or one element (MongoDB's
  "any element equals" rule): ``User.tags == "admin"``;
- writes (:mod:`odm.update`) that store a value check the type *and* constraints.

A proxy's own names (``path``, ``annotation``, ``exists``, ``size``, ``all``...) win
over an embedded field of the same name; ``proxy["size"]`` always reaches the field.
Positional paths for updates: ``.positional`` (``$``), ``.all_positional`` (``$[]``)
and ``.filtered("ident")`` (``$[ident]``, with ``Update.array_filter``).
"""

# No ``from __future__ import annotations`` here: doctests inherit a module's future
# flags, and the example models above refer to each other, which Pydantic could then
# not resolve (it looks names up in this module, not in the doctest's namespace).

import collections.abc as cabc
import re
import types
import typing
import weakref
from collections.abc import Iterable, Iterator, Mapping
from typing import Annotated, Any, NoReturn, Union

import annotated_types
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo
from pydantic.types import StringConstraints

from odm.query import QueryExpression, SortKey, _Cond, _relative

__all__ = ["FieldProxy", "proxy", "proxy_for"]

# ---------------------------------------------------------------- reading annotations

_ARRAY_ORIGINS: frozenset[Any] = frozenset(
    {
        list,
        set,
        frozenset,
        tuple,
        cabc.Sequence,
        cabc.MutableSequence,
        cabc.Set,
        cabc.MutableSet,
        cabc.Collection,
        cabc.Iterable,
    }
)
_MAPPING_ORIGINS: frozenset[Any] = frozenset({dict, cabc.Mapping, cabc.MutableMapping})
# Transforms that change a value into its stored form: kept for query values, unlike
# constraints (a query for a value that could not be stored is still a fine query).
_TRANSFORMS = ("strip_whitespace", "to_lower", "to_upper")


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = annotation.__origin__
    return annotation


def _members(annotation: Any) -> tuple[Any, ...]:
    """The members of a union (``X | None`` included), else the annotation alone.

    Nested unions are flattened, also through ``Annotated``: an optional discriminated
    union, ``Annotated[A | B, Field(discriminator="kind")] | None``, has the members
    ``A``, ``B`` and ``None``.
    """
    base = _strip_annotated(annotation)
    origin = typing.get_origin(base)
    if origin is Union or origin is types.UnionType:
        return tuple(member for arg in typing.get_args(base) for member in _members(arg))
    return (annotation,)


def _union(items: Iterable[Any]) -> Any:
    unique: list[Any] = []
    for item in items:
        if item not in unique:
            unique.append(item)
    if not unique:
        return Any
    if len(unique) == 1:
        return unique[0]
    return Union[tuple(unique)]  # noqa: UP007 - built from a runtime tuple


def _is_any(annotation: Any) -> bool:
    return _strip_annotated(annotation) in (Any, object)


def element_type(annotation: Any) -> Any | None:
    """The type of one element if ``annotation`` is an array type (list, tuple, set,
    sequence; through ``Optional``), ``Any`` for ``Any``, else None."""
    found: list[Any] = []
    for member in _members(annotation):
        base = _strip_annotated(member)
        if base is type(None):
            continue
        if _is_any(base):
            return Any
        origin = typing.get_origin(base) or base
        if origin not in _ARRAY_ORIGINS:
            continue
        args = typing.get_args(base)
        if origin is tuple:
            if not args or (len(args) == 2 and args[1] is Ellipsis):
                found.append(args[0] if args else Any)
            else:
                found.extend(args)
        else:
            found.append(args[0] if args else Any)
    return _union(found) if found else None


def _mapping_value_type(annotation: Any) -> Any | None:
    found: list[Any] = []
    for member in _members(annotation):
        base = _strip_annotated(member)
        if _is_any(base):
            return Any
        origin = typing.get_origin(base) or base
        if origin in _MAPPING_ORIGINS:
            args = typing.get_args(base)
            found.append(args[1] if len(args) == 2 else Any)
    return _union(found) if found else None


def _models(annotation: Any, *, through_arrays: bool = True) -> list[type[BaseModel]]:
    """The model classes a value of ``annotation`` can be (a union's members, and one
    level of array elements: MongoDB's dotted paths reach into one array level)."""
    found: list[type[BaseModel]] = []
    for member in _members(annotation):
        base = _strip_annotated(member)
        if isinstance(base, type) and issubclass(base, BaseModel):
            if base not in found:
                found.append(base)
        elif through_arrays:
            element = element_type(base)
            if element is not None:
                for model in _models(element, through_arrays=False):
                    if model not in found:
                        found.append(model)
    return found


def _loose_metadata(items: Iterable[Any]) -> list[Any]:
    """``items`` without constraints (gt, min_length, pattern...), transforms kept."""
    kept: list[Any] = []
    for item in items:
        if isinstance(item, FieldInfo):
            kept.extend(_loose_metadata(item.metadata))
            if item.discriminator is not None:
                kept.append(Field(discriminator=item.discriminator))
        elif isinstance(item, annotated_types.BaseMetadata):
            transforms = [bool(getattr(item, k, None)) or None for k in _TRANSFORMS]
            if any(transforms):
                strip, lower, upper = transforms
                kept.append(
                    StringConstraints(strip_whitespace=strip, to_lower=lower, to_upper=upper)
                )
        elif isinstance(item, annotated_types.GroupedMetadata):
            kept.extend(_loose_metadata(item))
        else:
            kept.append(item)
    return kept


def _annotated(annotation: Any, metadata: list[Any]) -> Any:
    params = (annotation, *metadata)
    return typing.cast(Any, Annotated)[params]


def loosen(annotation: Any) -> Any:
    """``annotation`` without its constraints, through unions and containers: the
    type a query value is checked against."""
    if typing.get_origin(annotation) is Annotated:
        inner = loosen(annotation.__origin__)
        metadata = _loose_metadata(annotation.__metadata__)
        return _annotated(inner, metadata) if metadata else inner
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is None or not args or origin is typing.Literal:
        return annotation
    new_args = tuple(arg if arg is Ellipsis else loosen(arg) for arg in args)
    if new_args == args:
        return annotation
    if origin is Union or origin is types.UnionType:
        return Union[new_args]  # noqa: UP007
    try:
        return annotation.copy_with(new_args)
    except AttributeError:  # a builtin generic alias: list[int], dict[str, int]
        return types.GenericAlias(origin, new_args)


def field_annotation(info: FieldInfo) -> Any:
    """A model field's full type: its annotation with Pydantic's metadata put back."""
    metadata = list(info.metadata)
    if info.discriminator is not None:
        metadata.append(Field(discriminator=info.discriminator))
    if not metadata:
        return info.annotation
    return _annotated(info.annotation, metadata)


# ---------------------------------------------------------------- names and values


def _stored_name(model: type[BaseModel], name: str) -> str:
    from odm.codec import stored_name

    return stored_name(model, name)


def dump(annotation: Any, value: Any, *, field: str, model: type[BaseModel] | None = None
         ) -> Any:
    """``value`` checked against ``annotation`` and turned into its stored BSON form
    (:func:`odm.codec.dump_value`); raises :class:`odm.errors.ValidationError`."""
    from odm.codec import dump_value

    return dump_value(annotation, value, field=field, model=model)


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    if not model.__pydantic_complete__:
        try:
            model.model_rebuild()
        except Exception as exc:
            raise TypeError(
                f"{model.__name__} is not fully defined: define what it refers to, then "
                f"call {model.__name__}.model_rebuild()"
            ) from exc
    return model.model_fields


def _find_field(models: list[type[BaseModel]], name: str, where: str) -> tuple[
    str, str, Any, FieldInfo
]:
    """``name`` (a field name, or its stored name) in one of ``models``: the field's
    name, stored name, full annotation and info. In a union of models the field must be
    stored under the same name in each model that has it."""
    hits: list[tuple[str, str, Any, FieldInfo]] = []
    for model in models:
        fields = _fields(model)
        field_name = name if name in fields else None
        if field_name is None:
            field_name = next(
                (n for n in fields if _stored_name(model, n) == name), None
            )
        if field_name is not None:
            info = fields[field_name]
            hits.append(
                (field_name, _stored_name(model, field_name), field_annotation(info), info)
            )
    if not hits:
        names = sorted({n for model in models for n in _fields(model)})
        raise AttributeError(f"{where} has no field {name!r} (fields: {', '.join(names)})")
    if all(hit[3].exclude is True for hit in hits):
        # Never stored: a filter, sort or index on it could never match anything.
        raise AttributeError(
            f"{where}.{name} is not stored (Field(exclude=True)): it cannot be queried"
        )
    stored = {hit[1] for hit in hits}
    if len(stored) > 1:
        raise AttributeError(
            f"{where}.{name} is stored under different names in the union's models: "
            f"{sorted(stored)}"
        )
    if len(hits) == 1:
        return hits[0]
    return hits[0][0], hits[0][1], _union(hit[2] for hit in hits), hits[0][3]


_IDENT = re.compile(r"[a-z][a-zA-Z0-9]*\Z")
_POSITIONAL = re.compile(r"\$(\[([a-z][a-zA-Z0-9]*)?\])?\Z")


def is_positional(segment: str) -> bool:
    """Whether a path segment is ``$``, ``$[]`` or ``$[ident]``."""
    return _POSITIONAL.match(segment) is not None


def check_key(key: str, where: str) -> str:
    """A mapping key used as one path segment: not empty, no ``.``, no leading ``$``,
    no NUL (a user's key must never turn into another path or an operator)."""
    if not isinstance(key, str):
        raise TypeError(f"{where}: a key must be a str, not {type(key).__name__}")
    if not key or "." in key or key.startswith("$") or "\x00" in key:
        raise ValueError(
            f"{where}: {key!r} cannot be a path segment (empty, '.', a leading '$' or NUL)"
        )
    return key


# ---------------------------------------------------------------- the proxy


class FieldProxy:
    """One field of a model, seen from a query: its stored ``path`` and its type.

    Get one with :func:`proxy_for` or, on a :class:`odm.Document`, by class attribute
    access (``User.age``). Comparisons and the methods below build
    :class:`odm.query.QueryExpression` filters; ``-proxy``/``+proxy`` build sort keys.
    """

    __slots__ = ("_annotation", "_cache", "_info", "_names", "_root", "_segments")

    _root: type[BaseModel]
    _segments: tuple[str, ...]
    _names: tuple[str, ...]
    _annotation: Any
    _info: FieldInfo | None
    # Derived types and child proxies, made once: the codec caches its validators by
    # annotation, so handing it the same annotation objects each time keeps it fast.
    _cache: dict[Any, Any]

    def __init__(
        self,
        root: type[BaseModel],
        segments: tuple[str, ...],
        names: tuple[str, ...],
        annotation: Any,
        info: FieldInfo | None,
    ) -> None:
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_annotation", annotation)
        object.__setattr__(self, "_info", info)
        object.__setattr__(self, "_cache", {})

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FieldProxy, (self._root, self._segments, self._names, self._annotation,
                             self._info))

    # -- what it is

    @property
    def path(self) -> str:
        """The stored dotted path (``"addresses.zip"``)."""
        return ".".join(self._segments)

    @property
    def annotation(self) -> Any:
        """The field's type (with its ``Annotated`` metadata); for an element or a
        positional path, the element's type."""
        return self._annotation

    @property
    def _label(self) -> str:
        """How messages name this field: ``User.address.city``."""
        return ".".join((self._root.__name__, *self._names))

    @property
    def _name(self) -> str:
        """The field's dotted Python name from the model (``address.city``)."""
        return ".".join(self._names)

    def __repr__(self) -> str:
        return f"FieldProxy({self._label}, path={self.path!r})"

    def __hash__(self) -> int:
        return hash((self._root, self._segments))

    def __iter__(self) -> Iterator[Any]:
        # ``__getitem__`` would otherwise make every proxy an endless iterable.
        raise TypeError(f"{self._label} is a field proxy, not iterable")

    # -- walking the path

    def _child(self, segment: str, name: str, annotation: Any, info: FieldInfo | None
               ) -> "FieldProxy":
        return FieldProxy(
            self._root, (*self._segments, segment), (*self._names, name), annotation, info
        )

    def __getattr__(self, name: str) -> "FieldProxy":
        if name.startswith("_"):
            raise AttributeError(name)
        return self._field(name)

    def _field(self, name: str) -> "FieldProxy":
        proxy: FieldProxy = self._cached(("field", name), lambda: self._make_field(name))
        return proxy

    def _make_field(self, name: str) -> "FieldProxy":
        models = _models(self._annotation)
        if not models:
            raise AttributeError(
                f"{self._label} is not an embedded model (type {self._annotation!r}); "
                f"use [key] on a mapping field"
            )
        field_name, stored, annotation, info = _find_field(models, name, self._label)
        return self._child(stored, field_name, annotation, info)

    def __getitem__(self, key: int | str) -> "FieldProxy":
        """``[i]``: the array element at index ``i``; ``["key"]``: a mapping's entry, or
        an embedded model's field (also one a proxy method's name hides)."""
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise TypeError(f"{self._label}[{key!r}]: an index is an int or a str")
        proxy: FieldProxy = self._cached(("item", type(key), key), lambda: self._item(key))
        return proxy

    def _item(self, key: int | str) -> "FieldProxy":
        if isinstance(key, int):
            if key < 0:
                raise IndexError(f"{self._label}[{key}]: MongoDB paths have no negative index")
            element = self._element_annotation()
            if element is None:
                raise TypeError(
                    f"{self._label} is not an array (type {self._annotation!r}); a mapping's "
                    "keys are str"
                )
            element = _tuple_item(self._annotation, key) or element
            return self._child(str(key), str(key), element, None)
        if _models(self._annotation, through_arrays=False):
            return self._field(key)
        value_type = _mapping_value_type(self._annotation)
        if value_type is None:
            if _models(self._annotation):  # a list of models: a field of any element
                return self._field(key)
            raise TypeError(f"{self._label} is not a mapping or a model; cannot take [{key!r}]")
        return self._child(check_key(key, self._label), key, value_type, None)

    def _element(self, segment: str) -> "FieldProxy":
        proxy: FieldProxy = self._cached(("element", segment),
                                         lambda: self._make_element(segment))
        return proxy

    def _make_element(self, segment: str) -> "FieldProxy":
        element = self._element_annotation()
        if element is None:
            raise TypeError(f"{self._label} is not an array (type {self._annotation!r})")
        return self._child(segment, segment, element, None)

    @property
    def positional(self) -> "FieldProxy":
        """``path.$``: in an update, the first element the query matched."""
        return self._element("$")

    @property
    def all_positional(self) -> "FieldProxy":
        """``path.$[]``: in an update, every element."""
        return self._element("$[]")

    def filtered(self, identifier: str) -> "FieldProxy":
        """``path.$[identifier]``: in an update, the elements an array filter picks.

        Conditions on the returned proxy, given to :meth:`odm.update.Update.array_filter`,
        become that filter (``{"identifier": ...}``).
        """
        if not isinstance(identifier, str) or not _IDENT.match(identifier):
            raise ValueError(
                f"{self._label}: an array filter identifier starts with a lowercase letter "
                f"and has only letters and digits, not {identifier!r}"
            )
        return self._element(f"$[{identifier}]")

    # -- values

    def _cached(self, key: Any, make: Any) -> Any:
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = make()
            return value

    def _query_annotation(self) -> Any:
        """The type query values are checked against (constraints dropped)."""
        return self._cached("loose", lambda: loosen(self._annotation))

    def _element_annotation(self, *, loose: bool = False) -> Any | None:
        """The type of one element of this array field (None if not an array)."""
        if loose:
            return self._cached("element-loose", lambda: element_type(self._query_annotation()))
        return self._cached("element", lambda: element_type(self._annotation))

    def _check(self, annotation: Any, value: Any) -> Any:
        """``value`` checked against ``annotation`` (this field's type, or a type derived
        from it) and in stored form; a misfit raises :class:`odm.errors.ValidationError`
        naming this field."""
        return dump(annotation, value, field=self._name, model=self._root)

    def _dump_query_value(self, value: Any, *, element_only: bool = False) -> Any:
        """``value`` checked for a query on this field and in stored form. On an array
        field a value may be the whole array or one element."""
        if isinstance(value, (FieldProxy, QueryExpression, SortKey)):
            raise TypeError(
                f"{self._label}: compare with a value, not {type(value).__name__} "
                f"(comparing two fields needs a raw {{'$expr': ...}} filter)"
            )
        annotation = self._query_annotation()
        element = self._element_annotation(loose=True)
        if element_only:
            return self._check(annotation if element is None else element, value)
        if element is None or _is_any(annotation):
            return self._check(annotation, value)
        if not isinstance(value, (list, tuple, set, frozenset)):
            # Only a sequence can be a whole array: anything else is one element.
            return self._check(element, value)
        try:
            return self._check(annotation, value)
        except ValueError as exc:
            whole_error = exc
        try:
            return self._check(element, value)  # an element that is itself an array
        except ValueError:
            pass
        raise whole_error  # the whole-array error, with Pydantic's as its __cause__

    def _values(self, values: Iterable[Any], operator: str, *, element_only: bool = False
                ) -> list[Any]:
        if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
            raise TypeError(f"{self._label}.{operator}() takes a list of values, not {values!r}")
        return [self._dump_query_value(v, element_only=element_only) for v in values]

    def _cond(self, op: str, value: Any) -> QueryExpression:
        return QueryExpression._from_node(_Cond(self._root, self._segments, op, value))

    # -- comparisons

    def __eq__(self, value: object) -> QueryExpression:  # type: ignore[override]
        return self._cond("$eq", self._dump_query_value(value))

    def __ne__(self, value: object) -> QueryExpression:  # type: ignore[override]
        return self._cond("$ne", self._dump_query_value(value))

    def __lt__(self, value: Any) -> QueryExpression:
        return self._cond("$lt", self._dump_query_value(value))

    def __le__(self, value: Any) -> QueryExpression:
        return self._cond("$lte", self._dump_query_value(value))

    def __gt__(self, value: Any) -> QueryExpression:
        return self._cond("$gt", self._dump_query_value(value))

    def __ge__(self, value: Any) -> QueryExpression:
        return self._cond("$gte", self._dump_query_value(value))

    def __neg__(self) -> SortKey:
        return SortKey(self, -1)

    def __pos__(self) -> SortKey:
        return SortKey(self, 1)

    # -- operators

    def any_in(self, values: Iterable[Any]) -> QueryExpression:
        """``$in``: the field (or, for an array, any element) equals one of ``values``."""
        return self._cond("$in", self._values(values, "any_in"))

    in_ = any_in

    def not_in(self, values: Iterable[Any]) -> QueryExpression:
        """``$nin``: the field equals none of ``values`` (a missing field matches too)."""
        return self._cond("$nin", self._values(values, "not_in"))

    def exists(self, exists: bool = True) -> QueryExpression:
        """``$exists``: the field is there (``False``: it is not)."""
        if not isinstance(exists, bool):
            raise TypeError(f"{self._label}.exists() takes a bool, not {exists!r}")
        return self._cond("$exists", exists)

    def regex(self, pattern: str | re.Pattern[str] | Any, options: str = "") -> QueryExpression:
        """``$regex``: a string field matches ``pattern`` (a str, ``re.Pattern`` or
        ``driver.bson.Regex``); ``options`` are MongoDB's letters ``imsx``."""
        from driver.bson.regex import Regex, str_flags

        if isinstance(pattern, (re.Pattern, Regex)):
            if not isinstance(pattern.pattern, str):
                raise TypeError(f"{self._label}.regex(): the pattern must be a str pattern")
            # Python str patterns always carry re.UNICODE; MongoDB's "u" is not wanted.
            flags = str_flags(pattern.flags & ~re.UNICODE)
            pattern, options = pattern.pattern, "".join(sorted(set(options + flags)))
        if not isinstance(pattern, str) or not isinstance(options, str):
            raise TypeError(f"{self._label}.regex() takes a str pattern and str options")
        if "\x00" in pattern:
            raise ValueError(f"{self._label}.regex(): the pattern cannot contain NUL")
        bad = set(options) - set("imsx")
        if bad:
            raise ValueError(f"{self._label}.regex(): unknown options {''.join(sorted(bad))!r}")
        return self._cond("$regex", (pattern, options))

    def all(self, values: Iterable[Any]) -> QueryExpression:
        """``$all``: the array holds every one of ``values``."""
        return self._cond("$all", self._values(values, "all", element_only=True))

    def size(self, length: int) -> QueryExpression:
        """``$size``: the array has exactly ``length`` elements."""
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise TypeError(f"{self._label}.size() takes an int >= 0, not {length!r}")
        return self._cond("$size", length)

    def elem_match(self, condition: QueryExpression | Mapping[str, Any]) -> QueryExpression:
        """``$elemMatch``: one element meets every part of ``condition``.

        ``condition`` is built on this proxy (``User.scores >= 80`` for an array of
        scalars, ``User.addresses.city == "Oslo"`` for an array of models), or a raw
        mapping relative to the element.
        """
        if element_type(self._annotation) is None:
            raise TypeError(f"{self._label} is not an array (type {self._annotation!r})")
        node = _relative(condition, self, "elem_match")
        return self._cond("$elemMatch", node)

    def type_(self, *bson_types: int | str) -> QueryExpression:
        """``$type``: the stored value has one of these BSON types (``"string"``, 2...)."""
        if not bson_types:
            raise TypeError(f"{self._label}.type_() needs at least one BSON type")
        for item in bson_types:
            if isinstance(item, bool) or (
                item not in _BSON_TYPE_CODES and item not in _BSON_TYPE_ALIASES
            ):
                raise ValueError(f"{self._label}.type_(): {item!r} is not a BSON type")
        value: Any = bson_types[0] if len(bson_types) == 1 else list(bson_types)
        return self._cond("$type", value)

    def mod(self, divisor: int, remainder: int) -> QueryExpression:
        """``$mod``: the number divided by ``divisor`` leaves ``remainder``."""
        for number in (divisor, remainder):
            if isinstance(number, bool) or not isinstance(number, int):
                raise TypeError(f"{self._label}.mod() takes ints, not {number!r}")
        if divisor == 0:
            raise ValueError(f"{self._label}.mod(): the divisor cannot be 0")
        return self._cond("$mod", [divisor, remainder])

    def near(
        self,
        longitude: float,
        latitude: float,
        *,
        max_distance: float | None = None,
        min_distance: float | None = None,
    ) -> QueryExpression:
        """``$near`` a GeoJSON point, distances in meters (needs a 2dsphere index)."""
        spec: dict[str, Any] = {"$geometry": {"type": "Point", "coordinates": [
            _number(longitude, self._label), _number(latitude, self._label)]}}
        if max_distance is not None:
            spec["$maxDistance"] = _number(max_distance, self._label)
        if min_distance is not None:
            spec["$minDistance"] = _number(min_distance, self._label)
        return self._cond("$near", spec)

    def geo_within(self, geometry: Mapping[str, Any]) -> QueryExpression:
        """``$geoWithin`` a GeoJSON Polygon or MultiPolygon."""
        return self._cond("$geoWithin", {"$geometry": _geometry(geometry, self._label)})

    def geo_intersects(self, geometry: Mapping[str, Any]) -> QueryExpression:
        """``$geoIntersects`` a GeoJSON geometry."""
        return self._cond("$geoIntersects", {"$geometry": _geometry(geometry, self._label)})


_BSON_TYPE_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
                              19, -1, 127})
_BSON_TYPE_ALIASES = frozenset({
    "double", "string", "object", "array", "binData", "undefined", "objectId", "bool",
    "date", "null", "regex", "dbPointer", "javascript", "symbol", "javascriptWithScope",
    "int", "timestamp", "long", "decimal", "minKey", "maxKey", "number",
})


def _tuple_item(annotation: Any, index: int) -> Any | None:
    """For a fixed-length tuple type, the type at ``index``."""
    for member in _members(annotation):
        base = _strip_annotated(member)
        if typing.get_origin(base) is tuple:
            args = typing.get_args(base)
            if args and not (len(args) == 2 and args[1] is Ellipsis) and index < len(args):
                return args[index]
    return None


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{where}: expected a number, not {value!r}")
    return value


def _geometry(geometry: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(geometry, Mapping) or not isinstance(geometry.get("type"), str) or (
        "coordinates" not in geometry
    ):
        raise TypeError(f"{where}: a GeoJSON geometry is a mapping with 'type' and "
                        f"'coordinates', not {geometry!r}")
    if any(str(key).startswith("$") for key in geometry):
        raise ValueError(f"{where}: a GeoJSON geometry has no '$' keys")
    return {"type": geometry["type"], "coordinates": geometry["coordinates"]}


# ---------------------------------------------------------------- proxy_for


def proxy(field: Any) -> "FieldProxy":
    """``field`` typed as the :class:`FieldProxy` it is at run time.

    Type checkers see ``User.tags`` as the field's value type (``list[str]``), so they
    reject ``User.tags.any_in(...)``; ``proxy(User.tags).any_in(...)`` type-checks.
    Anything but a proxy raises ``TypeError`` (on an instance, ``user.tags`` is a value).

    >>> from pydantic import BaseModel
    >>> class Post(BaseModel):
    ...     tags: list[str] = []
    >>> proxy(proxy_for(Post, "tags")).any_in(["a"]).to_filter()
    {'tags': {'$in': ['a']}}
    """
    if not isinstance(field, FieldProxy):
        raise TypeError(
            f"expected a field proxy (a field read on a Document class), not {field!r}"
        )
    return field


# One proxy per (model, field), made on first use; weak so that models made at run time
# (tests, dynamic models) can still be collected.
_CACHE: weakref.WeakKeyDictionary[type[BaseModel], dict[str, FieldProxy]] = (
    weakref.WeakKeyDictionary()
)


def proxy_for(model: type[BaseModel], name: str) -> "FieldProxy":
    """The proxy of ``model``'s field ``name`` (its Python name, or its stored name).

    >>> from pydantic import BaseModel, Field
    >>> class Item(BaseModel):
    ...     sku: str = Field(alias="SKU")
    >>> proxy_for(Item, "sku").path
    'SKU'
    """
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"proxy_for takes a Pydantic model class, not {model!r}")
    cached = _CACHE.get(model)
    if cached is None:
        cached = {}
        _CACHE[model] = cached
    proxy = cached.get(name)
    if proxy is None:
        field_name, stored, annotation, info = _find_field([model], name, model.__name__)
        proxy = FieldProxy(model, (stored,), (field_name,), annotation, info)
        cached[name] = proxy
    return proxy

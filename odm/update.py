"""Typed updates: ``update.set(User.name, "Ann").inc(User.logins, 1)``.

An :class:`Update` is immutable; each method returns a new one with one more
operation, and each module function starts one (``odm.update.set(...)`` is
``Update().set(...)``). Values are checked against the field's type when the
operation is added, so a wrong value raises :class:`odm.errors.ValidationError` before
anything is sent::

    >>> from pydantic import BaseModel
    >>> from odm import update
    >>> from odm.fields import proxy_for
    >>> class User(BaseModel):
    ...     name: str
    ...     logins: int = 0
    ...     tags: list[str] = []
    >>> name, logins, tags = (proxy_for(User, n) for n in ("name", "logins", "tags"))
    >>> update.set(name, "Ann").inc(logins, 1).push(tags, "new").to_update()
    {'$set': {'name': 'Ann'}, '$inc': {'logins': 1}, '$push': {'tags': 'new'}}

Which type a value is checked against: values that get stored (``set``,
``set_on_insert``, ``min``, ``max``, ``push``, ``add_to_set``) are checked against the
field's type *and* constraints; amounts (``inc``, ``mul``) and values to remove
(``pull``, ``pull_all``) against its type only. ``inc``/``mul`` need a number field
(not ``bool``); ``push``/``add_to_set``/``pull``/``pull_all``/``pop`` an array field,
and their values are elements; ``current_date`` a ``datetime`` (or BSON ``Timestamp``)
field. A field may be given as a stored path string instead of a proxy: its values
are then sent unchecked (migrations, fields the model does not declare).

Positional updates use the proxy's ``.positional`` (``$``), ``.all_positional``
(``$[]``) and ``.filtered("ident")`` (``$[ident]``); conditions on a ``filtered``
proxy given to :meth:`Update.array_filter` become the update's ``arrayFilters``.

Values stay values: a pushed or added dict is sent inside ``$each`` (so a ``$each``
key of its own is not read as the modifier), and a pulled dict or regex is matched
with ``$eq`` (so it is removed only where an element equals it).
"""

from __future__ import annotations

import builtins
import datetime
import decimal
import re
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from odm.errors import ValidationError
from odm.fields import (
    FieldProxy,
    _is_any,
    _members,
    _strip_annotated,
    _union,
    check_key,
    is_positional,
    loosen,
)
from odm.query import (
    QueryExpression,
    SortKey,
    _copy,
    _node_of,
    _relative,
    _render,
    _special,
    render_sub,
)

__all__ = [
    "Update",
    "add_to_set",
    "current_date",
    "inc",
    "max",
    "min",
    "mul",
    "pop",
    "pull",
    "pull_all",
    "push",
    "rename",
    "set",
    "set_on_insert",
    "unset",
]

_MISSING: Any = object()
_FILTERED = re.compile(r"\$\[([a-z][a-zA-Z0-9]*)\]\Z")


class _Target:
    """A field to update: its stored path and, for a proxy, what to check values with."""

    __slots__ = ("label", "path", "proxy", "segments")

    def __init__(self, field: Any, operator: str) -> None:
        if isinstance(field, FieldProxy):
            self.proxy: FieldProxy | None = field
            self.segments: tuple[str, ...] = field._segments
            self.label = field._label
        elif isinstance(field, str):
            self.proxy = None
            self.segments = _path_segments(field, operator)
            self.label = field
        else:
            raise TypeError(
                f"{operator}: the field is a field proxy or a stored path str, not {field!r} "
                "(on a model instance, User.age is a value: use the class)"
            )
        self.path = ".".join(self.segments)

    def value(self, value: Any) -> Any:
        """``value`` checked against the field's type and constraints."""
        if self.proxy is None:
            return value
        return self.proxy._check(self.proxy.annotation, value)

    def element(self, operator: str, *, loose: bool = False) -> Any:
        """The element type of the array field (Any for a path string)."""
        if self.proxy is None:
            return Any
        element = self.proxy._element_annotation(loose=loose)
        if element is None:
            raise TypeError(
                f"{operator}: {self.label} is not an array (type {self.proxy.annotation!r})"
            )
        return element

    def element_value(self, value: Any, operator: str, *, loose: bool = False) -> Any:
        """``value`` checked as one element (constraints too unless ``loose``)."""
        element = self.element(operator, loose=loose)
        if self.proxy is None:
            return value
        return self.proxy._check(element, value)


def _path_segments(path: str, where: str) -> tuple[str, ...]:
    if not path:
        raise ValueError(f"{where}: an empty field path")
    segments = tuple(path.split("."))
    for segment in segments:
        if not is_positional(segment):
            check_key(segment, where)
    return segments


def _overlaps(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    shorter = len(a) if len(a) < len(b) else len(b)
    return a[:shorter] == b[:shorter]


def _identifiers(segments: Iterable[str]) -> list[str]:
    return [m.group(1) for m in (_FILTERED.match(s) for s in segments) if m]


def _number_field(target: _Target, operator: str) -> Any:
    """The non-None number type of ``target`` (``inc``/``mul`` need one)."""
    if target.proxy is None:
        return Any
    numbers: list[Any] = []
    for member in _members(target.proxy.annotation):
        base = _strip_annotated(member)
        if base is type(None):
            continue
        if _is_any(base):
            return Any
        if _is_number_type(base):
            numbers.append(member)
            continue
        raise ValidationError.for_value(
            field=target.proxy._name,
            model=target.proxy._root,
            expected=target.proxy.annotation,
            errors=[{
                "type": "number_field",
                "loc": (),
                "msg": f"{operator} needs a number field, and this field holds "
                       f"{getattr(base, '__name__', base)!r} values",
            }],
        )
    return _union(numbers)


def _is_number_type(base: Any) -> bool:
    from driver.bson import Decimal128

    return (
        isinstance(base, type)
        and not issubclass(base, bool)
        and issubclass(base, (int, float, decimal.Decimal, Decimal128))
    )


def _amount(target: _Target, amount: Any, operator: str) -> Any:
    number_type = _number_field(target, operator)
    if isinstance(amount, bool) or amount is None:
        raise ValidationError.for_value(
            field=target.proxy._name if target.proxy is not None else target.label,
            model=target.proxy._root if target.proxy is not None else None,
            expected=number_type,
            errors=[{"type": "number_type", "loc": (), "msg": f"{operator} takes a number",
                     "input": amount}],
        )
    if target.proxy is None:
        if not isinstance(amount, (int, float, decimal.Decimal)) and not _is_number_type(
            type(amount)
        ):
            raise TypeError(f"{operator}: the amount must be a number, not {amount!r}")
        return amount
    return target.proxy._check(loosen(number_type), amount)


def _element_sort(sort: Any, target: _Target) -> Any:
    """``$push``'s ``$sort``: 1/-1 for scalars, else field directions relative to the
    element (``-User.items.price`` -> ``{"price": -1}``)."""
    if isinstance(sort, int) and not isinstance(sort, bool) and sort in (1, -1):
        return sort
    keys = sort if isinstance(sort, (list, tuple)) and not (
        len(sort) == 2 and isinstance(sort[1], int)
    ) else [sort]
    spec: dict[str, int] = {}
    for key in keys:
        if isinstance(key, Mapping):
            spec.update({str(k): _direction(v) for k, v in key.items()})
            continue
        field, direction = key, 1
        if isinstance(key, SortKey):
            field, direction = key.field, key.direction
        elif isinstance(key, tuple) and len(key) == 2:
            field, direction = key[0], _direction(key[1])
        if isinstance(field, FieldProxy):
            base = target.segments
            if target.proxy is not None and field._segments[: len(base)] == base and (
                field._root is target.proxy._root
            ):
                relative = field._segments[len(base):]
            else:
                relative = field._segments
            if not relative:
                raise ValueError("push: sort on the elements themselves is sort=1 or -1")
            spec[".".join(relative)] = direction
        elif isinstance(field, str) and field:
            spec[field] = direction
        else:
            raise TypeError(f"push: sort takes 1/-1, sort keys or a mapping, not {sort!r}")
    return spec


def _direction(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in (1, -1):
        raise ValueError(f"a sort direction is 1 or -1, not {value!r}")
    return int(value)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"push: {name} must be an int, not {value!r}")
    return value


def _items(values: Any, operator: str) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise TypeError(f"{operator}: expected a list of values, not {values!r}")
    return list(values)


class Update:
    """An immutable update document, built one operation at a time.

    :meth:`to_update` renders it (``{"$set": {...}, "$inc": {...}}``) and
    :attr:`array_filters` gives the ``arrayFilters`` it needs (or None). A path may be
    updated once per update: two operations on one path (or on a path and a part of
    it) raise ``ValueError`` here, as the server would refuse them.
    """

    __slots__ = ("_filters", "_ops")

    # (operator, stored path, value, paths touched)
    _ops: tuple[tuple[str, str, Any, tuple[tuple[str, ...], ...]], ...]
    # (identifier, filter document)
    _filters: tuple[tuple[str, dict[str, Any]], ...]

    def __init__(self) -> None:
        object.__setattr__(self, "_ops", ())
        object.__setattr__(self, "_filters", ())

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Update is immutable")

    def _new(self, ops: Any, filters: Any) -> Update:
        new = object.__new__(Update)
        object.__setattr__(new, "_ops", ops)
        object.__setattr__(new, "_filters", filters)
        return new

    def _add(
        self, operator: str, target: _Target, value: Any, *extra: tuple[str, ...]
    ) -> Update:
        touched = (target.segments, *extra)
        if operator != "$setOnInsert" and any(path[0] == "_id" for path in touched):
            # The server refuses it after matching; say so before sending.
            raise ValueError(f"{operator}: _id cannot change (only set_on_insert may set it)")
        for _, _, _, other in self._ops:
            for mine in touched:
                for theirs in other:
                    if _overlaps(mine, theirs):
                        raise ValueError(
                            f"{operator}: updating {'.'.join(mine)!r} conflicts with the "
                            f"update of {'.'.join(theirs)!r} already in this update"
                        )
        # A copy: the caller may change its dict afterwards; this update must not.
        return self._new(
            (*self._ops, (operator, target.path, _copy(value), touched)), self._filters
        )

    # -- rendering

    def to_update(self) -> dict[str, Any]:
        """The update document (a new dict each call).

        Raises ``ValueError`` when it is empty, or when ``$[ident]`` paths and array
        filters do not pair up.
        """
        if not self._ops:
            raise ValueError("an empty update: add at least one operation")
        self._check_identifiers()
        document: dict[str, Any] = {}
        for operator, path, value, _ in self._ops:
            document.setdefault(operator, {})[path] = _copy(value)
        return document

    @property
    def array_filters(self) -> list[dict[str, Any]] | None:
        """The ``arrayFilters`` for the ``$[ident]`` paths, or None when there are none."""
        self._check_identifiers()
        if not self._filters:
            return None
        return [_copy(document) for _, document in self._filters]

    def _check_identifiers(self) -> None:
        used = {i for _, _, _, touched in self._ops for s in touched for i in _identifiers(s)}
        declared = {identifier for identifier, _ in self._filters}
        if used - declared:
            raise ValueError(
                f"no array filter for $[{sorted(used - declared)[0]}]: add one with "
                ".array_filter()"
            )
        if declared - used:
            raise ValueError(
                f"the array filter for {sorted(declared - used)[0]!r} is not used by any "
                "$[identifier] path of this update"
            )

    def __bool__(self) -> bool:
        return bool(self._ops)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Update):
            return NotImplemented
        return [o[:3] for o in self._ops] == [o[:3] for o in other._ops] and (
            self._filters == other._filters
        )

    __hash__ = None  # type: ignore[assignment]  # values may be lists and dicts

    def __repr__(self) -> str:
        body: dict[str, Any] = {}
        for operator, path, value, _ in self._ops:
            body.setdefault(operator, {})[path] = value
        filters = [document for _, document in self._filters]
        return f"Update({body!r}" + (f", array_filters={filters!r})" if filters else ")")

    def merge(self, other: Update) -> Update:
        """This update and then ``other``'s operations (conflicts still raise)."""
        if not isinstance(other, Update):
            raise TypeError(f"merge() takes an Update, not {other!r}")
        result = self
        for operator, _, value, touched in other._ops:
            target = _Target(".".join(touched[0]), operator)
            result = result._add(operator, target, value, *touched[1:])
        for identifier, document in other._filters:
            result = result._with_filter(identifier, document)
        return result

    # -- fields

    def set(self, field: Any, value: Any) -> Update:
        """``$set``: store ``value`` (checked against the field's type and constraints)."""
        target = _Target(field, "set")
        return self._add("$set", target, target.value(value))

    def set_on_insert(self, field: Any, value: Any) -> Update:
        """``$setOnInsert``: store ``value`` only when an upsert inserts."""
        target = _Target(field, "set_on_insert")
        return self._add("$setOnInsert", target, target.value(value))

    def unset(self, *fields: Any) -> Update:
        """``$unset``: remove the fields. A required field (no default) cannot be
        removed through its proxy: the document would no longer load; give its path as
        a str to do it anyway (a migration)."""
        result = self
        for field in fields:
            target = _Target(field, "unset")
            info = target.proxy._info if target.proxy is not None else None
            if (
                info is not None
                and info.is_required()
                and not is_positional(target.segments[-1])
                and not target.segments[-1].isdigit()
            ):
                raise ValueError(
                    f"unset: {target.label} is required, so a document without it would "
                    f"not load; pass the path {target.path!r} as a str to remove it anyway"
                )
            result = result._add("$unset", target, "")
        return result

    def inc(self, field: Any, amount: Any) -> Update:
        """``$inc``: add ``amount`` (a number field; the amount fits the field's type)."""
        target = _Target(field, "inc")
        return self._add("$inc", target, _amount(target, amount, "inc"))

    def mul(self, field: Any, factor: Any) -> Update:
        """``$mul``: multiply by ``factor``."""
        target = _Target(field, "mul")
        return self._add("$mul", target, _amount(target, factor, "mul"))

    def min(self, field: Any, value: Any) -> Update:
        """``$min``: store ``value`` if it is below the stored one."""
        target = _Target(field, "min")
        return self._add("$min", target, target.value(value))

    def max(self, field: Any, value: Any) -> Update:
        """``$max``: store ``value`` if it is above the stored one."""
        target = _Target(field, "max")
        return self._add("$max", target, target.value(value))

    def rename(self, field: Any, new_name: Any) -> Update:
        """``$rename``: move the field to ``new_name`` (a proxy or a stored path)."""
        target = _Target(field, "rename")
        new = _Target(new_name, "rename")
        for t in (target, new):
            if any(is_positional(s) for s in t.segments):
                raise ValueError(f"rename: {t.path!r}: MongoDB cannot rename in arrays")
        if target.segments == new.segments:
            raise ValueError(f"rename: {target.path!r} renamed to itself")
        return self._add("$rename", target, new.path, new.segments)

    def current_date(self, field: Any, *, timestamp: bool | None = None) -> Update:
        """``$currentDate``: store the server's current time (a date; a BSON timestamp
        for a ``Timestamp`` field or ``timestamp=True``)."""
        from driver.bson import Timestamp

        target = _Target(field, "current_date")
        kind = "timestamp" if timestamp else "date"
        if target.proxy is not None:
            kinds = builtins.set()
            for member in _members(target.proxy.annotation):
                base = _strip_annotated(member)
                if base is type(None):
                    continue
                if _is_any(base):
                    kinds.add(kind)
                elif base is datetime.datetime:
                    kinds.add("date")
                elif isinstance(base, type) and issubclass(base, Timestamp):
                    kinds.add("timestamp")
                else:
                    kinds.add("other")
            if len(kinds) != 1 or "other" in kinds or (
                timestamp is not None and kinds != {kind}
            ):
                raise ValidationError.for_value(
                    field=target.proxy._name,
                    model=target.proxy._root,
                    expected=target.proxy.annotation,
                    errors=[{"type": "date_field", "loc": (),
                             "msg": "current_date needs a datetime or Timestamp field"}],
                )
            kind = kinds.pop()
        value: Any = True if kind == "date" else {"$type": "timestamp"}
        return self._add("$currentDate", target, value)

    # -- arrays

    def push(
        self,
        field: Any,
        value: Any = _MISSING,
        *,
        each: Iterable[Any] | None = None,
        slice: int | None = None,
        sort: Any = None,
        position: int | None = None,
    ) -> Update:
        """``$push``: append ``value``, or the items of ``each`` (at ``position``), then
        sort the array (``sort=1``/``-1``, or sort keys on the element's fields) and
        keep ``slice`` elements (negative: the last ones).

        >>> from pydantic import BaseModel
        >>> from odm.fields import proxy_for
        >>> class Scores(BaseModel):
        ...     points: list[int] = []
        >>> push(proxy_for(Scores, "points"), each=[7, 3], sort=-1, slice=5).to_update()
        {'$push': {'points': {'$each': [7, 3], '$sort': -1, '$slice': 5}}}
        """
        target = _Target(field, "push")
        items = self._new_items(target, value, each, "push")
        modifiers: dict[str, Any] = {}
        if sort is not None:
            modifiers["$sort"] = _element_sort(sort, target)
        if slice is not None:
            modifiers["$slice"] = _int(slice, "slice")
        if position is not None:
            modifiers["$position"] = _int(position, "position")
        if each is None and not modifiers and not isinstance(items[0], Mapping):
            return self._add("$push", target, items[0])
        return self._add("$push", target, {"$each": items, **modifiers})

    def add_to_set(self, field: Any, value: Any = _MISSING, *, each: Iterable[Any] | None = None
                   ) -> Update:
        """``$addToSet``: append ``value`` (or each of ``each``) unless already there."""
        target = _Target(field, "add_to_set")
        items = self._new_items(target, value, each, "add_to_set")
        if each is None and not isinstance(items[0], Mapping):
            return self._add("$addToSet", target, items[0])
        return self._add("$addToSet", target, {"$each": items})

    @staticmethod
    def _new_items(target: _Target, value: Any, each: Any, operator: str) -> list[Any]:
        if (value is _MISSING) == (each is None):
            raise TypeError(f"{operator} takes one value or each=[...], not both or neither")
        values = [value] if each is None else _items(each, operator)
        return [target.element_value(item, operator) for item in values]

    def pull(self, field: Any, value_or_condition: Any) -> Update:
        """``$pull``: remove every element equal to a value, or meeting a condition
        built on the field's proxy (``User.scores < 50``,
        ``User.items.qty == 0``). A dict is a value, never a condition: wrap a raw
        condition with :func:`odm.query.raw`."""
        target = _Target(field, "pull")
        target.element("pull")
        if isinstance(value_or_condition, QueryExpression):
            if target.proxy is None:
                raise TypeError("pull: a condition needs the field as a proxy")
            sub = _relative(value_or_condition, target.proxy, "pull")
            condition = render_sub(sub)
            if not sub.scalar and any(k.startswith("$") for k in condition):
                raise ValueError(
                    "pull: a condition on the elements' fields cannot start with "
                    f"{next(iter(condition))} (MongoDB reads it as an operator on the "
                    "element); use == / & on the fields"
                )
            return self._add("$pull", target, condition)
        item = target.element_value(value_or_condition, "pull", loose=True)
        # A document in $pull is a query on the elements' fields (a partial match), and
        # a regex a pattern: $eq removes only the elements equal to the value.
        literal = _special(item) or isinstance(item, Mapping)
        return self._add("$pull", target, {"$eq": item} if literal else item)

    def pull_all(self, field: Any, values: Iterable[Any]) -> Update:
        """``$pullAll``: remove every element equal to one of ``values``."""
        target = _Target(field, "pull_all")
        items = [target.element_value(v, "pull_all", loose=True)
                 for v in _items(values, "pull_all")]
        return self._add("$pullAll", target, items)

    def pop(self, field: Any, *, first: bool = False) -> Update:
        """``$pop``: remove the last element (``first=True``: the first one)."""
        target = _Target(field, "pop")
        target.element("pop")
        return self._add("$pop", target, -1 if first else 1)

    def array_filter(self, *conditions: QueryExpression | Mapping[str, Any]) -> Update:
        """Add array filters, one per condition: conditions on a proxy from
        ``.filtered("ident")`` (or raw mappings) pick the elements ``$[ident]`` updates.

        >>> from pydantic import BaseModel
        >>> from odm.fields import proxy_for
        >>> class Grades(BaseModel):
        ...     grades: list[int] = []
        >>> g = proxy_for(Grades, "grades").filtered("g")
        >>> u = set(g, 100).array_filter(g >= 90)
        >>> u.to_update(), u.array_filters
        ({'$set': {'grades.$[g]': 100}}, [{'g': {'$gte': 90}}])
        """
        result = self
        for condition in conditions:
            identifier, document = _array_filter(condition)
            result = result._with_filter(identifier, document)
        return result

    def _with_filter(self, identifier: str, document: dict[str, Any]) -> Update:
        if any(identifier == existing for existing, _ in self._filters):
            raise ValueError(
                f"array_filter: {identifier!r} has a filter already; join conditions on "
                "one identifier with & into one filter"
            )
        return self._new(self._ops, (*self._filters, (identifier, document)))


def _array_filter(condition: QueryExpression | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """One ``arrayFilters`` document and its identifier."""
    found: list[str] = []
    if isinstance(condition, QueryExpression):

        def path(segments: tuple[str, ...]) -> str:
            last = builtins.max(
                (i for i, s in enumerate(segments) if _FILTERED.match(s)), default=None
            )
            if last is None:
                raise ValueError(
                    f"array_filter: {'.'.join(segments)!r} has no $[identifier]: build the "
                    "condition on a proxy from .filtered('identifier')"
                )
            rest = segments[last + 1:]
            if any(is_positional(s) for s in rest):
                raise ValueError(f"array_filter: {'.'.join(segments)!r} is not a filter path")
            identifier = _identifiers([segments[last]])[0]
            found.append(identifier)
            return ".".join((identifier, *rest))

        document = _render(condition._node, path)
    elif isinstance(condition, Mapping):
        document = _render(_node_of(condition, "array_filter()"), ".".join)
        _raw_identifiers(document, found)
    else:
        raise TypeError(f"array_filter takes conditions or mappings, not {condition!r}")
    identifiers = frozenset(found)
    if len(identifiers) != 1:
        raise ValueError(
            "array_filter: one filter is about exactly one identifier, not "
            f"{sorted(identifiers) or 'none'}"
        )
    return next(iter(identifiers)), document


def _raw_identifiers(document: Mapping[str, Any], found: list[str]) -> None:
    for key, value in document.items():
        if key in ("$and", "$or", "$nor") and isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    _raw_identifiers(item, found)
        elif not key.startswith("$"):
            found.append(key.split(".", 1)[0])


# ---------------------------------------------------------------- module functions
#
# ``update.set(...)`` reads as the operator it sends; these names shadow builtins only
# inside this module (which therefore uses ``builtins.set``), and ``odm`` exports the
# module and ``Update``, never these functions.


def set(field: Any, value: Any) -> Update:
    """``Update().set(field, value)``: ``$set``."""
    return Update().set(field, value)


def set_on_insert(field: Any, value: Any) -> Update:
    """``Update().set_on_insert(field, value)``: ``$setOnInsert``."""
    return Update().set_on_insert(field, value)


def unset(*fields: Any) -> Update:
    """``Update().unset(*fields)``: ``$unset``."""
    return Update().unset(*fields)


def inc(field: Any, amount: Any) -> Update:
    """``Update().inc(field, amount)``: ``$inc``."""
    return Update().inc(field, amount)


def mul(field: Any, factor: Any) -> Update:
    """``Update().mul(field, factor)``: ``$mul``."""
    return Update().mul(field, factor)


def min(field: Any, value: Any) -> Update:
    """``Update().min(field, value)``: ``$min``."""
    return Update().min(field, value)


def max(field: Any, value: Any) -> Update:
    """``Update().max(field, value)``: ``$max``."""
    return Update().max(field, value)


def rename(field: Any, new_name: Any) -> Update:
    """``Update().rename(field, new_name)``: ``$rename``."""
    return Update().rename(field, new_name)


def current_date(field: Any, *, timestamp: bool | None = None) -> Update:
    """``Update().current_date(field)``: ``$currentDate``."""
    return Update().current_date(field, timestamp=timestamp)


def push(
    field: Any,
    value: Any = _MISSING,
    *,
    each: Iterable[Any] | None = None,
    slice: int | None = None,
    sort: Any = None,
    position: int | None = None,
) -> Update:
    """``Update().push(...)``: ``$push``."""
    return Update().push(field, value, each=each, slice=slice, sort=sort, position=position)


def add_to_set(field: Any, value: Any = _MISSING, *, each: Iterable[Any] | None = None
               ) -> Update:
    """``Update().add_to_set(...)``: ``$addToSet``."""
    return Update().add_to_set(field, value, each=each)


def pull(field: Any, value_or_condition: Any) -> Update:
    """``Update().pull(field, value_or_condition)``: ``$pull``."""
    return Update().pull(field, value_or_condition)


def pull_all(field: Any, values: Iterable[Any]) -> Update:
    """``Update().pull_all(field, values)``: ``$pullAll``."""
    return Update().pull_all(field, values)


def pop(field: Any, *, first: bool = False) -> Update:
    """``Update().pop(field)``: ``$pop``."""
    return Update().pop(field, first=first)

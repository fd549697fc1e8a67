"""Query expressions: filters built from field proxies, rendered as MongoDB documents.

Comparing a field proxy gives a :class:`QueryExpression`; combine them with ``&``,
``|``, ``~`` or :func:`and_`, :func:`or_`, :func:`nor_`, and mix in raw dict filters::

    >>> from pydantic import BaseModel
    >>> from odm.fields import proxy_for
    >>> class User(BaseModel):
    ...     name: str
    ...     age: int = 0
    >>> age, name = proxy_for(User, "age"), proxy_for(User, "name")
    >>> ((age >= 18) & (age < 65)).to_filter()
    {'age': {'$gte': 18, '$lt': 65}}
    >>> (~(name == "Ann") | (age > 99)).to_filter()
    {'$or': [{'name': {'$ne': 'Ann'}}, {'age': {'$gt': 99}}]}
    >>> build_filter(age > 3, {"x": 1})
    {'age': {'$gt': 3}, 'x': 1}
    >>> build_sort(-age, name)
    [('age', -1), ('name', 1)]

Values stay values. An equality is written ``{"path": value}`` only when the server
cannot read the value as an operator; a dict with a ``$`` key or a regex is compared
with ``$eq`` (``{"path": {"$eq": {"$gt": 1}}}`` matches a stored ``{"$gt": 1}``), and
such values inside ``any_in``/``not_in``/``all`` are compared one by one with ``$eq``
(the server would read them as operators or patterns there too). Strings are never
operators in a filter, so ``"$where"`` is sent as is.

Negation: ``~`` flips ``==``/``!=``, ``any_in``/``not_in`` and ``exists``; ``~(a | b)``
is ``$nor``; anything else is ``{"$nor": [expr]}``, which is right for every operator
(``$not`` is not: it cannot wrap ``$and``, ``$or`` or, before MongoDB 4.0.7, ``$regex``).
A negation matches documents where the field is missing too, as MongoDB's ``$ne`` does.
Using ``and``/``or``/``not`` or ``if`` on an expression raises ``TypeError``: Python
would silently drop one side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from pydantic import BaseModel

    from odm.fields import FieldProxy

__all__ = [
    "QueryExpression",
    "SortKey",
    "and_",
    "build_filter",
    "build_projection",
    "build_sort",
    "nor_",
    "or_",
    "raw",
    "text",
]

# ---------------------------------------------------------------- the expression tree


@dataclass(frozen=True)
class _Cond:
    """``path op value``; ``root`` is the model the path starts from (None once made
    relative to an array element), ``value`` is already checked and in stored form."""

    root: type[BaseModel] | None
    segments: tuple[str, ...]
    op: str
    value: Any


@dataclass(frozen=True)
class _Logic:
    op: str  # $and, $or, $nor
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    child: _Node


@dataclass(frozen=True)
class _Raw:
    document: Mapping[str, Any]


@dataclass(frozen=True)
class _Text:
    search: str
    language: str | None
    case_sensitive: bool | None
    diacritic_sensitive: bool | None


@dataclass(frozen=True)
class _Sub:
    """A condition on one array element (``$elemMatch``, ``$pull``): ``scalar`` when it
    is on the element itself (operators only), else on the element's fields."""

    node: _Node
    scalar: bool


_Node = _Cond | _Logic | _Not | _Raw | _Text


def _copy(value: Any) -> Any:
    """A copy of the containers in ``value``, so that no caller can change an
    expression through what it rendered (leaves are immutable BSON values)."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _is_regex(value: Any) -> bool:
    from driver.bson.regex import Regex

    return isinstance(value, (Regex, re.Pattern))


def _special(value: Any) -> bool:
    """Whether the server would read ``value`` as something other than a literal in an
    implicit equality or inside ``$in``/``$nin``/``$all``: a regex (a pattern match
    there) or a mapping with a ``$`` key (an operator)."""
    if _is_regex(value):
        return True
    return isinstance(value, Mapping) and any(
        isinstance(k, str) and k.startswith("$") for k in value
    )


def _is_ops(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(isinstance(k, str) and k.startswith("$") for k in value)
    )


def _merge_and(docs: list[dict[str, Any]]) -> dict[str, Any]:
    """One filter meaning all of ``docs``: merged into one document when no field is
    constrained twice in a clashing way, else ``$and``."""
    docs = [d for d in docs if d]
    if len(docs) == 1:
        return docs[0]
    merged: dict[str, Any] = {}
    for doc in docs:
        for key, value in doc.items():
            if key not in merged:
                merged[key] = value
                continue
            existing = merged[key]
            if (
                not key.startswith("$")
                and _is_ops(existing)
                and _is_ops(value)
                and not set(existing) & set(value)
                and not {"$regex", "$options"} & (set(existing) | set(value))
            ):
                # {a: {$gt: 1}} and {a: {$lt: 5}} -> {a: {$gt: 1, $lt: 5}}: the same
                # meaning as $and, also on arrays (each operator may match a different
                # element either way).
                merged[key] = {**existing, **value}
                continue
            parts: list[dict[str, Any]] = []
            for part in docs:
                if list(part) == ["$and"]:
                    parts.extend(part["$and"])
                else:
                    parts.append(part)
            return {"$and": parts}
    return merged


def _query_path(segments: tuple[str, ...]) -> str:
    from odm.fields import is_positional

    if any(is_positional(s) for s in segments):
        raise ValueError(
            f"{'.'.join(segments)!r} is a positional path: use it in an update, and its "
            "conditions in Update.array_filter()"
        )
    return ".".join(segments)


_PathFn = Callable[[tuple[str, ...]], str]


def _render(node: _Node, path: _PathFn) -> dict[str, Any]:
    if isinstance(node, _Cond):
        return _render_cond(node, path)
    if isinstance(node, _Logic):
        rendered = [_render(child, path) for child in node.children]
        if node.op == "$and":
            return _merge_and(rendered)
        return {node.op: rendered}
    if isinstance(node, _Not):
        return {"$nor": [_render(node.child, path)]}
    if isinstance(node, _Raw):
        copied: dict[str, Any] = _copy(node.document)
        return copied
    spec: dict[str, Any] = {"$search": node.search}
    if node.language is not None:
        spec["$language"] = node.language
    if node.case_sensitive is not None:
        spec["$caseSensitive"] = node.case_sensitive
    if node.diacritic_sensitive is not None:
        spec["$diacriticSensitive"] = node.diacritic_sensitive
    return {"$text": spec}


def _render_cond(cond: _Cond, path_fn: _PathFn) -> dict[str, Any]:
    path = path_fn(cond.segments)
    op, value = cond.op, _copy(cond.value)
    if op == "$eq":
        return {path: {"$eq": value}} if _special(value) else {path: value}
    if op == "$ne":
        # The server refuses a regex as $ne's argument; $not/$eq means the same.
        return {path: {"$not": {"$eq": value}}} if _is_regex(value) else {path: {"$ne": value}}
    if op in ("$in", "$nin"):
        special = [v for v in value if _special(v)]
        if not special:
            return {path: {op: value}}
        plain = [v for v in value if not _special(v)]
        parts = ([{path: {"$in": plain}}] if plain else []) + [
            {path: {"$eq": v}} for v in special
        ]
        if op == "$nin":
            return {"$nor": parts}
        return parts[0] if len(parts) == 1 else {"$or": parts}
    if op == "$all":
        if any(_special(v) for v in value):
            # {$all: [a, b]} is {$and: [{path: a}, {path: b}]}, spelled with $eq so that
            # no element is read as an operator ($elemMatch) or a pattern.
            return {"$and": [{path: {"$eq": v}} for v in value]}
        return {path: {"$all": value}}
    return {path: _operators(op, value)}


def _operators(op: str, value: Any) -> dict[str, Any]:
    """``{op: value}`` for one condition on a known path (or on an array element)."""
    if op == "$regex":
        pattern, options = value
        return {"$regex": pattern, "$options": options} if options else {"$regex": pattern}
    if op == "$elemMatch":
        return {"$elemMatch": render_sub(value)}
    return {op: value}


def render_sub(sub: _Sub) -> dict[str, Any]:
    """The document of an element condition (``$elemMatch``'s or ``$pull``'s)."""
    if sub.scalar:
        return _render_ops(sub.node)
    return _render(sub.node, ".".join)


def _render_ops(node: _Node) -> dict[str, Any]:
    """A condition on the element itself, as operators: ``{"$gte": 80, "$lt": 85}``."""
    if isinstance(node, _Cond):
        op, value = node.op, _copy(node.value)
        if op == "$eq":
            return {"$eq": value}
        if op == "$ne" and _is_regex(value):
            return {"$not": {"$eq": value}}
        if op in ("$in", "$nin", "$all") and any(_special(v) for v in value):
            raise ValueError(
                "a regex or a dict with '$' keys cannot be matched literally inside "
                "any_in/not_in/all of an element condition; use == for each"
            )
        return _operators(op, value)
    if isinstance(node, _Not):
        return {"$not": _render_ops(node.child)}
    if isinstance(node, _Raw):
        copied: dict[str, Any] = _copy(node.document)
        return copied
    if isinstance(node, _Logic) and node.op == "$and":
        merged: dict[str, Any] = {}
        for child in node.children:
            ops = _render_ops(child)
            if set(ops) & set(merged):
                raise ValueError(
                    f"an element condition uses {sorted(set(ops) & set(merged))} twice; "
                    "combine such conditions in a raw mapping"
                )
            merged.update(ops)
        return merged
    raise ValueError(
        "a condition on an array's scalar elements can only join conditions with & and ~"
    )


def _negate(node: _Node) -> _Node:
    if isinstance(node, _Not):
        return node.child
    if isinstance(node, _Cond):
        flipped = {"$eq": "$ne", "$ne": "$eq", "$in": "$nin", "$nin": "$in"}.get(node.op)
        if flipped is not None:
            return _Cond(node.root, node.segments, flipped, node.value)
        if node.op == "$exists":
            return _Cond(node.root, node.segments, "$exists", not node.value)
    if isinstance(node, _Logic):
        if node.op == "$or":
            return _Logic("$nor", node.children)
        if node.op == "$nor":
            return node.children[0] if len(node.children) == 1 else _Logic("$or", node.children)
    if isinstance(node, _Text):
        raise TypeError("a text search cannot be negated (MongoDB allows no $text under $nor)")
    return _Not(node)


def _flatten(op: str, nodes: Iterable[_Node]) -> tuple[_Node, ...]:
    out: list[_Node] = []
    for node in nodes:
        if isinstance(node, _Logic) and node.op == op:
            out.extend(node.children)
        else:
            out.append(node)
    return tuple(out)


# ---------------------------------------------------------------- public expression


class QueryExpression:
    """An immutable filter; :meth:`to_filter` renders it as a MongoDB document.

    Build one by comparing field proxies; combine with ``&`` (and), ``|`` (or), ``~``
    (not). A raw mapping on either side of ``&``/``|`` is taken as a filter as is.
    """

    __slots__ = ("_node",)

    _node: _Node

    def __init__(self) -> None:
        raise TypeError("build a QueryExpression from field proxies, and_(), or_() or raw()")

    @classmethod
    def _from_node(cls, node: _Node) -> QueryExpression:
        self = object.__new__(cls)
        object.__setattr__(self, "_node", node)
        return self

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("QueryExpression is immutable")

    def to_filter(self) -> dict[str, Any]:
        """The filter document (a new dict each call)."""
        return _render(self._node, _query_path)

    def __and__(self, other: QueryExpression | Mapping[str, Any]) -> QueryExpression:
        return and_(self, other)

    def __rand__(self, other: Mapping[str, Any]) -> QueryExpression:
        return and_(other, self)

    def __or__(self, other: QueryExpression | Mapping[str, Any]) -> QueryExpression:
        return or_(self, other)

    def __ror__(self, other: Mapping[str, Any]) -> QueryExpression:
        return or_(other, self)

    def __invert__(self) -> QueryExpression:
        return QueryExpression._from_node(_negate(self._node))

    def __bool__(self) -> NoReturn:
        raise TypeError(
            "a query expression has no truth value: combine expressions with & | ~ "
            "(not and/or/not), and compare fields on the class, not on an instance"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QueryExpression) and self._node == other._node

    def __hash__(self) -> int:
        return hash(repr(self._node))

    def __repr__(self) -> str:
        try:
            return f"QueryExpression({self.to_filter()!r})"
        except ValueError:  # positional paths: only meaningful in an array filter
            return f"QueryExpression({self._node!r})"


def _node_of(item: Any, where: str) -> _Node:
    if isinstance(item, QueryExpression):
        return item._node
    if isinstance(item, Mapping):
        if not all(isinstance(k, str) for k in item):
            raise TypeError(f"{where}: a raw filter's keys must be str")
        return _Raw(_copy(item))
    if isinstance(item, bool):
        raise TypeError(
            f"{where}: got a bool, not a query: was the comparison made on a model "
            "instance, or on a class that is not an odm Document? (use proxy_for)"
        )
    raise TypeError(f"{where}: expected a query expression or a mapping, not {item!r}")


def raw(document: Mapping[str, Any]) -> QueryExpression:
    """A raw filter document as an expression, used as given (operators and all).

    >>> raw({"$where": "this.a > 1"}).to_filter()
    {'$where': 'this.a > 1'}
    """
    return QueryExpression._from_node(_node_of(document, "raw()"))


def and_(*conditions: QueryExpression | Mapping[str, Any] | bool) -> QueryExpression:
    """All of ``conditions`` (no conditions: everything matches).

    >>> and_({"a": 1}, {"a": 2}).to_filter()
    {'$and': [{'a': 1}, {'a': 2}]}
    """
    nodes = _flatten(
        "$and",
        (n for n in (_node_of(c, "and_()") for c in conditions)
         if not (isinstance(n, _Raw) and not n.document)),
    )
    if len(nodes) == 1:
        return QueryExpression._from_node(nodes[0])
    return QueryExpression._from_node(_Logic("$and", nodes))


def or_(*conditions: QueryExpression | Mapping[str, Any] | bool) -> QueryExpression:
    """Any of ``conditions`` (at least one).

    >>> or_({"a": 1}, {"b": 2}).to_filter()
    {'$or': [{'a': 1}, {'b': 2}]}
    """
    if not conditions:
        raise TypeError("or_() needs at least one condition")
    nodes = _flatten("$or", (_node_of(c, "or_()") for c in conditions))
    if len(nodes) == 1:
        return QueryExpression._from_node(nodes[0])
    return QueryExpression._from_node(_Logic("$or", nodes))


def nor_(*conditions: QueryExpression | Mapping[str, Any] | bool) -> QueryExpression:
    """None of ``conditions`` (at least one).

    >>> nor_({"a": 1}, {"b": 2}).to_filter()
    {'$nor': [{'a': 1}, {'b': 2}]}
    """
    if not conditions:
        raise TypeError("nor_() needs at least one condition")
    nodes = tuple(_node_of(c, "nor_()") for c in conditions)
    return QueryExpression._from_node(_Logic("$nor", nodes))


def text(
    search: str,
    *,
    language: str | None = None,
    case_sensitive: bool | None = None,
    diacritic_sensitive: bool | None = None,
) -> QueryExpression:
    """``$text``: a search of the collection's text index.

    >>> text("coffee shop", language="en").to_filter()
    {'$text': {'$search': 'coffee shop', '$language': 'en'}}
    """
    if not isinstance(search, str):
        raise TypeError(f"text() searches a str, not {search!r}")
    if language is not None and not isinstance(language, str):
        raise TypeError(f"text(): language is a str, not {language!r}")
    for name, flag in (("case_sensitive", case_sensitive),
                       ("diacritic_sensitive", diacritic_sensitive)):
        if flag is not None and not isinstance(flag, bool):
            raise TypeError(f"text(): {name} is a bool, not {flag!r}")
    return QueryExpression._from_node(
        _Text(search, language, case_sensitive, diacritic_sensitive)
    )


def build_filter(*filters: QueryExpression | Mapping[str, Any] | bool | None) -> dict[str, Any]:
    """One filter document from expressions and raw mappings (all must hold); None
    items are skipped, nothing at all gives ``{}``.

    A raw mapping is passed through as given: it is the way to send operators this
    module has no builder for.

    >>> build_filter({"$where": "this.a > 1"})
    {'$where': 'this.a > 1'}
    """
    return and_(*(f for f in filters if f is not None)).to_filter()


# ---------------------------------------------------------------- relative conditions


def _relative(
    condition: QueryExpression | Mapping[str, Any], proxy: FieldProxy, what: str
) -> _Sub:
    """``condition`` made relative to one element of the array ``proxy``.

    Conditions on paths under ``proxy`` lose its prefix (``User.addresses.city`` ->
    ``city``); conditions on ``proxy`` itself become operators on the element
    (``User.scores >= 80`` -> ``{"$gte": 80}``); conditions built on the element's own
    model are already relative. A raw mapping is used as given.
    """
    from odm.fields import _models, element_type

    where = f"{proxy._label}.{what}()"
    if isinstance(condition, Mapping):
        return _Sub(_node_of(condition, where), scalar=False)
    if not isinstance(condition, QueryExpression):
        raise TypeError(f"{where} takes a query expression or a mapping, not {condition!r}")
    base = proxy._segments
    element_models = _models(element_type(proxy.annotation), through_arrays=False)
    kinds: set[bool] = set()

    def walk(node: _Node) -> _Node:
        if isinstance(node, _Cond):
            if node.root is proxy._root and node.segments[: len(base)] == base:
                segments = node.segments[len(base):]
            elif node.root in element_models:
                segments = node.segments
            else:
                raise ValueError(
                    f"{where}: the condition on {'.'.join(node.segments)!r} is not on "
                    f"{proxy._label} or its elements"
                )
            kinds.add(not segments)
            return _Cond(None, segments, node.op, node.value)
        if isinstance(node, _Logic):
            return _Logic(node.op, tuple(walk(c) for c in node.children))
        if isinstance(node, _Not):
            return _Not(walk(node.child))
        if isinstance(node, _Text):
            raise ValueError(f"{where}: a text search cannot be part of an element condition")
        return node

    node = walk(condition._node)
    if len(kinds) > 1:
        raise ValueError(
            f"{where}: a condition is either on the element itself or on its fields, "
            "not both"
        )
    sub = _Sub(node, scalar=kinds == {True})
    render_sub(sub)  # fail now, not when sent, if it cannot be written
    return sub


# ---------------------------------------------------------------- sorts and projections


class SortKey:
    """A field and a direction: ``-User.age`` (descending), ``+User.name``."""

    __slots__ = ("direction", "field")

    field: FieldProxy | str
    direction: int

    def __init__(self, field: FieldProxy | str, direction: int) -> None:
        # The type first: ``in`` would compare with ==, which a proxy turns into a query.
        if isinstance(direction, bool) or not isinstance(direction, int) or direction not in (
            1,
            -1,
        ):
            raise ValueError(f"a sort direction is 1 or -1, not {direction!r}")
        object.__setattr__(self, "field", field)
        object.__setattr__(self, "direction", direction)

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("SortKey is immutable")

    @property
    def path(self) -> str:
        """The stored path sorted on."""
        return self.field if isinstance(self.field, str) else self.field.path

    def __neg__(self) -> SortKey:
        return SortKey(self.field, -self.direction)

    def __pos__(self) -> SortKey:
        return self

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, SortKey)
            and self.path == other.path
            and self.direction == other.direction
        )

    def __hash__(self) -> int:
        return hash((self.path, self.direction))

    def __repr__(self) -> str:
        return f"SortKey({self.path!r}, {self.direction})"


def _path_of(item: Any, where: str) -> str:
    from odm.fields import FieldProxy

    if isinstance(item, FieldProxy):
        return _query_path(item._segments)
    if isinstance(item, str) and item and not item.startswith("$"):
        return item
    raise TypeError(f"{where}: expected a field proxy or a field path, not {item!r}")


def _sort_pairs(key: Any, where: str) -> list[tuple[str, int]]:
    from odm.fields import FieldProxy

    if isinstance(key, SortKey):
        return [(_path_of(key.field, where), key.direction)]
    if isinstance(key, FieldProxy):
        return [(_path_of(key, where), 1)]
    if isinstance(key, str):
        if key[:1] in "-+" and len(key) > 1:
            return [(_path_of(key[1:], where), -1 if key[0] == "-" else 1)]
        return [(_path_of(key, where), 1)]
    if isinstance(key, tuple) and len(key) == 2 and isinstance(key[1], int):
        field, direction = key
        if isinstance(direction, bool) or direction not in (1, -1):
            raise ValueError(f"{where}: a sort direction is 1 or -1, not {direction!r}")
        return [(_path_of(field, where), int(direction))]
    if isinstance(key, Mapping):
        return [pair for item in key.items() for pair in _sort_pairs(item, where)]
    if isinstance(key, (list, tuple)):
        return [pair for item in key for pair in _sort_pairs(item, where)]
    raise TypeError(
        f"{where}: a sort key is -proxy/+proxy, a proxy, a str ('-age' for descending), "
        f"a (field, 1/-1) pair or a list of them, not {key!r}"
    )


def build_sort(*keys: Any) -> list[tuple[str, int]]:
    """Sort pairs from ``-User.age``, ``+User.name``, proxies (ascending), strings
    (``"-age"`` is descending), ``(field, 1/-1)`` pairs and lists of these.

    >>> build_sort("name", ("age", -1), ["-created"])
    [('name', 1), ('age', -1), ('created', -1)]
    """
    pairs: list[tuple[str, int]] = []
    seen: set[str] = set()
    for key in keys:
        for path, direction in _sort_pairs(key, "build_sort()"):
            if path in seen:
                raise ValueError(f"build_sort(): {path!r} is sorted on twice")
            seen.add(path)
            pairs.append((path, direction))
    return pairs


def build_projection(*fields: FieldProxy | str | Sequence[Any], exclude: bool = False
                     ) -> dict[str, int]:
    """A projection: the fields to return (``exclude=True``: the fields to leave out).

    >>> build_projection("name", "address.city")
    {'name': 1, 'address.city': 1}
    """
    flag = 0 if exclude else 1
    projection: dict[str, int] = {}
    for item in fields:
        items = item if isinstance(item, (list, tuple)) else [item]
        for field in items:
            projection[_path_of(field, "build_projection()")] = flag
    return projection

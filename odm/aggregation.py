"""Aggregation pipelines built from field proxies: ``Pipeline().match(...).group(...)``.

A :class:`Pipeline` is immutable; each stage method returns a new pipeline, and
:meth:`Pipeline.to_pipeline` renders the stages. Filters and sorts take what
:func:`odm.query.build_filter` and :func:`odm.query.build_sort` take; in expressions
(``group``, ``project``, ``add_fields``...) a field proxy stands for its value
(``User.age`` -> ``"$age"``)::

    >>> from pydantic import BaseModel
    >>> from odm.fields import proxy_for
    >>> class Sale(BaseModel):
    ...     shop: str
    ...     amount: int
    >>> shop, amount = proxy_for(Sale, "shop"), proxy_for(Sale, "amount")
    >>> Pipeline().match(amount > 10).group(shop, total={"$sum": amount}).sort(
    ...     ("total", -1)).limit(3).to_pipeline()
    [{'$match': {'amount': {'$gt': 10}}}, {'$group': {'_id': '$shop', 'total': {'$sum': '$amount'}}}, {'$sort': {'total': -1}}, {'$limit': 3}]

Expressions are MongoDB's aggregation language, where a string starting with ``$`` is
a field path: wrap a literal value that could start with ``$`` in :func:`literal`.
Filters in ``match`` follow the query rules: values there are always values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NoReturn

from pydantic import BaseModel

from odm.fields import FieldProxy
from odm.query import QueryExpression, SortKey, _copy, _query_path, build_filter, build_sort

__all__ = ["Pipeline", "field_ref", "literal"]


def field_ref(field: FieldProxy | str) -> str:
    """The ``"$path"`` an expression uses to read a field.

    >>> field_ref("address.city")
    '$address.city'
    """
    if isinstance(field, FieldProxy):
        return "$" + _query_path(field._segments)
    if isinstance(field, str) and field and not field.startswith("$"):
        return "$" + field
    raise TypeError(f"field_ref takes a field proxy or a field path, not {field!r}")


def literal(value: Any) -> dict[str, Any]:
    """``{"$literal": value}``: a value an expression must not read as a path or an
    operator.

    >>> literal("$5 off")
    {'$literal': '$5 off'}
    """
    return {"$literal": _copy(value)}


def _expr(value: Any) -> Any:
    """An expression with field proxies replaced by ``"$path"``."""
    if isinstance(value, FieldProxy):
        return field_ref(value)
    if isinstance(value, (QueryExpression, SortKey)):
        raise TypeError(
            f"{type(value).__name__} is not an aggregation expression: use it in match() "
            "or sort(), or write the expression ({'$gt': [User.age, 18]})"
        )
    if isinstance(value, Mapping):
        return {_key(k): _expr(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_expr(v) for v in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, FieldProxy):
        return _query_path(key._segments)
    if not isinstance(key, str):
        raise TypeError(f"an expression's keys are str, not {key!r}")
    return key


def _collection(source: type[BaseModel] | str) -> str:
    if isinstance(source, str) and source:
        return source
    if isinstance(source, type) and issubclass(source, BaseModel):
        from odm.model import collection_name

        return collection_name(source)
    raise TypeError(f"lookup: from_ is a collection name or a Document class, not {source!r}")


def _count(value: Any, name: str, *, positive: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (1 if positive else 0):
        raise ValueError(f"{name} takes an int >= {1 if positive else 0}, not {value!r}")
    return value


class Pipeline:
    """An immutable list of aggregation stages.

    ``Pipeline(stages)`` starts from raw stage documents; ``a + b`` joins two.
    """

    __slots__ = ("_stages",)

    _stages: tuple[dict[str, Any], ...]

    def __init__(self, stages: Iterable[Mapping[str, Any]] = ()) -> None:
        checked = []
        for stage in stages:
            checked.append(self._check_stage(stage))
        object.__setattr__(self, "_stages", tuple(checked))

    @staticmethod
    def _check_stage(stage: Any) -> dict[str, Any]:
        if not isinstance(stage, Mapping) or len(stage) != 1:
            raise ValueError(f"a stage is a mapping with one '$stage' key, not {stage!r}")
        name = next(iter(stage))
        if not isinstance(name, str) or not name.startswith("$"):
            raise ValueError(f"a stage's key starts with '$', not {name!r}")
        copied: dict[str, Any] = _copy(dict(stage))
        return copied

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Pipeline is immutable")

    def _then(self, stage: dict[str, Any]) -> Pipeline:
        new = object.__new__(Pipeline)
        object.__setattr__(new, "_stages", (*self._stages, stage))
        return new

    def to_pipeline(self) -> list[dict[str, Any]]:
        """The stages (new dicts each call)."""
        return [_copy(stage) for stage in self._stages]

    def __add__(self, other: Pipeline) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        new = object.__new__(Pipeline)
        object.__setattr__(new, "_stages", self._stages + other._stages)
        return new

    def __len__(self) -> int:
        return len(self._stages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self._stages == other._stages

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Pipeline({list(self._stages)!r})"

    # -- stages

    def stage(self, stage: Mapping[str, Any]) -> Pipeline:
        """Any stage, as a raw document (``{"$sample": {"size": 3}}``), used as given."""
        return self._then(self._check_stage(stage))

    def match(self, *filters: QueryExpression | Mapping[str, Any] | bool) -> Pipeline:
        """``$match``: documents meeting every filter (expressions or raw mappings)."""
        return self._then({"$match": build_filter(*filters)})

    def sort(self, *keys: Any) -> Pipeline:
        """``$sort`` by ``-User.age``, ``+User.name``, proxies, names or pairs."""
        pairs = build_sort(*keys)
        if not pairs:
            raise ValueError("sort() needs at least one key")
        return self._then({"$sort": dict(pairs)})

    def skip(self, count: int) -> Pipeline:
        """``$skip`` the first ``count`` documents."""
        return self._then({"$skip": _count(count, "skip")})

    def limit(self, count: int) -> Pipeline:
        """``$limit`` to ``count`` documents (at least 1)."""
        return self._then({"$limit": _count(count, "limit", positive=True)})

    def sample(self, size: int) -> Pipeline:
        """``$sample``: ``size`` random documents."""
        return self._then({"$sample": {"size": _count(size, "sample", positive=True)}})

    def project(self, *fields: FieldProxy | str | Mapping[str, Any], **expressions: Any
                ) -> Pipeline:
        """``$project``: keep ``fields`` (proxies or paths), and compute
        ``name=expression``; a mapping adds raw projection entries.

        >>> Pipeline().project("name", total={"$add": ["$a", "$b"]}).to_pipeline()
        [{'$project': {'name': 1, 'total': {'$add': ['$a', '$b']}}}]
        """
        spec: dict[str, Any] = {}
        for field in fields:
            if isinstance(field, Mapping):
                spec.update(_expr(field))
            else:
                spec[_key(field) if isinstance(field, FieldProxy) else _plain(field)] = 1
        spec.update({name: _expr(value) for name, value in expressions.items()})
        if not spec:
            raise ValueError("project() needs at least one field")
        return self._then({"$project": spec})

    def exclude(self, *fields: FieldProxy | str) -> Pipeline:
        """``$project`` with the fields left out."""
        if not fields:
            raise ValueError("exclude() needs at least one field")
        spec = {_key(f) if isinstance(f, FieldProxy) else _plain(f): 0 for f in fields}
        return self._then({"$project": spec})

    def add_fields(self, fields: Mapping[str, Any] | None = None, **expressions: Any
                   ) -> Pipeline:
        """``$addFields``: set ``name`` to an expression's value (a mapping for names
        that are not Python identifiers, or proxies as names)."""
        spec: dict[str, Any] = _expr(dict(fields or {}))
        spec.update({name: _expr(value) for name, value in expressions.items()})
        if not spec:
            raise ValueError("add_fields() needs at least one field")
        return self._then({"$addFields": spec})

    def group(self, key: Any, **accumulators: Any) -> Pipeline:
        """``$group`` by ``key`` (a proxy, an expression, a mapping of them, or None
        for one group), with ``name={"$sum": User.age}`` accumulators."""
        for name, accumulator in accumulators.items():
            if not isinstance(accumulator, Mapping) or len(accumulator) != 1:
                raise ValueError(
                    f"group(): {name} is an accumulator like {{'$sum': ...}}, "
                    f"not {accumulator!r}"
                )
        if "_id" in accumulators:
            raise ValueError("group(): the key is the first argument, not _id=")
        spec = {"_id": _expr(key)}
        spec.update({name: _expr(value) for name, value in accumulators.items()})
        return self._then({"$group": spec})

    def unwind(
        self,
        field: FieldProxy | str,
        *,
        preserve_null_and_empty_arrays: bool = False,
        include_array_index: str | None = None,
    ) -> Pipeline:
        """``$unwind`` an array field: one document per element."""
        path = field_ref(field)
        if not preserve_null_and_empty_arrays and include_array_index is None:
            return self._then({"$unwind": path})
        spec: dict[str, Any] = {"path": path}
        if preserve_null_and_empty_arrays:
            spec["preserveNullAndEmptyArrays"] = True
        if include_array_index is not None:
            spec["includeArrayIndex"] = _plain(include_array_index)
        return self._then({"$unwind": spec})

    def lookup(
        self,
        from_: type[BaseModel] | str,
        *,
        local_field: FieldProxy | str,
        foreign_field: FieldProxy | str,
        as_: str,
    ) -> Pipeline:
        """``$lookup``: join the documents of ``from_`` (a Document class or a
        collection name) whose ``foreign_field`` equals ``local_field``, as ``as_``."""
        return self._then({"$lookup": {
            "from": _collection(from_),
            "localField": _key(local_field) if isinstance(local_field, FieldProxy)
            else _plain(local_field),
            "foreignField": _key(foreign_field) if isinstance(foreign_field, FieldProxy)
            else _plain(foreign_field),
            "as": _plain(as_),
        }})

    def replace_root(self, expression: Any) -> Pipeline:
        """``$replaceRoot``: make ``expression`` (an embedded model's proxy, say) the
        document."""
        return self._then({"$replaceRoot": {"newRoot": _expr(expression)}})

    def count(self, field: str = "count") -> Pipeline:
        """``$count``: one document ``{field: number of documents}``."""
        return self._then({"$count": _plain(field)})


def _plain(name: Any) -> str:
    if not isinstance(name, str) or not name or name.startswith("$"):
        raise ValueError(f"expected a field name, not {name!r}")
    return name

"""The ODM's errors: one base class, and the driver's error kept as ``__cause__``.

- :class:`ODMError`: the base of every error the ODM raises itself.
- :class:`ValidationError`: a stored document that does not fit its model, a value
  that does not fit a field (in a filter or an update), or a value that cannot be
  stored. Also a ``ValueError``. ``.errors`` is Pydantic's error list.
- :class:`DocumentNotFound`: a read or write that needed a document found none.
- :class:`DuplicateKeyError`: a write hit a unique index; ``.key`` holds the values.

Driver errors that are not translated (network errors, other server errors) reach the
caller unchanged, as :mod:`driver.errors` classes.

Example::

    >>> from odm.errors import ValidationError
    >>> err = ValidationError.for_value(
    ...     field="age", expected=int, errors=[{"type": "int_parsing", "loc": (),
    ...     "msg": "Input should be a valid integer", "input": "x"}])
    >>> print(err)
    invalid value for field 'age' (expected int): Input should be a valid integer [type=int_parsing, input='x']
    >>> isinstance(err, ValueError)
    True
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pydantic_core

__all__ = ["DocumentNotFound", "DuplicateKeyError", "ODMError", "ValidationError"]

_MAX_INPUT_REPR = 80
_MAX_FILTER_REPR = 200


class ODMError(Exception):
    """Base class of the errors the ODM raises itself."""


def _short_repr(value: Any, limit: int) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _name_of(model: Any) -> str:
    return getattr(model, "__qualname__", None) or getattr(model, "__name__", None) or repr(model)


def format_loc(loc: Sequence[int | str]) -> str:
    """A Pydantic error location as a dotted path, as MongoDB writes paths.

    >>> format_loc(("address", "lines", 0))
    'address.lines.0'
    """
    return ".".join(str(part) for part in loc)


# Constraints shown after a type (``int (>= 0)``): the attribute of annotated_types'
# and Pydantic's metadata objects, and how to show its value.
_CONSTRAINTS = (
    ("gt", "> {}"),
    ("ge", ">= {}"),
    ("lt", "< {}"),
    ("le", "<= {}"),
    ("multiple_of", "multiple of {}"),
    ("min_length", "min length {}"),
    ("max_length", "max length {}"),
    ("pattern", "pattern {}"),
    ("max_digits", "at most {} digits"),
    ("decimal_places", "at most {} decimal places"),
)


def _constraints(metadata: Iterable[Any]) -> list[str]:
    import annotated_types
    from pydantic.fields import FieldInfo

    found: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            found += _constraints(item.metadata)
        elif isinstance(item, annotated_types.GroupedMetadata):  # Interval, Len, ...
            found += _constraints(item)
        elif isinstance(item, annotated_types.BaseMetadata):
            for attribute, form in _CONSTRAINTS:
                value = getattr(item, attribute, None)
                if value is not None:
                    shown = str(value) if isinstance(value, (int, float, Decimal)) else repr(value)
                    found.append(form.format(shown))
    return found


def _literal_repr(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    return repr(value)


def type_repr(annotation: Any) -> str:
    """A short, readable name for a type annotation, for error messages.

    Constraints follow the type in parentheses; unions read as ``X | Y``.

    >>> import typing
    >>> from pydantic import Field
    >>> type_repr(int), type_repr(typing.Optional[list[str]])
    ('int', 'list[str] | None')
    >>> type_repr(typing.Annotated[int, Field(ge=0, lt=10)])
    'int (>= 0, < 10)'
    >>> type_repr(dict[str, typing.Literal["a", "b"]])
    "dict[str, Literal['a', 'b']]"
    """
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        inner = type_repr(args[0])
        constraints = _constraints(annotation.__metadata__)
        return f"{inner} ({', '.join(constraints)})" if constraints else inner
    if annotation is type(None):
        return "None"
    if annotation is typing.Any:
        return "Any"
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_repr(arg) for arg in args)
    if origin is typing.Literal:
        return f"Literal[{', '.join(_literal_repr(arg) for arg in args)}]"
    if origin is not None and isinstance(origin, type):
        if not args:
            return origin.__qualname__ if annotation is origin else _plain_repr(annotation)
        shown = ", ".join("..." if arg is Ellipsis else type_repr(arg) for arg in args)
        return f"{origin.__qualname__}[{shown}]"
    if isinstance(annotation, type):
        return annotation.__qualname__
    return _plain_repr(annotation)


def _plain_repr(annotation: Any) -> str:
    return repr(annotation).replace("typing.", "").replace("NoneType", "None")


class ValidationError(ODMError, ValueError):
    """Data that does not fit a model or a field.

    Raised when a stored document fails its model's validation on read (the message
    names the model, the document's ``_id`` and each failing field path), when a value
    in a filter or an update does not fit the field's type (the message names the field
    and the expected type), and when a value cannot be stored. Pydantic's own
    ``ValidationError``, when there was one, is ``__cause__``.

    Attributes: ``model`` (the model class or None), ``document_id`` (the stored
    ``_id`` or None), ``errors`` (Pydantic's error dicts: ``type``, ``loc``, ``msg``,
    ``input``...), ``field`` (the field path, for a single value, or None).
    """

    def __init__(
        self,
        message: str,
        *,
        model: type[Any] | None = None,
        document_id: Any = None,
        errors: Sequence[Mapping[str, Any]] = (),
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.document_id = document_id
        self.errors: list[dict[str, Any]] = [dict(e) for e in errors]
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))

    @staticmethod
    def _lines(errors: Sequence[Mapping[str, Any]], *, hide_input: bool, prefix: str = "") -> list[str]:
        lines = []
        for error in errors:
            path = format_loc([prefix, *error.get("loc", ())] if prefix else error.get("loc", ()))
            detail = f"type={error.get('type', 'value_error')}"
            if not hide_input and "input" in error:
                detail += f", input={_short_repr(error['input'], _MAX_INPUT_REPR)}"
            message = f"{error.get('msg', '')} [{detail}]"
            lines.append(f"{path}: {message}" if path else message)
        return lines

    @classmethod
    def for_document(
        cls,
        model: type[Any],
        document_id: Any,
        errors: Sequence[Mapping[str, Any]],
        *,
        hide_input: bool = False,
    ) -> ValidationError:
        """The error for a stored document that does not validate as ``model``.

        >>> err = ValidationError.for_document(dict, 7, [{"type": "missing",
        ...     "loc": ("name",), "msg": "Field required"}])
        >>> print(err)
        stored dict document (_id=7) does not validate: 1 error
          name: Field required [type=missing]
        """
        count = len(errors)
        head = (
            f"stored {_name_of(model)} document (_id={_short_repr(document_id, _MAX_INPUT_REPR)}) "
            f"does not validate: {count} error{'' if count == 1 else 's'}"
        )
        body = "\n".join("  " + line for line in cls._lines(errors, hide_input=hide_input))
        return cls(
            f"{head}\n{body}" if body else head,
            model=model,
            document_id=document_id,
            errors=errors,
        )

    @classmethod
    def for_value(
        cls,
        *,
        field: str,
        expected: Any,
        errors: Sequence[Mapping[str, Any]],
        model: type[Any] | None = None,
        hide_input: bool = False,
    ) -> ValidationError:
        """The error for a filter or update value that does not fit its field."""
        where = f"{_name_of(model)}.{field}" if model is not None else field
        lines = cls._lines(errors, hide_input=hide_input)
        head = f"invalid value for field {where!r} (expected {type_repr(expected)})"
        if len(lines) == 1:
            message = f"{head}: {lines[0]}"
        else:
            message = head + "".join("\n  " + line for line in lines)
        return cls(message, model=model, errors=errors, field=field)

    @classmethod
    def from_pydantic(
        cls,
        exc: pydantic_core.ValidationError,
        *,
        model: type[Any],
        document_id: Any = None,
        hide_input: bool = False,
    ) -> ValidationError:
        """Wrap Pydantic's error for a stored document (sets ``__cause__``)."""
        errors = exc.errors(include_url=False)
        error = cls.for_document(model, document_id, errors, hide_input=hide_input)
        error.__cause__ = exc
        return error


class DocumentNotFound(ODMError):
    """No document of ``model`` matched ``filter`` where one was required.

    >>> print(DocumentNotFound(dict, {"_id": 1}))
    no dict document matches {'_id': 1}
    """

    def __init__(self, model: type[Any] | None, filter: Mapping[str, Any] | None) -> None:
        name = _name_of(model) if model is not None else "stored"
        super().__init__(f"no {name} document matches {_short_repr(filter, _MAX_FILTER_REPR)}")
        self.model = model
        self.filter = filter

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.model, self.filter))


_INDEX_IN_MESSAGE = re.compile(r"index: (\S+) dup key")


class DuplicateKeyError(ODMError):
    """A write would duplicate a value in a unique index (server error code 11000).

    ``key`` holds the duplicated values as the server reported them (``keyValue``,
    e.g. ``{"email": "a@example.com"}``), ``index`` the index name when known, and
    the driver's error is ``__cause__``.

    >>> err = DuplicateKeyError(dict, key={"email": "a@b.c"}, index="email_1")
    >>> print(err)
    duplicate key for dict in index 'email_1': {'email': 'a@b.c'}
    """

    def __init__(
        self,
        model: type[Any] | None,
        *,
        key: Mapping[str, Any] | None = None,
        index: str | None = None,
        message: str | None = None,
    ) -> None:
        if message is None:
            name = _name_of(model) if model is not None else "document"
            where = f" in index {index!r}" if index else ""
            values = f": {_short_repr(dict(key), _MAX_FILTER_REPR)}" if key is not None else ""
            message = f"duplicate key for {name}{where}{values}"
        super().__init__(message)
        self.model = model
        self.key = dict(key) if key is not None else None
        self.index = index

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))

    @classmethod
    def from_driver(
        cls,
        model: type[Any] | None,
        error: BaseException,
        write_error: Mapping[str, Any] | None = None,
    ) -> DuplicateKeyError:
        """Translate a driver error (or one ``writeErrors`` entry of a bulk write).

        ``keyValue`` gives ``key``; the index name comes from ``errmsg``
        (``"... index: email_1 dup key: ..."``). The driver error becomes ``__cause__``.

        >>> from driver.errors import DuplicateKeyError as DriverDuplicateKeyError
        >>> cause = DriverDuplicateKeyError(
        ...     "E11000 duplicate key error collection: db.users index: email_1 dup key: "
        ...     '{ email: "a" }', 11000, {"keyValue": {"email": "a"}})
        >>> err = DuplicateKeyError.from_driver(dict, cause)
        >>> err.key, err.index, err.__cause__ is cause
        ({'email': 'a'}, 'email_1', True)
        """
        details: Mapping[str, Any] | None = write_error
        if details is None:
            details = getattr(error, "details", None)
        key: Mapping[str, Any] | None = None
        index: str | None = None
        if isinstance(details, Mapping):
            value = details.get("keyValue")
            if isinstance(value, Mapping):
                key = value
            message = details.get("errmsg")
            if not isinstance(message, str):
                message = str(error)
        else:
            message = str(error)
        found = _INDEX_IN_MESSAGE.search(message)
        if found:
            index = found.group(1)
        result = cls(model, key=key, index=index)
        result.__cause__ = error
        return result


def _rebuild(kind: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    # Pickling: the constructors take keyword arguments that ``args`` does not hold.
    error = Exception.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error

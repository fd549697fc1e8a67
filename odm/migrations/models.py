"""Finding the models whose indexes the migrations follow.

``load_models("app.models")`` imports the module and takes every stored model
(``odm.Document``/``odm.BaseDocument`` subclass) it defines or imports;
``"app.models:User"`` takes one class; several specs may be given, as a list or
comma-separated. A class that only serves as a base of other found models and names
no collection itself is left out (a shared base, not a collection). The order is
deterministic (by collection, then module and class name) and each model is listed once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from odm.model import BaseDocument, Document, collection_name, document_config

__all__ = ["load_models"]


def _is_model(value: Any) -> bool:
    return (
        isinstance(value, type)
        and issubclass(value, BaseDocument)
        and value not in (BaseDocument, Document)
    )


def _from_spec(spec: str) -> list[type[BaseModel]]:
    module_name, _, attribute = spec.strip().partition(":")
    if not module_name:
        raise ValueError(f"not a models spec (module or module:Class): {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import the models module {module_name!r}: {exc}") from exc
    if attribute:
        value: Any = module
        for part in attribute.split("."):
            value = getattr(value, part, None)
        if not _is_model(value):
            raise ValueError(f"{spec!r} is not an odm.Document subclass")
        return [value]
    found = [value for value in vars(module).values() if _is_model(value)]
    if not found:
        raise ValueError(f"the module {module_name!r} defines no odm.Document subclass")
    return found


def load_models(models: str | Iterable[str | type[BaseModel]]) -> list[type[BaseModel]]:
    """The models named by ``models`` (see the module docstring)."""
    items: list[str | type[BaseModel]]
    if isinstance(models, str):
        items = [part for part in models.split(",") if part.strip()]
    else:
        items = list(models)
    found: list[type[BaseModel]] = []
    for item in items:
        if isinstance(item, str):
            found += _from_spec(item)
        elif _is_model(item):
            found.append(item)
        else:
            raise TypeError(f"a model is an odm.Document subclass or a 'module:Class' str, not {item!r}")
    unique = list(dict.fromkeys(found))
    bases = {
        model
        for model in unique
        if "collection" not in document_config(model)
        and any(other is not model and issubclass(other, model) for other in unique)
    }
    kept = [model for model in unique if model not in bases]
    return sorted(kept, key=lambda m: (collection_name(m), m.__module__, m.__qualname__))

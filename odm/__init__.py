"""Feldspar's object-document mapper: Pydantic v2 models stored in MongoDB.

Nothing here yet: the ODM (models, typed queries and updates, indexes, migrations,
sync and async engines) comes in a later issue. Today this package only carries the
version.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("feldspar")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

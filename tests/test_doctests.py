"""Every ``>>>`` example in the docstrings of ``driver`` and ``odm`` runs and is right.

The public API's docstrings carry short examples; running them keeps them true.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import driver
import odm


def _modules() -> list[str]:
    names: list[str] = []
    for package in (driver, odm):
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_examples_are_there() -> None:
    # Guard against a refactor that silently stops finding them (e.g. a rename).
    finder = doctest.DocTestFinder()
    count = sum(
        len(test.examples)
        for name in _modules()
        for test in finder.find(importlib.import_module(name))
    )
    assert count >= 50, count

"""Every BSON test runs twice: against the pure-Python codec and against the C one.

The ``codec`` fixture is autouse and module-scoped, parametrized over ``pure`` and
``c`` (test ids end in ``[pure]``/``[c]``): for each it rebinds the entry points that
``driver.bson`` and ``driver.bson.raw_bson`` call, so the public API (``encode``,
``decode``, ``RawBSONDocument``...) runs on that implementation. The ``c`` run is
skipped, with the reason shown, when the extension is not built or FELDSPAR_NO_C is set
(test_cbson.py fails instead when the repository's own venv lacks it).

A module that compares the two itself sets ``BOTH_CODECS = False`` and runs once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import driver.bson
import driver.bson.raw_bson
from driver.bson import _codec

CODECS = ("pure", "c")

# (module, attribute) pairs that hold an entry point: every caller of the codec.
BINDINGS = (
    (driver.bson, "decode_document"),
    (driver.bson, "encode_document"),
    (driver.bson.raw_bson, "inflate_raw"),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "codec" in metafunc.fixturenames and getattr(metafunc.module, "BOTH_CODECS", True):
        metafunc.parametrize("codec", CODECS, indirect=True, scope="module")


@pytest.fixture(autouse=True, scope="module")
def codec(request: pytest.FixtureRequest) -> Iterator[str]:
    name: str = getattr(request, "param", "")
    if not name:  # a BOTH_CODECS = False module: leave the import-time choice alone
        yield "default"
        return
    implementation = _codec.IMPLEMENTATIONS.get(name)
    if implementation is None:
        pytest.skip(f"C codec not tested: {_codec.C_UNAVAILABLE_REASON}")
    saved = [(module, attr, getattr(module, attr)) for module, attr in BINDINGS]
    for module, attr, _ in saved:
        setattr(module, attr, getattr(implementation, attr))
    try:
        yield name
    finally:
        for module, attr, original in saved:
            setattr(module, attr, original)

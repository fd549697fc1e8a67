"""The one place that chooses the BSON codec: the C accelerator or the pure Python one.

``driver.bson._cbson`` is used when it was built (``pip install`` compiles it when a
compiler is there) and the environment variable ``FELDSPAR_NO_C`` is unset, empty or
``0``; otherwise the pure-Python codec serves everything (and the extension is not even
imported). The choice is made once, at import. Both implementations keep the same
contracts (the pure modules' docstrings), and the C one calls back into the pure code
for whatever it does not handle itself.

Callers import ``decode_document``, ``encode_document`` and ``inflate_raw`` from here
(``driver.bson`` and ``driver.bson.raw_bson`` do); ``IMPLEMENTATIONS`` keeps both sets
so the tests can run every BSON test against each.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from driver.bson import _decoder, _encoder
from driver.bson.codec_options import CodecOptions

__all__ = [
    "C_UNAVAILABLE_REASON",
    "IMPLEMENTATIONS",
    "PURE",
    "USING_C",
    "Implementation",
    "decode_document",
    "encode_document",
    "inflate_raw",
]


@dataclass(frozen=True)
class Implementation:
    """One codec's entry points (the pure modules' signatures)."""

    name: str
    decode_document: Callable[[bytes, int, int, CodecOptions[Any]], Any]
    encode_document: Callable[[Any, bool, CodecOptions[Any], int], bytes]
    inflate_raw: Callable[[bytes, CodecOptions[Any]], dict[str, Any]]


PURE = Implementation(
    "pure", _decoder.decode_document, _encoder.encode_document, _decoder.inflate_raw
)
IMPLEMENTATIONS: dict[str, Implementation] = {"pure": PURE}

C_UNAVAILABLE_REASON: str | None = None
if os.environ.get("FELDSPAR_NO_C", "") not in ("", "0"):
    # Not even imported: the switch also gets around a broken build.
    C_UNAVAILABLE_REASON = "FELDSPAR_NO_C is set, so the C extension is not loaded"
else:
    try:
        # (Not ``from driver.bson import``: while driver.bson is still importing, a
        # missing extension would be reported as a circular import.)
        import driver.bson._cbson as _cbson
    except ImportError as exc:
        C_UNAVAILABLE_REASON = f"the C extension driver.bson._cbson is not built ({exc})"
    except Exception as exc:
        # A build that no longer matches the Python modules it calls into (a stale .so
        # after a rename): keep the driver working on the pure codec, and say why
        # (tests/driver/bson/test_cbson.py fails on it in the repository's venv).
        C_UNAVAILABLE_REASON = (
            f"the C extension driver.bson._cbson failed to load: {type(exc).__name__}: {exc}"
        )
    else:
        IMPLEMENTATIONS["c"] = Implementation(
            "c", _cbson.decode_document, _cbson.encode_document, _cbson.inflate_raw
        )
USING_C = "c" in IMPLEMENTATIONS

_chosen = IMPLEMENTATIONS["c" if USING_C else "pure"]
decode_document = _chosen.decode_document
encode_document = _chosen.encode_document
inflate_raw = _chosen.inflate_raw

"""The read/write concern spec tests: the ``connection-string`` and ``document`` folders.

(The ``operation`` folder needs a live server and belongs to the CRUD work.)

connection-string: the URI is parsed and the concerns built from its options
(:func:`~driver.write_concern.write_concern_from_options`,
:func:`~driver.read_concern.read_concern_from_options`). ``valid: false`` must raise
ConfigurationError in strict mode; with ``warning: null`` (``w=-2``,
``wtimeoutMS=-500``) warn mode may warn instead, which is also checked; with
``warning: false`` (``w=0&journal=true``) it must raise in warn mode too.

document: :class:`~driver.write_concern.WriteConcern` / ``ReadConcern`` built from
the spec's fields give the spec's command document, ``is_server_default`` and
``acknowledged``; invalid ones raise (TypeError, ValueError or ConfigurationError,
as PyMongo's do).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from driver.errors import ConfigurationError
from driver.read_concern import ReadConcern, read_concern_from_options
from driver.uri import parse_uri
from driver.write_concern import WriteConcern, write_concern_from_options

SPEC_DIR = Path(__file__).resolve().parents[1] / "specs" / "read-write-concern" / "tests"

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)

# The spec's field names -> WriteConcern's arguments and document keys.
_WC_ARGS = {"w": "w", "wtimeoutMS": "wtimeout", "journal": "j"}


def _cases(folder: str) -> list[Any]:
    params = []
    for path in sorted((SPEC_DIR / folder).glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['description']}"))
    return params


def _skip_if_listed(request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])


def _concerns(uri: str, *, warn: bool) -> tuple[WriteConcern, ReadConcern, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = parse_uri(uri, warn=warn)
        write, read = (
            write_concern_from_options(parsed.options),
            read_concern_from_options(parsed.options),
        )
    return write, read, [str(warning.message) for warning in caught]


@pytest.mark.parametrize("case", _cases("connection-string"))
def test_connection_string(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    _skip_if_listed(request)
    if not case["valid"]:
        with pytest.raises(ConfigurationError):
            _concerns(case["uri"], warn=False)
        if case["warning"] is False:
            with pytest.raises(ConfigurationError):
                _concerns(case["uri"], warn=True)
        else:
            try:
                _, _, messages = _concerns(case["uri"], warn=True)
            except ConfigurationError:
                return
            assert messages, "an invalid value must at least warn in warn mode"
        return
    write, read, messages = _concerns(case["uri"], warn=True)
    assert bool(messages) == bool(case["warning"]), messages
    if "writeConcern" in case:
        expected = {_WC_ARGS[key]: value for key, value in case["writeConcern"].items()}
        assert write.document == expected
    if "readConcern" in case:
        assert read.document == case["readConcern"]


@pytest.mark.parametrize("case", _cases("document"))
def test_document(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    _skip_if_listed(request)
    if "writeConcern" in case:
        arguments = {_WC_ARGS[key]: value for key, value in case["writeConcern"].items()}
        if not case["valid"]:
            with pytest.raises((TypeError, ValueError, ConfigurationError)):
                WriteConcern(**arguments)
            return
        write = WriteConcern(**arguments)
        assert write.document == case["writeConcernDocument"]
        assert write.is_server_default == case["isServerDefault"]
        assert write.acknowledged == case["isAcknowledged"]
    else:
        read = ReadConcern(**case["readConcern"])
        assert case["valid"]
        assert read.document == case["readConcernDocument"]
        assert read.is_server_default == case["isServerDefault"]

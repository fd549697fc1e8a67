"""The URI options spec tests (tests/specs/uri-options), every case.

As in the connection string runner: each URI is parsed with ``warn=True`` and its
warnings recorded; ``valid: false`` must raise ConfigurationError even so; a valid
case warns if and only if ``warning`` is true, and each listed option (any case, any
alias) has the listed value. Options the spec lists as ``{}`` are only checked for
validity (e.g. the proxy cases), and hosts/auth are checked where given.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from driver.errors import ConfigurationError
from driver.uri import parse_uri
from tests.driver.test_connection_string_spec import check_options, parse_case

SPEC_DIR = Path(__file__).resolve().parents[1] / "specs" / "uri-options" / "tests"

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)


def _cases() -> list[Any]:
    params = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['description']}"))
    return params


@pytest.mark.parametrize("case", _cases())
def test_uri_options(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])
    parsed = parse_case(case)
    if parsed is None:
        return
    if case.get("hosts") is not None:
        assert [host for host, _ in parsed.nodelist] == [h["host"] for h in case["hosts"]]
    if case.get("auth") is not None:
        assert parsed.username == case["auth"]["username"]
        assert parsed.password == case["auth"]["password"]
    if case["options"] is not None:
        check_options(parsed, case["options"])


def _warning_cases() -> list[Any]:
    return [param for param in _cases() if param.values[0]["warning"]]


@pytest.mark.parametrize("case", _warning_cases())
def test_what_warns_is_an_error_in_strict_mode(case: dict[str, Any]) -> None:
    """Every ``warning: true`` case here is an invalid value: strict mode refuses it.

    (Unknown keys and empty values would only warn in both modes, by the spec's
    rules; this file has none.)
    """
    with pytest.raises(ConfigurationError):
        parse_uri(case["uri"])

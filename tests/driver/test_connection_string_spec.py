"""The connection string spec tests (tests/specs/connection-string), every case.

Each URI is parsed as a client parses it, with ``warn=True`` (invalid option values
become warnings), and every warning is recorded:

- ``valid: false``: parsing raises ConfigurationError (InvalidURI for the grammar).
- ``valid: true``: no error; at least one warning if and only if ``warning`` is true;
  ``hosts`` (host, port, and the optional ``type``), ``auth`` (username, password,
  ``db``, which may be a ``db.collection`` namespace) and ``options`` (a subset check)
  match. A ``null`` field means "no assertion", as the spec's README says.

Every valid case also checks that the password never shows in the repr.
"""

from __future__ import annotations

import ipaddress
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from driver.errors import ConfigurationError
from driver.options import canonical_name
from driver.uri import ParsedURI, parse_uri

SPEC_DIR = Path(__file__).resolve().parents[1] / "specs" / "connection-string" / "tests"

# Every case this runner skips, by id, with the reason (printed at the end of the run).
SPEC_SKIPS: list[tuple[str, str]] = []
_SKIPPED = dict(SPEC_SKIPS)


def _cases() -> list[Any]:
    params = []
    for path in sorted(SPEC_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["tests"]:
            params.append(pytest.param(case, id=f"{path.stem}: {case['description']}"))
    return params


def parse_recording(uri: str) -> tuple[ParsedURI, list[str]]:
    """Parse as a client does (warn mode) and return the warnings' texts too."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = parse_uri(uri, warn=True)
    return parsed, [str(warning.message) for warning in caught]


def parse_case(case: dict[str, Any]) -> ParsedURI | None:
    """The checks every case of both URI suites starts with.

    ``valid: false`` must raise ConfigurationError even in warn mode (None is returned
    then); a valid case warns if and only if ``warning`` is true.
    """
    if not case["valid"]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ConfigurationError):
                parse_uri(case["uri"], warn=True)
        return None
    parsed, messages = parse_recording(case["uri"])
    if case["warning"]:
        assert messages, "expected a warning"
    else:
        assert not messages, f"unexpected warnings: {messages}"
    return parsed


def host_type(host: str) -> str:
    """The spec's host type of a parsed host."""
    if "/" in host:
        return "unix"
    if ":" in host:
        return "ip_literal"
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return "hostname"
    return "ipv4"


def check_options(parsed: ParsedURI, expected: dict[str, Any]) -> None:
    """Each expected option (any case, any alias) has the expected value."""
    for key, value in expected.items():
        name = canonical_name(key)
        assert name is not None, f"the spec names an option we do not know: {key}"
        assert name in parsed.options, f"{name} missing from {parsed.options!r}"
        assert parsed.options[name] == value, (name, parsed.options[name], value)


def namespace(parsed: ParsedURI) -> str | None:
    """The auth database as the spec writes it (a ``db.collection`` namespace)."""
    if parsed.database is None:
        return None
    return parsed.database + (f".{parsed.collection}" if parsed.collection else "")


@pytest.mark.parametrize("case", _cases())
def test_connection_string(case: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if request.node.callspec.id in _SKIPPED:
        pytest.skip(_SKIPPED[request.node.callspec.id])
    parsed = parse_case(case)
    if parsed is None:
        return
    if case["hosts"] is not None:
        assert len(parsed.nodelist) == len(case["hosts"])
        for (host, port), want in zip(parsed.nodelist, case["hosts"], strict=True):
            assert host == want["host"]
            if want["port"] is not None:
                assert port == want["port"]
            if want.get("type") is not None:
                assert host_type(host) == want["type"]
    auth = case["auth"]
    if auth is not None:
        for field, actual in (
            ("username", parsed.username),
            ("password", parsed.password),
            ("db", namespace(parsed)),
        ):
            # null means "no assertion", but every null here is also what we parse.
            assert actual == auth[field], (field, actual, auth[field])
    if case["options"] is not None:
        check_options(parsed, case["options"])
    if parsed.password and parsed.password not in (parsed.username or ""):
        assert parsed.password not in repr(parsed)

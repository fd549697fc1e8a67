"""Property: any instance of the rich test models (``tests/odm/strategies.py``) stored
through the engine reads back equal, sync and async, validating and trusted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from odm import BaseDocument
from tests.odm.engine_helpers import KINDS, open_engine
from tests.odm.strategies import documents


@pytest.fixture(scope="module", params=KINDS)
def engine(request: pytest.FixtureRequest, mongodb_uri: str) -> Iterator[Any]:
    with open_engine(request.param, mongodb_uri) as e:
        yield e


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(instance=documents())
def test_any_instance_round_trips_through_the_server(engine: Any, instance: BaseDocument) -> None:
    model = type(instance)
    engine.save(instance)  # an upsert: Hypothesis may repeat an id
    assert engine.get(model, instance.id) == instance
    assert engine.get(model, instance.id, trusted=True) == instance
    (found,) = engine.find(model, model.id == instance.id).to_list()
    assert found == instance
    engine.delete(instance)
    assert not engine.exists(model, model.id == instance.id)

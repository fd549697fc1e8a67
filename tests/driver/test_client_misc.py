"""Client odds and ends: options not built yet are said out loud; connect=True rules."""

from __future__ import annotations

import gc
import warnings

import pytest

from driver import AsyncMongoClient, MongoClient
from driver.errors import ConfigurationError


def test_options_not_built_yet_warn_instead_of_being_silently_ignored() -> None:
    with pytest.warns(UserWarning, match="timeoutMS not supported yet"):
        MongoClient("mongodb://127.0.0.1:1/?timeoutMS=100", connect=False).close()


def test_async_connect_true_outside_a_loop_is_a_clear_error_and_leaks_nothing() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine ... never awaited"
        with pytest.raises(ConfigurationError, match="running event loop"):
            AsyncMongoClient("mongodb://127.0.0.1:1/", connect=True)
        gc.collect()

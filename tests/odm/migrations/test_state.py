"""Index states from models and from list_indexes() documents (pure)."""

from __future__ import annotations

from typing import Annotated

import pytest

from odm import Document, DocumentConfig, Index, Indexed
from odm.migrations import state_differences, state_from_database, state_from_models, states_equal
from odm.migrations.models import load_models
from odm.migrations.state import normalize_state


class User(Document, collection="users"):
    model_config = DocumentConfig(indexes=[Index("age", ("name", -1))])
    email: Annotated[str, Indexed(unique=True)]
    name: str = ""
    age: int = 0


class Admin(Document, collection="users"):
    email: Annotated[str, Indexed(unique=True)]
    level: Annotated[int, Indexed()]


class Clash(Document, collection="users"):
    email: Annotated[str, Indexed()]


class Plain(Document):
    name: str = ""


def test_from_models_sorted_and_merged() -> None:
    state = state_from_models([User, Admin, Plain])
    assert list(state) == ["users"]
    assert [entry["name"] for entry in state["users"]] == ["age_1_name_-1", "email_1", "level_1"]
    assert state["users"][0] == {"keys": [["age", 1], ["name", -1]], "name": "age_1_name_-1", "options": {}}


def test_conflicting_declarations_raise() -> None:
    with pytest.raises(ValueError, match="users"):
        state_from_models([User, Clash])


def test_from_database_drops_id_and_transient_options() -> None:
    listings = {
        "users": [
            {"v": 2, "key": {"_id": 1}, "name": "_id_"},
            {"v": 2, "key": {"email": 1}, "name": "email_1", "unique": True, "prepareUnique": False},
            {"v": 2, "key": {"age": 1, "name": -1.0}, "name": "age_1_name_-1"},
        ],
        "empty": [{"v": 2, "key": {"_id": 1}, "name": "_id_"}],
    }
    state = state_from_database(listings)
    assert list(state) == ["users"]
    assert states_equal(state_from_models([User]), state)
    assert state_differences(state_from_models([User]), state) == []


def test_differences_are_readable() -> None:
    declared = state_from_models([User])
    live = state_from_database(
        {"users": [{"key": {"email": 1}, "name": "email_1"}, {"key": {"x": 1}, "name": "manual"}]}
    )
    lines = state_differences(declared, live)
    assert "users: missing index age_1_name_-1 {age: 1, name: -1}" in lines
    assert "users: index email_1 unique: expected True, found None" in lines
    assert "users: unexpected index manual {x: 1}" in lines
    assert not states_equal(declared, live)


def test_normalize_rejects_bad_states() -> None:
    with pytest.raises(ValueError):
        normalize_state({"c": [{"name": "a", "keys": "nope"}]})
    with pytest.raises(ValueError, match="two indexes named"):
        normalize_state({"c": [{"name": "a", "keys": [["a", 1]]}, {"name": "a", "keys": [["b", 1]]}]})


def test_load_models_from_module_and_class() -> None:
    models = load_models(__name__)
    assert [m.__name__ for m in models] == ["Plain", "Admin", "Clash", "User"]
    assert load_models(f"{__name__}:User") == [User]
    assert load_models([f"{__name__}:User", Admin, User]) == [Admin, User]
    with pytest.raises(ValueError, match=r"not an odm\.Document"):
        load_models(f"{__name__}:pytest")
    with pytest.raises(ValueError, match="cannot import"):
        load_models("no_such_module_here")

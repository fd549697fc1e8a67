"""The planner over many model changes, with no server: every plan is simulated on the
old state and must reach the new one, its inverse must come back, and at every step
an index on the same keys must exist for each key pattern both states have."""

from __future__ import annotations

from typing import Any

import pytest

from odm import Index
from odm.migrations import apply_operations, commands, describe, expand, invert, plan
from odm.migrations.plan import BRIDGE_KEY, bridge
from odm.migrations.state import normalize_state, spec_of


def st(**collections: list[Index]) -> dict[str, list[dict[str, Any]]]:
    return normalize_state({c: [i.spec.to_dict() for i in idx] for c, idx in collections.items()})


def kinds(ops: list[dict[str, Any]]) -> list[str]:
    return [op["op"] for op in ops]


def _keys_at(state: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        c: [tuple(map(tuple, entry["keys"])) for entry in entries] for c, entries in state.items()
    }


def _covered(keys: tuple[Any, ...], present: list[tuple[Any, ...]]) -> bool:
    return any(other[: len(keys)] == keys for other in present)


def check(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Plan old -> new; check it reaches new, inverts to old, keeps coverage."""
    ops = plan(old, new)
    assert apply_operations(old, ops) == normalize_state(new)
    assert apply_operations(new, invert(ops)) == normalize_state(old)
    assert invert(invert(ops)) == ops
    for start, sequence in ((old, ops), (new, invert(ops))):
        end = apply_operations(start, sequence)
        kept = {
            c: [k for k in keys if k in _keys_at(end).get(c, [])]
            for c, keys in _keys_at(start).items()
        }
        renamed = {op["from"]: op["to"] for op in sequence if op["op"] == "rename_collection"}
        state = start
        for op in sequence:
            for step in expand(op):
                state = apply_operations(state, [step])
                now = _keys_at(state)
                for c, keys in kept.items():
                    for k in keys:
                        if any(v in ("text",) or str(p).endswith("$**") for p, v in k):
                            continue  # no bridge possible: documented gap
                        assert _covered(k, now.get(c, []) or now.get(renamed.get(c, c), [])), (
                            c, k, step,
                        )
    assert plan(new, new) == []
    for op in ops:
        assert describe(op)
        assert commands(op, "db")
    return ops


def test_empty_and_unchanged() -> None:
    assert plan({}, {}) == []
    state = st(users=[Index("email", unique=True)])
    assert plan(state, state) == []


def test_added_and_removed() -> None:
    ops = check({}, st(users=[Index("email", unique=True), Index("age")]))
    assert kinds(ops) == ["create_index", "create_index"]
    assert [op["index"]["name"] for op in ops] == ["age_1", "email_1"]
    ops = check(st(users=[Index("email"), Index("age")]), st(users=[Index("email")]))
    assert kinds(ops) == ["drop_index"]
    assert ops[0]["index"] == {"keys": [["age", 1]], "name": "age_1", "options": {}}


def test_create_before_drop_and_collections_sorted() -> None:
    old = st(b=[Index("x")], a=[Index("y")])
    new = st(b=[Index("x", "z")], a=[Index("y"), Index("w")])
    ops = check(old, new)
    assert [(op["collection"], op["op"]) for op in ops] == [
        ("a", "create_index"),
        ("b", "create_index"),
        ("b", "drop_index"),
    ]


def test_renamed_index() -> None:
    ops = check(st(users=[Index("email", unique=True)]), st(users=[Index("email", unique=True, name="by_email")]))
    assert kinds(ops) == ["rename_index"]
    assert ops[0]["from"]["name"] == "email_1" and ops[0]["to"]["name"] == "by_email"
    steps = expand(ops[0])
    assert kinds(steps) == ["create_index", "drop_index", "create_index", "drop_index"]
    temp = steps[0]["index"]
    assert temp["keys"] == [["email", 1], [BRIDGE_KEY, 1]]
    assert temp["options"] == {"unique": True}  # the bridge keeps enforcing uniqueness
    assert steps[3]["index"] == temp


def test_renamed_collection_detected() -> None:
    old = st(users=[Index("email", unique=True), Index("age")])
    new = st(people=[Index("email", unique=True), Index("age")])
    ops = check(old, new)
    assert ops == [{"op": "rename_collection", "from": "users", "to": "people"}]
    assert "review" in describe(ops[0])
    ((database, command),) = commands(ops[0], "app")
    assert database == "admin" and command["renameCollection"] == "app.users"
    # Different indexes: not a rename.
    ops = check(old, st(people=[Index("email")]))
    assert "rename_collection" not in kinds(ops)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (Index("ts", expire_after=60), Index("ts", expire_after=120), {"expireAfterSeconds": 120}),
        (Index("a"), Index("a", hidden=True), {"hidden": True}),
        (Index("a", hidden=True), Index("a"), {"hidden": None}),
        (Index("a"), Index("a", unique=True), {"unique": True}),
        (Index("a", unique=True), Index("a"), {"unique": None}),
        (Index("a"), Index("a", unique=True, hidden=True), {"hidden": True, "unique": True}),
    ],
)
def test_in_place_changes(before: Index, after: Index, expected: dict[str, Any]) -> None:
    ops = check(st(c=[before]), st(c=[after]))
    assert kinds(ops) == ["modify_index"]
    assert ops[0]["options"] == expected
    assert set(ops[0]["previous"]) == set(expected)


def test_unique_runs_prepare_unique_first() -> None:
    ops = plan(st(c=[Index("a")]), st(c=[Index("a", unique=True)]))
    sent = [command["index"] for _, command in commands(ops[0], "db")]
    assert sent == [{"name": "a_1", "prepareUnique": True}, {"name": "a_1", "unique": True}]
    back = [command["index"] for _, command in commands(invert(ops)[0], "db")]
    assert back == [{"name": "a_1", "unique": False}, {"name": "a_1", "prepareUnique": False}]


REBUILT = [
    (Index("a"), Index("a", sparse=True)),
    (Index("a", sparse=True), Index("a")),
    (Index("a"), Index("a", partial={"a": {"$exists": True}})),
    (Index("a", partial={"a": {"$gt": 1}}), Index("a", partial={"a": {"$gt": 2}})),
    (Index("a"), Index("a", collation={"locale": "fr"})),
    (Index("a", collation={"locale": "fr"}), Index("a", collation={"locale": "fr", "strength": 2})),
    (Index("ts"), Index("ts", expire_after=60)),
    (Index("ts", expire_after=60), Index("ts")),
    (Index(("loc", "2dsphere")), Index(("loc", "2dsphere"), two_d_sphere_version=3)),
    (Index("a", "b", name="ab"), Index("b", "a", name="ab")),
    (Index("a", ("b", -1), name="ab"), Index("a", "b", name="ab")),
    (Index("a", sparse=True), Index("a", unique=True)),
    (Index(("p", "2d")), Index(("p", "2d"), bits=20)),
]


@pytest.mark.parametrize(("before", "after"), REBUILT)
def test_rebuilt_through_a_bridge(before: Index, after: Index) -> None:
    ops = check(st(c=[before]), st(c=[after]))
    assert kinds(ops) == ["create_index", "drop_index", "create_index", "drop_index"]
    assert ops[0]["index"]["keys"][-1] == [BRIDGE_KEY, 1]
    assert ops[0]["index"]["name"].endswith("__bridge")
    assert "expireAfterSeconds" not in ops[0]["index"]["options"]
    assert ops[1]["index"] == spec_of_dict(before) and ops[2]["index"] == spec_of_dict(after)


def spec_of_dict(index: Index) -> dict[str, Any]:
    return st(c=[index])["c"][0]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Index(("t", "text")), Index(("t", "text"), weights={"t": 5})),
        (Index(("t", "text")), Index(("t", "text"), default_language="french")),
        (Index("$**", wildcard_projection={"a": 1}), Index("$**", wildcard_projection={"b": 1})),
    ],
)
def test_text_and_wildcard_are_dropped_then_created(before: Index, after: Index) -> None:
    ops = check(st(c=[before]), st(c=[after]))
    assert kinds(ops) == ["drop_index", "create_index"]
    assert bridge(spec_of(ops[0]["index"])) is None


def test_compound_order_changes_with_default_names() -> None:
    ops = check(st(c=[Index("a", "b")]), st(c=[Index("b", "a")]))
    assert [(op["op"], op["index"]["name"]) for op in ops] == [
        ("create_index", "b_1_a_1"),
        ("drop_index", "a_1_b_1"),
    ]
    ops = check(st(c=[Index("a", "b")]), st(c=[Index("a", ("b", -1))]))
    assert kinds(ops) == ["create_index", "drop_index"]


def test_new_name_same_keys_other_options_uses_a_bridge() -> None:
    # The server may see both as one index (IndexOptionsConflict): never both at once.
    ops = check(st(c=[Index("ts")]), st(c=[Index("ts", expire_after=5, name="ttl")]))
    assert kinds(ops) == ["create_index", "drop_index", "create_index", "drop_index"]
    assert ops[2]["index"]["name"] == "ttl"


def test_many_collections_and_changes_together() -> None:
    old = st(
        users=[Index("email", unique=True), Index("age"), Index("ts", expire_after=10)],
        posts=[Index("author", ("at", -1)), Index(("body", "text"))],
        logs=[Index("level")],
    )
    new = st(
        members=[Index("email", unique=True), Index("age"), Index("ts", expire_after=10)],
        posts=[
            Index("author", ("at", -1), name="by_author"),
            Index(("body", "text"), weights={"body": 2}),
            Index("tags", sparse=True),
        ],
        logs=[Index("level", hidden=True), Index("at", expire_after=3600)],
    )
    ops = check(old, new)
    assert ops[0] == {"op": "rename_collection", "from": "users", "to": "members"}
    assert {op["op"] for op in ops} == {
        "rename_collection", "rename_index", "modify_index", "create_index", "drop_index",
    }


def test_partial_filter_with_bson_values_round_trips() -> None:
    import datetime

    from driver.bson import ObjectId

    when = datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc)
    oid = ObjectId("5f43a1b2c3d4e5f6a7b8c9d0")
    new = st(c=[Index("a", partial={"at": {"$gt": when}, "owner": oid})])
    ops = check({}, new)
    assert ops[0]["index"]["options"]["partialFilterExpression"]["owner"] == {"$oid": str(oid)}
    ((_, command),) = commands(ops[0], "db")
    partial = command["indexes"][0]["partialFilterExpression"]
    assert partial["owner"] == oid
    assert partial["at"]["$gt"].replace(tzinfo=datetime.timezone.utc) == when  # naive = UTC


def test_apply_operations_is_strict() -> None:
    state = st(c=[Index("a")])
    with pytest.raises(ValueError, match="exists"):
        apply_operations(state, plan({}, state))
    with pytest.raises(ValueError, match=r"no c\.b_1"):
        apply_operations(state, [{"op": "drop_index", "collection": "c", "index": spec_of_dict(Index("b"))}])
    with pytest.raises(ValueError, match="not a migration operation"):
        apply_operations(state, [{"op": "explode"}])


def test_invert_rejects_unknown_and_describe_reads_well() -> None:
    with pytest.raises(ValueError):
        invert([{"op": "explode"}])
    ops = plan(st(c=[Index("a")]), st(c=[Index("a", hidden=True)]))
    assert describe(ops[0]) == "c: change index a_1: hidden None -> True"

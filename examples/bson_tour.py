"""A tour of driver.bson: encode, decode, the BSON types and Extended JSON.

Run it with `python examples/bson_tour.py` (or `make demo`). It needs no server.
"""

from __future__ import annotations

import datetime
import uuid

from driver.bson import (
    Binary,
    CodecOptions,
    Decimal128,
    Int64,
    InvalidBSON,
    ObjectId,
    RawBSONDocument,
    Timestamp,
    UuidRepresentation,
    decode,
    encode,
)
from driver.bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS, dumps, loads

# Aware datetimes and standard UUIDs: what a new application should choose.
OPTIONS = CodecOptions(tz_aware=True, uuid_representation=UuidRepresentation.STANDARD)
RELAXED = RELAXED_JSON_OPTIONS.with_options(
    tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)
CANONICAL = CANONICAL_JSON_OPTIONS.with_options(
    tz_aware=True, uuid_representation=UuidRepresentation.STANDARD
)


def main() -> None:
    options = OPTIONS
    order = {
        "_id": ObjectId(),
        "customer": uuid.UUID("7d444840-9dc0-11d1-b245-5ffdce74fad2"),
        "placed": datetime.datetime(2026, 11, 23, 9, 30, tzinfo=datetime.timezone.utc),
        "lines": [
            {"sku": "A-1", "qty": 2, "price": Decimal128("19.99")},
            {"sku": "B-7", "qty": 1, "price": Decimal128("5.00")},
        ],
        "audit": {"version": Int64(3), "at": Timestamp(1795459200, 1)},
        "signature": Binary(b"\x8f\x02\x11", 128),
    }

    data = encode(order, codec_options=options)
    print(f"encoded an order as {len(data)} bytes of BSON")

    back = decode(data, options)
    assert back == order, "a round trip must give back the same document"
    total = sum(line["price"].to_decimal() * line["qty"] for line in back["lines"])
    print(f"decoded it again: {len(back['lines'])} lines, total {total}")
    print(f"the ObjectId was made at {back['_id'].generation_time:%Y-%m-%d %H:%M} UTC")

    raw = decode(data, CodecOptions(document_class=RawBSONDocument))
    print(f"a RawBSONDocument reads only what you touch: first sku = {raw['lines'][0]['sku']}")

    print("relaxed Extended JSON:")
    print("  " + dumps(back, json_options=RELAXED))
    canonical = dumps(back, json_options=CANONICAL)
    print("canonical Extended JSON:")
    print("  " + canonical)
    again = loads(canonical, json_options=CANONICAL)
    assert encode(again, codec_options=options) == data, "canonical JSON keeps every type"
    print("canonical Extended JSON round-trips to the same bytes")

    try:
        decode(data[:-3])
    except InvalidBSON as exc:
        print(f"truncated bytes are refused with InvalidBSON: {exc}")


if __name__ == "__main__":
    main()

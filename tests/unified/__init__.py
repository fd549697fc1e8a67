"""The unified test format runner and the spec suites it runs against SecantusDB.

One runner (async code, :mod:`tests.unified.runner`) runs every case twice: on the
async client (``AsyncMongoClient``) and on the sync client (``MongoClient``) through a
small adapter that awaits what the async API returns and calls the sync API directly.
"""

"""Authentication mechanisms as pure conversations (SCRAM, X.509, PLAIN).

Each mechanism is a generator that yields the command documents to send and receives
the server's replies, so the connection shells drive it without knowing the mechanism.
"""

from driver.protocol.auth.credentials import MongoCredential

__all__ = ["MongoCredential"]

"""The pure protocol core: wire framing, handshake, authentication conversations.

Nothing here touches a socket, a thread or an event loop: functions take bytes and
values and return bytes and values, so the async and sync shells share all of it.
"""

__all__: list[str] = []

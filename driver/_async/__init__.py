"""The asyncio I/O shells; ``driver/_sync/`` holds their generated blocking twins."""

__all__: list[str] = []

"""Several mock servers (:mod:`tests.mockserver`) answering as one replica set.

Example::

    with MockReplicaSet(3) as rs:          # member 0 is primary
        rs.set_primary(2)                  # an election: member 2 wins
        rs[0].stop()                       # a member goes away
        print(rs.uri)                      # mongodb://127.0.0.1:P0,.../?replicaSet=rs0
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from driver.bson import ObjectId
from tests.mockserver import MockServer
from tests.mockserver_hello import Role, replica_set_member

__all__ = ["MockReplicaSet"]


class MockReplicaSet:
    """Several mock servers answering as one replica set; the test says who is primary.

    ``set_primary(i)`` makes member ``i`` primary (a new election: ``electionId`` goes
    up) and every other member a secondary that names it; ``set_primary(None)`` leaves
    the set without a primary. Members are :class:`MockServer` objects (``rs[1]``), so
    each can also be stopped, faulted or given any hello.
    """

    def __init__(self, members: int = 3, *, set_name: str = "rs0", primary: int | None = 0) -> None:
        self.set_name = set_name
        self.servers = [MockServer(name=f"{set_name}-{i}") for i in range(members)]
        self._primary = primary
        self._term = 0

    def start(self) -> MockReplicaSet:
        try:
            for server in self.servers:
                server.start()
        except BaseException:
            self.stop()
            raise
        self.set_primary(self._primary)
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def __enter__(self) -> MockReplicaSet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __getitem__(self, index: int) -> MockServer:
        return self.servers[index]

    def __iter__(self) -> Iterator[MockServer]:
        return iter(self.servers)

    def __len__(self) -> int:
        return len(self.servers)

    @property
    def hosts(self) -> list[str]:
        return [server.hostport for server in self.servers]

    @property
    def uri(self) -> str:
        """``mongodb://127.0.0.1:P1,127.0.0.1:P2,.../?replicaSet=NAME``."""
        return f"mongodb://{','.join(self.hosts)}/?replicaSet={self.set_name}"

    @property
    def primary(self) -> int | None:
        return self._primary

    def set_primary(self, index: int | None) -> None:
        """Hold an election: ``index`` becomes primary (None: no primary at all)."""
        self._primary = index
        self._term += 1
        hosts = self.hosts
        primary = None if index is None else hosts[index]
        election_id = ObjectId(f"7fffffff{self._term:016x}")
        for i, server in enumerate(self.servers):
            role: Role = "primary" if i == index else "secondary"
            server.set_hello(
                replica_set_member(
                    role,
                    hosts=hosts,
                    me=hosts[i],
                    primary=primary,
                    set_name=self.set_name,
                    election_id=election_id,
                )
            )

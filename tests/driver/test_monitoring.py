"""driver.monitoring: events reach the listeners of their kind, and only those."""

from __future__ import annotations

import logging

import pytest

from driver import MongoClient
from driver import monitoring as m
from driver.protocol.descriptions import ServerDescription


class Everything(m.ConnectionPoolListener, m.ServerListener, m.TopologyListener):
    """One object may listen to several kinds (as in PyMongo)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def opened(self, event: object) -> None:  # type: ignore[override]
        self.seen.append(f"opened:{type(event).__name__}")

    def pool_ready(self, event: m.PoolReadyEvent) -> None:
        self.seen.append("pool_ready")


class Beats(m.ServerHeartbeatListener):
    def __init__(self) -> None:
        self.failed_with: list[BaseException] = []

    def failed(self, event: m.ServerHeartbeatFailedEvent) -> None:
        self.failed_with.append(event.reply)


ADDRESS = ("db.example.com", 27017)


def test_each_event_goes_to_the_listeners_of_its_kind() -> None:
    everything, beats = Everything(), Beats()
    listeners = [everything, beats]
    m.publish(listeners, m.TopologyOpenedEvent(topology_id=1))
    m.publish(listeners, m.ServerOpeningEvent(ADDRESS, topology_id=1))
    m.publish(listeners, m.PoolReadyEvent(ADDRESS))
    error = ConnectionRefusedError("refused")
    m.publish(listeners, m.ServerHeartbeatFailedEvent(0.1, error, ADDRESS))
    assert everything.seen == [
        "opened:TopologyOpenedEvent",
        "opened:ServerOpeningEvent",
        "pool_ready",
    ]
    assert beats.failed_with == [error]


def test_a_listener_that_raises_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(m.ServerListener):
        def description_changed(self, event: m.ServerDescriptionChangedEvent) -> None:
            raise ValueError("oops")

    before = ServerDescription.unknown(ADDRESS)
    event = m.ServerDescriptionChangedEvent(before, before, ADDRESS, topology_id=1)
    with caplog.at_level(logging.ERROR, logger="driver.monitoring"):
        m.publish([Broken()], event)
    assert "oops" in caplog.text and "ServerDescriptionChangedEvent" in caplog.text


@pytest.mark.parametrize(
    "listener",
    [m.ServerListener(), m.TopologyListener(), m.ServerHeartbeatListener(), Everything()],
)
def test_every_listener_kind_is_accepted_by_the_client(listener: object) -> None:
    assert m.is_listener(listener)
    MongoClient("mongodb://127.0.0.1:1/", event_listeners=[listener]).close()


def test_a_non_listener_is_named_in_the_error() -> None:
    from driver.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="holds int, which is not an event listener"):
        MongoClient("mongodb://127.0.0.1:1/", event_listeners=[3])

"""api.ports: the free loopback port a service is started on (the demo, the test servers)."""

from __future__ import annotations

import socket

from api.ports import ephemeral_range, free_port, port_free


def test_a_free_preferred_port_is_kept_and_a_taken_one_replaced_outside_the_ephemeral_range() -> None:
    first = free_port()
    assert port_free(first)
    assert free_port(preferred=first) == first
    low, high = ephemeral_range()
    with socket.socket() as hog:
        hog.bind(("127.0.0.1", first))
        hog.listen()
        assert not port_free(first)
        other = free_port(preferred=first)
    assert other != first
    assert not low <= other <= high
    assert 20000 <= other < 30000

"""A free loopback port for a service this process is about to start (``make run``'s demo, the tests).

A port from ``bind(0)`` is ephemeral: between the check and the service's own bind, any outgoing
connection or any component binding port 0 may take it, and Ray opens a dozen sockets while the service
starts (CI once lost ``test_api_server`` to exactly that). Ports below the kernel's ephemeral range are
handed out only on request, so the port is drawn from 20000-29999, clear of Ray's worker ports
(10002-19999, the defaults of ``ray start --min-worker-port / --max-worker-port``) and of the ephemeral range.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LINUX_DEFAULT_EPHEMERAL = (32768, 60999)
_CANDIDATES = range(20000, 30000)
_TRIES = 200


def ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux's default where it cannot be read)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return _LINUX_DEFAULT_EPHEMERAL


def port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it is free, else a free loopback port outside the ephemeral range (the kernel's
    choice only if every candidate tried is taken)."""
    if preferred is not None and port_free(preferred):
        return preferred
    low, high = ephemeral_range()
    candidates = [p for p in _CANDIDATES if not low <= p <= high]
    for port in random.SystemRandom().sample(candidates, min(_TRIES, len(candidates))):
        if port_free(port):
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

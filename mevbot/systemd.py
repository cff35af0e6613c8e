"""What the daemon tells systemd (sd_notify) and how it pins itself to cores.

sd_notify is a datagram to $NOTIFY_SOCKET; without one (not under systemd) every call is a no-op.
"""

from __future__ import annotations

import os
import socket


def sd_notify(*states: str) -> bool:
    """Send e.g. "READY=1", "WATCHDOG=1", "STATUS=…", "STOPPING=1". Returns False when not under systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall("\n".join(states).encode())
    return True


def watchdog_interval_s() -> float | None:
    """Half of WatchdogSec (systemd's advice), or None when no watchdog is armed for this process."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


def pin_to_cores(cores: tuple[int, ...]) -> tuple[int, ...]:
    """Pin the calling thread (the event loop's) to `cores`; returns the affinity now in force.

    An empty tuple leaves the affinity alone. A core this machine lacks is an error naming it.
    """
    if cores:
        available = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
        missing = sorted(set(cores) - available)
        if missing:
            raise ValueError(f"cpu_affinity: cores {missing} do not exist here (have {sorted(available)})")
        os.sched_setaffinity(0, cores)
    return tuple(sorted(os.sched_getaffinity(0)))

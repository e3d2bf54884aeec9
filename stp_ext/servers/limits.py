"""The bounds no client may pass: how many connections, and how long a request, an idle or an unread connection lasts.

``sweep`` runs on a loop timer every ``SWEEP_S``; a connection costs no
timer of its own, so a request costs none either.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

REQUEST_TIMEOUT_S = 30.0  # from a request's first byte to its last (slowloris)
IDLE_TIMEOUT_S = 60  # an idle keep-alive connection; a client that reads none of its answers as long
SWEEP_S = 0.25  # how often the bounds are checked; also how long the loop ever sleeps (Ctrl-C on Windows)


def connection_limit() -> int:
    """As many connections as the open-file limit allows (raised to its hard limit), with room to spare.

    A slow client holds a connection: the more we can hold, the more slow
    clients it takes before anyone waits. Past the limit the server stops
    accepting (new clients queue in the backlog) instead of failing accept().
    """
    try:
        import resource  # POSIX only
    except ImportError:
        return 500  # Windows: Python's select() there watches at most 512 sockets
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 10_000 if hard == resource.RLIM_INFINITY else min(hard, 10_000)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    limit = wanted if soft == resource.RLIM_INFINITY else soft
    return max(64, min(limit, 10_000) - 100)


def sweep(connections: Iterable[Any], request_timeout: float, idle_timeout: float) -> None:
    """Close the connections past a bound, answering nothing.

    - a request not whole ``request_timeout`` after its first byte (slowloris);
    - answers left unread ``idle_timeout`` (a client that pipelines and never reads);
    - no request for ``idle_timeout`` (an idle keep-alive connection).
    """
    now = time.monotonic()
    for conn in list(connections):
        if conn.closing:
            continue
        if conn.unread_since and now - conn.unread_since > idle_timeout:
            conn.transport.abort()  # its unsent answers are dropped with it
        elif conn.busy:
            continue  # being answered: the app's own bounds apply
        elif (conn.started and now - conn.started > request_timeout) or (
            not conn.started and now - conn.last > idle_timeout
        ):
            conn.abort()

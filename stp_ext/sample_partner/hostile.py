"""Hostile peers on purpose: fault modes that misbehave below HTTP, where a WSGI answer cannot go.

``continue_flood`` answers ``HTTP/1.1 100 Continue`` every 2 s and never a
final answer; ``header_drip`` sends its status line and headers a byte at a
time and never finishes them. Each keeps a client waiting for as long as it
is willing to wait, which is what a client's total time budget is for (see
``connect-test --timeout``). Both apply to POST .../connect requests that
carry the right credential, like the other connect faults.

``hang`` (no answer at all) and ``drip`` (a whole header, then an OAuth token
answer a byte every 0.2 s) apply to every request, on any path, whatever its
credential: point a client's OAuth token endpoint, or its workspace host, at
the sample partner to test its time bounds.

All stop when the server stops, and after ten minutes at most. They write the
wire through ``serving.raw_response``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

HOSTILE_FAULTS = ("continue_flood", "header_drip")  # POST .../connect with the right credential
ANY_PATH_FAULTS = ("hang", "drip")  # every request
FLOOD_EVERY_SECONDS = 2.0
DRIP_EVERY_SECONDS = 0.2
GIVE_UP_SECONDS = 600.0  # even a hostile test double ends some day
_DRIP = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Drip: " + b"." * 100_000
# What "drip" sends: what a token endpoint owes, its header at once, its body a byte at a time.
DRIPPED_TOKEN = b'{"access_token": "dripped-token", "token_type": "Bearer", "expires_in": 3600}'
_TOKEN_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(DRIPPED_TOKEN)


def hostile_bytes(fault: str, stopping: threading.Event) -> Iterator[bytes]:
    """What ``fault`` sends, chunk by chunk, pausing between chunks until the server stops."""
    if fault == "hang":
        stopping.wait(GIVE_UP_SECONDS)
        return
    if fault == "drip":
        yield _TOKEN_HEAD
        for index in range(len(DRIPPED_TOKEN)):
            if stopping.wait(DRIP_EVERY_SECONDS):
                return
            yield DRIPPED_TOKEN[index : index + 1]
        return
    if fault == "continue_flood":
        for _ in range(int(GIVE_UP_SECONDS / FLOOD_EVERY_SECONDS)):
            yield b"HTTP/1.1 100 Continue\r\n\r\n"
            if stopping.wait(FLOOD_EVERY_SECONDS):
                return
        return
    for index in range(min(len(_DRIP), int(GIVE_UP_SECONDS / DRIP_EVERY_SECONDS))):
        yield _DRIP[index : index + 1]
        if stopping.wait(DRIP_EVERY_SECONDS):
            return

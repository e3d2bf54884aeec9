"""Hostile peers on purpose: fault modes that misbehave below HTTP, where WSGI cannot reach.

``continue_flood`` answers ``HTTP/1.1 100 Continue`` every 2 s and never a
final answer; ``header_drip`` sends its status line and headers a byte at a
time and never finishes them. Each keeps a client waiting for as long as it
is willing to wait, which is what a client's total time budget is for (see
``connect-test --timeout``). Both apply to POST .../connect requests that
carry the right credential, like the other connect faults, and stop when the
server stops.
"""

from __future__ import annotations

import contextlib
import hmac
import threading
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from stp_ext.serving import QuietHandler

if TYPE_CHECKING:
    from stp_ext.sample_partner.app import SamplePartnerApp

HOSTILE_FAULTS = ("continue_flood", "header_drip")
FLOOD_EVERY_SECONDS = 2.0
DRIP_EVERY_SECONDS = 0.2
GIVE_UP_SECONDS = 600.0  # even a hostile test double ends some day
_DRIP = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Drip: " + b"." * 100_000


def handler_for(app: SamplePartnerApp, stopping: threading.Event) -> type[QuietHandler]:
    """A request handler that plays the hostile faults and hands every other request to ``app``."""

    class HostileHandler(QuietHandler):
        def run_wsgi(self) -> None:
            fault = _fault_of(self.path, app.fault)
            is_connect = self.command == "POST" and urlsplit(self.path).path.endswith("/connect")
            # Like the other connect faults, only for requests that pass the credential check.
            given = self.headers.get("Authorization", "").encode("utf-8")
            authorized = not app.auth_header or hmac.compare_digest(given, app.auth_header.encode("utf-8"))
            if fault in HOSTILE_FAULTS and is_connect and authorized:
                self.close_connection = True
                if app.log is not None:
                    app.log(f"{self.command} {urlsplit(self.path).path} -> (no answer) [fault {fault}]")
                # OSError: the client gave up, which is the point.
                with contextlib.suppress(OSError):
                    _flood(self, stopping) if fault == "continue_flood" else _drip(self, stopping)
                return
            super().run_wsgi()

    return HostileHandler


def _fault_of(path: str, default: str | None) -> str | None:
    asked = parse_qs(urlsplit(path).query).get("fault", [None])[0]
    return asked if asked in HOSTILE_FAULTS else default


def _flood(handler: QuietHandler, stopping: threading.Event) -> None:
    for _ in range(int(GIVE_UP_SECONDS / FLOOD_EVERY_SECONDS)):
        handler.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        handler.wfile.flush()
        if stopping.wait(FLOOD_EVERY_SECONDS):
            return


def _drip(handler: QuietHandler, stopping: threading.Event) -> None:
    for index in range(min(len(_DRIP), int(GIVE_UP_SECONDS / DRIP_EVERY_SECONDS))):
        handler.wfile.write(_DRIP[index : index + 1])
        handler.wfile.flush()
        if stopping.wait(DRIP_EVERY_SECONDS):
            return

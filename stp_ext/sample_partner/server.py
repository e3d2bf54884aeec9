"""Serve the sample partner over HTTP: in a background thread (tests, demo) or in the foreground.

``SamplePartner(port=0).start()`` binds a free port, so tests never collide;
``.url`` is then the base URL to put in front of ``/connect``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from stp_ext.sample_partner.app import LogFunction, SamplePartnerApp, framing_error
from stp_ext.sample_partner.faults import check_fault
from stp_ext.servers.hosted import Hosted
from stp_ext.servers.serving import LocalServer


class SamplePartner(Hosted):
    """The reference Partner Connect endpoint on a real socket.

    ``auth_header``: the exact Authorization value to accept ("" accepts any
    request, as a partner that asked for no header). ``hostnames``: where
    redirect_uri points (a comma-separated string or a list); by default this
    server itself. ``fault``: a name from ``faults.FAULT_NAMES``.
    ``new_user_action``: how a never-seen user of a known account is handled
    (auto_add, invite, not_found or error, as the partner declares it).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        auth_header: str = "",
        hostnames: str | Iterable[str] | None = None,
        fault: str | None = None,
        *,
        new_user_action: str = "auto_add",
        slow_seconds: float = 30.0,
        log: LogFunction | None = None,
    ) -> None:
        if isinstance(hostnames, str):
            hostnames = hostnames.split(",")
        self.host = host
        self.requested_port = port
        self._stopping = threading.Event()
        self.app = SamplePartnerApp(
            auth_header=auth_header,
            hostnames=hostnames,
            fault=check_fault(fault),
            new_user_action=new_user_action,
            slow_seconds=slow_seconds,
            stopping=self._stopping,
            log=log,
        )
        self._server = LocalServer(self.app, host, port, error_document=framing_error)

    @property
    def state(self) -> Any:
        return self.app.state

    def serve_forever(self) -> None:
        try:
            super().serve_forever()
        finally:
            self._stopping.set()

    def stop(self) -> None:
        self._stopping.set()  # wakes requests sleeping in the slow fault
        super().stop()

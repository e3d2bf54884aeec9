"""The emulator on a socket: ``Emulator(port=0).start()`` in tests and `demo`, foreground in the CLI."""

from __future__ import annotations

import os

from stp_ext.emulator.app import CALLS_OUT, REQUEST_LOG_BYTES, REQUEST_LOG_SIZE, EmulatorApp, RequestRecord
from stp_ext.emulator.faults import Faults
from stp_ext.emulator.http import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN
from stp_ext.emulator.oauth import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TOKEN_TTL_S, OAuthServer
from stp_ext.emulator.state import Store
from stp_ext.servers.hosted import Hosted
from stp_ext.servers.serving import LocalServer


class Emulator(Hosted):
    """A local Databricks workspace: self-testing partners, Secrets API 2.0, SCIM Me.

    ``state_path``: a SQLite file that keeps everything across restarts; None
    keeps it in memory. The state is opened here, so a bad file fails before
    anything listens. ``request_log_size``: how many of the newest requests
    ``request_log`` keeps (older ones are counted in ``dropped_requests``),
    ``request_log_bytes`` about how many bytes they may weigh (a path is kept to
    its first 1,024 characters).
    ``client_id``/``client_secret``: the service principal (an admin) that
    OAuth M2M clients authenticate as; its access tokens last ``oauth_token_ttl_s``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_path: str | os.PathLike[str] | None = None,
        admin_token: str = DEFAULT_ADMIN_TOKEN,
        user_token: str = DEFAULT_USER_TOKEN,
        request_log_size: int = REQUEST_LOG_SIZE,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        oauth_token_ttl_s: float = TOKEN_TTL_S,
        request_log_bytes: int = REQUEST_LOG_BYTES,
    ) -> None:
        if not admin_token or not user_token or admin_token == user_token:
            raise ValueError("the admin and user tokens must be non-empty and different")
        if client_secret in (admin_token, user_token):
            raise ValueError("the OAuth client secret must differ from the tokens")
        self.admin_token = admin_token
        self.user_token = user_token
        self.oauth = OAuthServer(client_id, client_secret, oauth_token_ttl_s)
        self.store = Store(state_path)  # last: a refused argument leaves no file open
        self.app = EmulatorApp(
            self.store,
            admin_token,
            user_token,
            log_size=request_log_size,
            oauth=self.oauth,
            log_bytes=request_log_bytes,
        )
        # With no fault armed every answer is quick: the server then answers in its I/O thread.
        # Latency faults wait on the server's timer, not in a worker thread (hold).
        self._server = LocalServer(
            self.app,
            host,
            port,
            run_inline=self.app.answers_quickly,
            never_inline=CALLS_OUT,
            hold=self.app.hold,
            grouped=self.app.writes_durably,
            group=self.store.group,
        )

    @property
    def client_id(self) -> str:
        return self.oauth.client_id

    @property
    def client_secret(self) -> str:
        return self.oauth.client_secret

    @property
    def faults(self) -> Faults:
        return self.app.faults

    @property
    def request_log(self) -> list[RequestRecord]:
        return self.app.request_log

    @property
    def dropped_requests(self) -> int:
        """Requests no longer in ``request_log``: it keeps the newest ``request_log_size``."""
        return self.app.dropped_requests

    def clear_log(self) -> None:
        self.app.clear_log()

    def stop(self) -> None:
        super().stop()
        self.store.close()

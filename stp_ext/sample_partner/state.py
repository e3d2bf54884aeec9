"""The sample partner's memory: accounts by e-mail, connections by id.

In memory on purpose: the sample partner is a reference and a test double,
and a restart that forgets everything is what tests want. One lock guards
everything, because requests arrive on many threads and a connect touches
accounts and connections together.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass


@dataclass
class Account:
    email: str
    status: str = "active"  # active | expired, as the connect answer reports it


@dataclass(frozen=True)
class Connection:
    connection_id: str
    email: str
    workspace_id: int


@dataclass(frozen=True)
class ConnectOutcome:
    """What a new-connection request did to the state."""

    new_account: bool
    connection_id: str | None


class PartnerState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accounts: dict[str, Account] = {}
        self.connections: dict[str, Connection] = {}
        self._by_user: dict[tuple[str, int], str] = {}  # (email, workspace id) -> connection id
        self._seen: set[str] = set()  # request fingerprints, for the not_idempotent fault

    def connect(self, email: str, workspace_id: int, *, configure: bool) -> ConnectOutcome:
        """Find or create the account and, when resources come along, the connection.

        Idempotent: the same user in the same workspace gets the same
        connection back, so a request Databricks retries after a 500 is safe.
        """
        key = email.lower()
        with self._lock:
            account = self.accounts.get(key)
            new_account = account is None
            if account is None:
                self.accounts[key] = Account(email=email)
            connection_id = None
            if configure:
                connection_id = self._by_user.get((key, workspace_id))
                if connection_id is None:
                    connection_id = str(uuid.uuid4())
                    self._by_user[(key, workspace_id)] = connection_id
                    self.connections[connection_id] = Connection(connection_id, email, workspace_id)
            return ConnectOutcome(new_account, connection_id)

    def connection(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self.connections.get(connection_id)

    def account(self, email: str) -> Account | None:
        with self._lock:
            return self.accounts.get(email.lower())

    def delete_connection(self, connection_id: str) -> bool:
        with self._lock:
            connection = self.connections.pop(connection_id, None)
            if connection is None:
                return False
            self._by_user.pop((connection.email.lower(), connection.workspace_id), None)
            return True

    def seen_before(self, body: bytes) -> bool:
        """Remember ``body``; True when the identical body came before."""
        fingerprint = hashlib.sha256(body).hexdigest()
        with self._lock:
            if fingerprint in self._seen:
                return True
            self._seen.add(fingerprint)
            return False

"""The sample partner's memory: accounts by e-mail domain, their users, and connections.

The data model of the Partner Connect API (ApiSpecifications.md): an account
is a company, recognised by the e-mail domain; it has users; a connection is
one Databricks workspace's link into an account. Every new-connection request
creates a new connection, even for a user and workspace seen before: the
request says Databricks has no connection (it was deleted on its side, or this
is a retry), so the partner configures a new, separate one.

In memory on purpose: the sample partner is a reference and a test double,
and a restart that forgets everything is what tests want. One lock guards
everything, because requests arrive on many threads and a connect touches
accounts and connections together.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from dataclasses import dataclass, field

# The domains the test-only operations (delete-account, expire-account) may touch.
TEST_DOMAINS = ("databricks-test.com", "databricks-demo.com")


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def is_test_domain(domain: str) -> bool:
    domain = domain.lower()
    return any(domain == d or domain.endswith("." + d) for d in TEST_DOMAINS)


@dataclass
class Account:
    domain: str
    users: set[str] = field(default_factory=set)  # lower-cased e-mails
    expired: bool = False

    @property
    def status(self) -> str:
        return "expired" if self.expired else "active"


@dataclass(frozen=True)
class Connection:
    connection_id: str
    domain: str
    email: str
    workspace_id: int


@dataclass(frozen=True)
class NewConnection:
    """What a new-connection request did to the state."""

    new_account: bool
    new_user: bool
    account_status: str  # the account's status before this request: new, active or expired
    connection_id: str | None


class PartnerState:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accounts: dict[str, Account] = {}  # by domain
        self.connections: dict[str, Connection] = {}
        self.deleted: set[str] = set()  # ids of deleted connections (for fault modes)
        self._seen: set[str] = set()  # request fingerprints, for the not_idempotent fault
        self._deleted_pairs: set[tuple[str, int]] = set()  # (e-mail, workspace) of deleted connections

    def new_connection(self, email: str, workspace_id: int, *, configure: bool) -> NewConnection:
        """Find or create the account and user; create a connection when resources came along."""
        key, domain = email.lower(), domain_of(email)
        with self._lock:
            account = self.accounts.get(domain)
            new_account = account is None
            if account is None:
                account = self.accounts[domain] = Account(domain)
            status = "new" if new_account else account.status
            new_user = key not in account.users
            account.users.add(key)
            connection_id = None
            if configure and not account.expired:
                connection_id = str(uuid.uuid4())
                self.connections[connection_id] = Connection(connection_id, domain, key, workspace_id)
            return NewConnection(new_account, new_user, status, connection_id)

    def start_demo(self, email: str) -> None:
        """A demo starts over: the account and user are new again (ApiSpecifications.md, demo flag)."""
        with self._lock:
            account = self.accounts.setdefault(domain_of(email), Account(domain_of(email)))
            account.expired = False
            account.users.add(email.lower())

    def connection(self, connection_id: str) -> Connection | None:
        with self._lock:
            return self.connections.get(connection_id)

    def account(self, domain: str) -> Account | None:
        with self._lock:
            return self.accounts.get(domain.lower())

    def has_connection(self, email: str, workspace_id: int) -> bool:
        """Whether this user already has a connection from another workspace."""
        key = email.lower()
        with self._lock:
            return any(c.email == key and c.workspace_id != workspace_id for c in self.connections.values())

    def add_user(self, domain: str, email: str) -> bool:
        """Add ``email`` to the account; True when it was not a member before."""
        with self._lock:
            account = self.accounts.get(domain.lower())
            if account is None:
                return False
            before = len(account.users)
            account.users.add(email.lower())
            return len(account.users) > before

    def is_member(self, domain: str, email: str) -> bool:
        with self._lock:
            account = self.accounts.get(domain.lower())
            return account is not None and email.lower() in account.users

    def delete_connection(self, connection_id: str) -> bool:
        """Delete a connection; False when there is none with this id."""
        with self._lock:
            connection = self.connections.pop(connection_id, None)
            if connection is None:
                return False
            self.deleted.add(connection_id)
            self._deleted_pairs.add((connection.email, connection.workspace_id))
            return True

    def was_deleted(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self.deleted

    def deleted_for(self, email: str, workspace_id: int) -> bool:
        """Whether a connection of this user and workspace was deleted before (for a fault mode)."""
        with self._lock:
            return (email.lower(), workspace_id) in self._deleted_pairs

    def delete_account(self, domain: str) -> bool:
        """Remove the account, its users and its connections; False when there was none."""
        domain = domain.lower()
        with self._lock:
            if self.accounts.pop(domain, None) is None:
                return False
            for connection_id in [i for i, c in self.connections.items() if c.domain == domain]:
                del self.connections[connection_id]
            return True

    def expire_account(self, email: str) -> bool:
        """Mark the user's account expired; False when the partner does not know the user."""
        with self._lock:
            account = self.accounts.get(domain_of(email))
            if account is None or email.lower() not in account.users:
                return False
            account.expired = True
            return True

    def seen_before(self, body: bytes) -> bool:
        """Remember ``body``; True when the identical body came before."""
        fingerprint = hashlib.sha256(body).hexdigest()
        with self._lock:
            if fingerprint in self._seen:
                return True
            self._seen.add(fingerprint)
            return False

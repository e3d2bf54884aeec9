"""What a correct partner answers to POST /connect, decided from the request and its memory.

The rules are those of ApiSpecifications.md ("Example partner scenarios", "A
note on established connections", "Demo boolean flag") and of the reference
partner in databrickslabs/partner-connect-api:

- A new-connection request (``is_connection_established`` false) always
  configures a new connection: a brand-new account starts a trial
  (``create_trial``, user and account ``new``); a known account signs in; an
  expired account is offered the product (``purchase_product``) and nothing
  is configured.
- ``demo: true`` always leads to a new trial: ``create_trial`` with user and
  account ``new``, even for a user, account and workspace seen before.
- Reusing a connection (``is_connection_established`` true): an unknown
  connection is 404 ``connection_not_found``; a member of the account signs
  in; a user the account has never seen is handled as the partner's
  ``new_user_action`` says (auto_add, invite, not_found, error).

Each function returns ``(status, body)``; faults that change a decision are
applied here, where the decision is made, so the correct path stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stp_ext.sample_partner.state import PartnerState

# Redirect pages, one per redirect_value (ApiSpecifications.md "Redirect URL explanation").
PAGES = {
    "create_trial": "create-trial",
    "sign_in": "sign-in",
    "contact_admin": "contact-your-admin",
    "purchase_product": "purchase-product",
}

Answer = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Flow:
    state: PartnerState
    base: str  # where redirect pages live, e.g. https://partner.example.com
    new_user_action: str = "auto_add"
    fault: str | None = None

    def connection(
        self, redirect_value: str, user_status: str, account_status: str, configured: bool, connection_id: str | None
    ) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "redirect_uri": f"{self.base}/{PAGES[redirect_value]}",
            "redirect_value": redirect_value,
            "user_status": user_status,
            "account_status": account_status,
            "configured_resources": configured,
        }
        if connection_id is not None:
            answer["connection_id"] = connection_id
        return answer

    # -- is_connection_established false -----------------------------------

    def new_connection(self, doc: dict[str, Any]) -> Answer:
        email, workspace_id = doc["user_info"]["email"], doc["workspace_id"]
        if self.fault == "not_idempotent" and doc.get("_seen_before"):
            return 500, _error("general_error", "this request was seen before (fault not_idempotent)")
        if self.fault == "no_recreate_after_delete" and self.state.deleted_for(email, workspace_id):
            return 500, _error("general_error", "a connection existed here before (fault no_recreate_after_delete)")
        if self.fault == "second_workspace_refused" and self.state.has_connection(email, workspace_id):
            return 500, _error("general_error", "this user is connected elsewhere (fault second_workspace_refused)")
        demo = doc["demo"] and self.fault != "demo_ignored"
        if demo:
            self.state.start_demo(email)
        outcome = self.state.new_connection(email, workspace_id, configure=self.fault != "configures_nothing")
        configured = outcome.connection_id is not None
        if demo:
            return 200, self.connection("create_trial", "new", "new", configured, outcome.connection_id)
        if outcome.account_status == "expired":
            user = "new" if outcome.new_user else "existing"
            return 200, self.connection("purchase_product", user, "expired", False, None)
        if outcome.new_account:
            value = "sign_in" if self.fault == "new_account_sign_in" else "create_trial"
            return 200, self.connection(value, "new", "new", configured, outcome.connection_id)
        user = "new" if outcome.new_user else "existing"
        return 200, self.connection("sign_in", user, "active", configured, outcome.connection_id)

    # -- is_connection_established true ------------------------------------

    def reuse(self, doc: dict[str, Any]) -> Answer:
        email = doc["user_info"]["email"]
        connection_id = doc["connection_id"]
        connection = self.state.connection(connection_id)
        if connection is None:
            if self.fault == "unknown_connection_ok":
                return 200, self.connection("sign_in", "existing", "active", False, None)
            return 404, _error(
                "connection_not_found",
                f"no connection {connection_id}",
                display="This connection no longer exists. Delete it in Partner Connect and connect again.",
            )
        account = self.state.account(connection.domain)
        if account is None:  # cannot happen: deleting an account deletes its connections
            return 500, _error("general_error", f"no account for connection {connection_id}")
        value = "purchase_product" if account.expired else "sign_in"
        if doc["demo"] and self.fault != "demo_ignored":
            value = "create_trial"
        if self.state.is_member(connection.domain, email):
            return 200, self.connection(value, "existing", account.status, False, None)
        return self._new_user(connection.domain, email, value, account.status)

    def _new_user(self, domain: str, email: str, value: str, account_status: str) -> Answer:
        """A user the account has never seen reuses a connection: the partner's new_user_action."""
        action = self.new_user_action
        if action == "auto_add":
            self.state.add_user(domain, email)
            user = "existing" if self.fault == "new_user_existing" else "new"
            return 200, self.connection(value, user, account_status, False, None)
        if action == "invite":
            redirect = value if value == "purchase_product" else "contact_admin"
            user = "existing" if self.fault == "new_user_existing" else "not_applicable"
            return 200, self.connection(redirect, user, account_status, False, None)
        if action == "not_found":
            return 404, _error(
                "account_not_found",
                f"{email} is not a user of this account",
                display="Ask your administrator to invite you.",
            )
        return 500, _error("general_error", "new users cannot be added to an existing account")


def _error(reason: str, debugging: str, *, display: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error_reason": reason, "debugging_message": debugging}
    if display:
        body["display_message"] = display
    return body

"""The self-testing partner service: the four partnerhub endpoints (create, get, update, delete)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stp_ext.core.errors import NotFoundError, StpError, WorkspaceError

if TYPE_CHECKING:
    from stp_ext.workspace.client import Workspace

BASE_PATH = "/api/2.0/partnerhub/self-test-partners"


@dataclass(frozen=True)
class Partner:
    id: str
    name: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NoActivePartner(StpError):
    def __init__(self) -> None:
        super().__init__(
            "no active self-testing partner in this workspace",
            hint="Create one with: databricks-stp create -f partner.json",
        )


class PartnerService:
    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    def list(self) -> list[Partner]:
        # With no active partner the body is {} (no "partners" key).
        answer = self._ws.read("GET", f"{BASE_PATH}/get")
        # A wrong shape (a string `partners`, a null id) is one clear error, never an id made up from it.
        return [
            Partner(id=p.text("id", required=True) or "", name=p.text("name") or "") for p in answer.objects("partners")
        ]

    def active(self) -> Partner:
        partners = self.list()
        if not partners:
            raise NoActivePartner()
        return partners[0]

    def create(self, request_body: dict[str, Any]) -> Partner:
        body = self._ws.do("POST", f"{BASE_PATH}/create", body=request_body)
        partner_id = body.get("id")
        if not isinstance(partner_id, str) or not partner_id:
            raise WorkspaceError(f"the workspace created a partner but answered without its id: {body!r}")
        return Partner(id=partner_id, name=str(request_body.get("partner", {}).get("name", "")))

    def update(self, partner_id: str, request_body: dict[str, Any]) -> None:
        try:
            self._ws.do("PUT", f"{BASE_PATH}/update/{partner_id}", body=request_body)
        except NotFoundError as e:
            e.hint = "Run `databricks-stp get` to see the active partner's id, or leave out --id."
            raise

    def delete(self, partner_id: str) -> None:
        try:
            self._ws.do("DELETE", f"{BASE_PATH}/delete/{partner_id}")
        except NotFoundError as e:
            e.hint = "Run `databricks-stp get` to see the active partner's id, or leave out --id."
            raise

"""A raw HTTP client for the emulator tests: http.client and sockets, nothing of ours.

The emulator is checked the way any client sees it, so these helpers do no
more than send bytes and hand back status, headers and body.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from helpers import example_partner

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_USER_TOKEN

PARTNERS = "/api/2.0/partnerhub/self-test-partners"
SECRETS = "/api/2.0/secrets"
ADMIN_TOKEN = DEFAULT_ADMIN_TOKEN
USER_TOKEN = DEFAULT_USER_TOKEN
_NO_BODY = object()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        return self.json().get("error_code")

    @property
    def message(self) -> str:
        return str(self.json().get("message", ""))


class RawClient:
    """One request per connection, a bearer token by default (``token=None`` sends none)."""

    def __init__(self, port: int, token: str | None = ADMIN_TOKEN, timeout: float = 10) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout

    def as_token(self, token: str | None) -> RawClient:
        return RawClient(self.port, token, self.timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = _NO_BODY,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """``body``: a dict/list is sent as JSON, str/bytes as they are."""
        sent_headers = {"Authorization": f"Bearer {self.token}"} if self.token is not None else {}
        payload: bytes | None = None
        if body is not _NO_BODY:
            payload = body.encode() if isinstance(body, str) else body if isinstance(body, bytes) else None
            if payload is None:
                payload = json.dumps(body).encode()
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        target = f"{path}?{urlencode(query)}" if query else path
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, target, body=payload, headers=sent_headers)
            response = conn.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path: str, **query: str) -> Reply:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any = _NO_BODY) -> Reply:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any = _NO_BODY) -> Reply:
        return self.request("PUT", path, body)

    def delete(self, path: str) -> Reply:
        return self.request("DELETE", path)

    # -- Secrets API shortcuts, for setting up and checking state --------------------

    def create_scope(self, scope: str, **fields: str) -> Reply:
        return self.post(f"{SECRETS}/scopes/create", {"scope": scope, **fields})

    def scope_names(self) -> list[str]:
        reply = self.get(f"{SECRETS}/scopes/list")
        assert reply.status == 200, reply.body
        return [s["name"] for s in reply.json().get("scopes", [])]

    def put_secret(self, scope: str, key: str, value: str) -> Reply:
        return self.post(f"{SECRETS}/put", {"scope": scope, "key": key, "string_value": value})

    def secret_value(self, scope: str, key: str) -> bytes:
        reply = self.get(f"{SECRETS}/get", scope=scope, key=key)
        assert reply.status == 200, reply.body
        return base64.b64decode(reply.json()["value"])

    def secret_keys(self, scope: str) -> list[str]:
        reply = self.get(f"{SECRETS}/list", scope=scope)
        assert reply.status == 200, reply.body
        return [s["key"] for s in reply.json().get("secrets", [])]

    def put_acl(self, scope: str, principal: str, permission: str) -> Reply:
        return self.post(f"{SECRETS}/acls/put", {"scope": scope, "principal": principal, "permission": permission})

    def acls(self, scope: str) -> dict[str, str]:
        reply = self.get(f"{SECRETS}/acls/list", scope=scope)
        assert reply.status == 200, reply.body
        return {item["principal"]: item["permission"] for item in reply.json().get("items", [])}

    def partners(self) -> list[dict[str, Any]]:
        reply = self.get(f"{PARTNERS}/get")
        assert reply.status == 200, reply.body
        return list(reply.json().get("partners", []))


class RunningEmulator:
    """``databricks-stp emulator --port 0 -o json ...`` in a child process, as a user runs it.

    It prints one JSON document ("host" first), then serves until stopped.
    """

    def __init__(self, *flags: str) -> None:
        argv = [sys.executable, "-m", "stp_ext", "emulator", "--port", "0", "-o", "json", *flags]
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Never hang the suite on a server that does not start.
        self._watchdog = threading.Timer(20, self.process.kill)
        self._watchdog.start()
        assert self.process.stdout is not None
        text = ""
        while True:
            line = self.process.stdout.readline()
            if not line:
                _, err = self.process.communicate()
                raise AssertionError(f"the emulator exited with {self.process.returncode}: {err}")
            text += line
            try:
                self.info = json.loads(text)
                break
            except json.JSONDecodeError:
                continue
        self._watchdog.cancel()
        assert next(iter(self.info)) == "host"
        self.port = int(self.info["host"].rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to close or flush anything."""
        self.process.kill()
        self.stop()

    def stop(self) -> None:
        self._watchdog.cancel()
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return the server's answer: up to the end of one response, or until it closes.

    The servers keep HTTP/1.1 connections open, so a response ends at its
    Content-Length; without one, at the close.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            head, found, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head) if found else None
            if length is not None and len(body) >= int(length.group(1)):
                break
    return received


def partner_body(**overrides: Any) -> dict[str, Any]:
    """A valid partner config (examples/partner.json, the contract's own example), with fields overridden."""
    partner: dict[str, Any] = example_partner()
    partner.update(overrides)
    return {"partner": partner}

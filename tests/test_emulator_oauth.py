"""OAuth M2M against the emulator, and every local auth path the README promises, end to end.

The endpoints are checked raw (http.client); the auth paths through the CLI,
databricks-sdk and real HTTP: create, get and delete a partner with a PAT
profile, with DATABRICKS_HOST/DATABRICKS_TOKEN, with an OAuth M2M profile,
with M2M variables for the SDK's unified auth, from DATABRICKS_CONFIG_FILE.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from emulator_client import RawClient

from stp_ext.emulator import DEFAULT_ADMIN_TOKEN, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator

ME = "/api/2.0/preview/scim/v2/Me"
TOKEN_PATH = "/oidc/v1/token"


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def ask_token(port: int, form: dict[str, str], authorization: str | None = None) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization:
        headers["Authorization"] = authorization
    reply = RawClient(port, token=None).request("POST", TOKEN_PATH, urlencode(form), headers=headers)
    return reply.status, reply.json()


# -- the endpoints -----------------------------------------------------------------------------------


def test_discovery_names_the_token_endpoint_on_this_server(emulator: Emulator) -> None:
    meta = RawClient(emulator.port, token=None).get("/.well-known/databricks-config").json()
    assert meta["oidc_endpoint"] == f"{emulator.url}/oidc"
    doc = RawClient(emulator.port, token=None).get("/oidc/.well-known/oauth-authorization-server").json()
    assert doc["token_endpoint"] == f"{emulator.url}{TOKEN_PATH}"
    assert "client_credentials" in doc["grant_types_supported"]


def test_client_credentials_give_an_admin_token(emulator: Emulator) -> None:
    status, doc = ask_token(
        emulator.port,
        {"grant_type": "client_credentials", "scope": "all-apis"},
        basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert status == 200 and doc["token_type"] == "Bearer" and doc["expires_in"] == 3600
    me = RawClient(emulator.port, token=doc["access_token"]).get(ME)
    assert me.status == 200 and me.json()["userName"] == DEFAULT_CLIENT_ID
    assert {g["display"] for g in me.json()["groups"]} == {"admins", "users"}
    # client_secret_post works too
    status, _ = ask_token(
        emulator.port,
        {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET},
    )
    assert status == 200


@pytest.mark.parametrize(
    ("form", "authorization", "status", "error"),
    [
        ({"grant_type": "client_credentials"}, basic(DEFAULT_CLIENT_ID, "wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, basic("someone-else", DEFAULT_CLIENT_SECRET), 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "Basic %%%not-base64", 401, "invalid_client"),
        ({"grant_type": "password"}, basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), 400, "unsupported_grant_type"),
    ],
)
def test_bad_token_requests_get_oauth_errors(
    emulator: Emulator, form: dict[str, str], authorization: str | None, status: int, error: str
) -> None:
    got_status, doc = ask_token(emulator.port, form, authorization)
    assert (got_status, doc["error"]) == (status, error)
    assert DEFAULT_CLIENT_SECRET not in json.dumps(doc)


def test_tokens_expire() -> None:
    with Emulator(oauth_token_ttl_s=0.5) as emu:
        _, doc = ask_token(
            emu.port, {"grant_type": "client_credentials"}, basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        )
        assert doc["expires_in"] == 0  # whole seconds, as the field is defined
        client = RawClient(emu.port, token=doc["access_token"])
        assert client.get(ME).status == 200
        time.sleep(0.7)
        assert client.get(ME).status == 403  # expired: refused like any invalid token


def test_the_client_secret_stays_out_of_the_request_log(emulator: Emulator) -> None:
    ask_token(emulator.port, {"grant_type": "client_credentials"}, basic(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
    ask_token(emulator.port, {"grant_type": "client_credentials", "client_secret": DEFAULT_CLIENT_SECRET})
    log = RawClient(emulator.port).get("/_emulator/requests").body.decode()
    assert TOKEN_PATH in log and DEFAULT_CLIENT_SECRET not in log


# -- every auth path, end to end through the CLI ---------------------------------------------------


def lifecycle(run: Any, partner: Path, *auth: str) -> None:
    """create, get, delete with the given auth options: each must work and agree."""
    created = run("create", "-f", str(partner), *auth, "--no-secret", "-o", "json")
    assert created.exit_code == 0, created.stderr
    partner_id = json.loads(created.stdout)["id"]
    listed = run("get", *auth, "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [p["id"] for p in json.loads(listed.stdout)["partners"]] == [partner_id]
    deleted = run("delete", *auth, "--yes", "-o", "json")
    assert deleted.exit_code == 0, deleted.stderr
    assert json.loads(deleted.stdout)["id"] == partner_id
    for result in (created, listed, deleted):
        assert DEFAULT_CLIENT_SECRET not in result.stdout + result.stderr


def printed_profiles(emulator_argv: list[str]) -> tuple[str, subprocess.Popen[str]]:
    """Run `databricks-stp emulator` as a user does; return the profile snippet it prints, from the blank line on."""
    process = subprocess.Popen(emulator_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(20, process.kill)
    watchdog.start()
    assert process.stdout is not None
    lines: list[str] = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("client_secret"):
                break
    finally:
        watchdog.cancel()
    intro = next(i for i, line in enumerate(lines) if line.startswith("Profiles to append"))
    start = next(i for i in range(intro, len(lines)) if lines[i] == "\n")  # the intro may fill two lines
    return "".join(lines[start:]), process


@pytest.mark.slow
def test_every_printed_profile_works_when_appended_to_an_existing_file(
    tmp_path: Path, run: Any, partner_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snippet pasted after a profile whose last line has no line break: every profile still works."""
    argv = [sys.executable, "-m", "stp_ext", "emulator", "--port", "0"]
    snippet, process = printed_profiles(argv)
    try:
        assert snippet.startswith("\n[emu]\n")
        home = Path(os.environ["HOME"])
        config = home / ".databrickscfg"
        config.write_text("[mine]\nhost = https://example.invalid\ntoken = dapi-mine")  # no final line break
        with config.open("a") as f:
            f.write(snippet)
        config.chmod(0o600)
        import configparser

        parser = configparser.ConfigParser()
        parser.read(config)
        assert parser["mine"]["token"] == "dapi-mine"  # the existing profile is intact
        partner = partner_file()
        for profile in ("emu", "emu-m2m"):  # ~/.databrickscfg, no DATABRICKS_CONFIG_FILE
            lifecycle(run, partner, "-p", profile)
        user = run("get", "-p", "emu-user", "-o", "json")
        assert user.exit_code == 1 and "admin" in user.stderr.lower()  # a real non-admin, refused by the rules
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "Traceback" not in err


def test_pat_profile_from_databricks_config_file(workspace: Any, run: Any, partner_file: Any) -> None:
    lifecycle(run, partner_file(), "-p", "emu")
    assert workspace.config_file != Path(os.environ["HOME"]) / ".databrickscfg"


def test_pat_from_environment_variables(env_auth: Emulator, run: Any, partner_file: Any) -> None:
    lifecycle(run, partner_file(), "-e")


def test_m2m_profile_from_databricks_config_file(
    emulator: Emulator, tmp_path: Path, run: Any, partner_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "elsewhere.cfg"
    config.write_text(
        f"[emu-m2m]\nhost = {emulator.url}\nauth_type = oauth-m2m\n"
        f"client_id = {DEFAULT_CLIENT_ID}\nclient_secret = {DEFAULT_CLIENT_SECRET}\n"
    )
    config.chmod(0o600)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    lifecycle(run, partner_file(), "-p", "emu-m2m")
    paths = [(r.method, r.path, r.status) for r in emulator.request_log]
    assert ("POST", TOKEN_PATH, 200) in paths  # it really went through OAuth
    assert not any(DEFAULT_ADMIN_TOKEN in str(p) for p in paths)


def test_m2m_from_environment_variables_with_unified_auth(
    emulator: Emulator, run: Any, partner_file: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", DEFAULT_CLIENT_SECRET)
    lifecycle(run, partner_file())
    assert ("POST", TOKEN_PATH, 200) in [(r.method, r.path, r.status) for r in emulator.request_log]


def test_a_wrong_client_secret_is_one_error_line(emulator: Emulator, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_HOST", emulator.url)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", DEFAULT_CLIENT_ID)
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", "not-the-secret")
    result = run("get", "-o", "json")
    assert result.exit_code != 0
    assert result.stderr.startswith("Error:") and "Traceback" not in result.stderr
    assert "not-the-secret" not in result.stderr
    # A refused token request is the workspace refusing our credentials, named as such (not "unexpected").
    first = result.stderr.splitlines()[0]
    assert result.exit_code == 1
    assert "refused the credentials" in first and "invalid_client" in first and "unexpected" not in first
    assert "client_secret" in result.stderr.splitlines()[1]

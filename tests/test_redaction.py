"""Every form of every secret is redacted from every output (issue 13.8).

A workspace that quotes the value it refuses without its scheme ("value
S3CR3T is invalid"), or JSON-escaped inside its answer, and a partner that
quotes the credential in ``debugging_message``, must not get it printed: not
in the ``Error:`` line, not in tables or JSON on stdout, not in ``--debug``
logs. The emulator's ``echo`` fault and the sample partner's
``echo_credential`` fault are such peers.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from helpers import error_lines

from stp_ext.core.logs import REDACTED, redact, register_basic, register_secret
from stp_ext.sample_partner import SamplePartner
from stp_ext.services.demo import demo_config

# Quotes and a backslash, so the JSON-escaped form differs from the plain one.
TOKEN = 'S3CR3T-"quoted"\\back-7731'
HEADER = f"Bearer {TOKEN}"
BASIC_USER, BASIC_PASSWORD = "echo-user", 'PA55-"pw"\\-4242'
MODES = {"text": ["-o", "text"], "json": ["-o", "json"], "debug": ["--debug", "-o", "text"]}


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forms(*values: str) -> list[str]:
    """Each value as a peer may quote it: plain, base64, JSON-escaped once and twice."""
    out = []
    for value in values:
        escaped = json.dumps(value)[1:-1]
        out += [value, b64(value), escaped, json.dumps(escaped)[1:-1]]
    return out


FORBIDDEN = [
    *forms(
        HEADER,
        TOKEN,
        BASIC_PASSWORD,
        f"{BASIC_USER}:{BASIC_PASSWORD}",
        "Basic " + b64(f"{BASIC_USER}:{BASIC_PASSWORD}"),
    ),
    "S3CR3T",
    "PA55",
]


def assert_no_secret(result: Any) -> None:
    for stream, output in (("stdout", result.stdout), ("stderr", result.stderr)):
        for text in FORBIDDEN:
            assert text not in output, f"{text!r} leaked on {stream}:\n{output}"


def test_every_form_of_a_registered_secret_is_redacted() -> None:
    register_secret(HEADER)
    register_secret("Basic " + b64(f"{BASIC_USER}:{BASIC_PASSWORD}"))
    for text in forms(HEADER, TOKEN, BASIC_PASSWORD, f"{BASIC_USER}:{BASIC_PASSWORD}"):
        assert redact(f"value {text} is invalid") == f"value {REDACTED} is invalid", text
    assert redact(repr(TOKEN)) == f"'{REDACTED}'"
    assert redact("connect-test passed for user echo-user") == "connect-test passed for user echo-user"


# -- a workspace that echoes what it refuses ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "AUTHORIZATION: Bearer unknown-credential-1",
        '{"authorization": "Basic dW5rbm93bjpjcmVkZW50aWFs"}',
        "Authorızation = Bearer unknown-credential-1",  # a dotless i: the regex's ignore-case matches it
        "token dapi0123456789abcdef0123456789abcdef-2 refused",
    ],
)
def test_unregistered_credentials_are_redacted_in_any_case_and_in_a_large_text(text: str) -> None:
    """The patterns run only where their word occurs (a fast pre-check): the check must not miss."""
    large = "x" * 5_000_000 + "\n" + text + "\n"
    for candidate in (text, large):
        redacted = redact(candidate)
        assert REDACTED in redacted
        assert "unknown-credential" not in redacted and "dW5rbm93bjpjcmVkZW50aWFs" not in redacted
        assert "0123456789abcdef0123456789abcdef" not in redacted


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("credential", "stdin"),
    [(["--auth-header-stdin"], HEADER), (["--basic-user", BASIC_USER, "--basic-password-stdin"], BASIC_PASSWORD)],
)
def test_a_workspace_echoing_the_credential_gets_it_printed_nowhere(
    mode: str, credential: list[str], stdin: str, workspace: Any, run: Any
) -> None:
    workspace.emulator.faults.arm(fail_next=1, mode="echo", status=400, path_prefix="/api/2.0/secrets/put")
    result = run("secret", "put", "--id", "ABC", "--force", *credential, "-p", "emu", *MODES[mode], input=stdin)
    assert result.exit_code == 1, result.stderr
    error = error_lines(result.stderr)
    assert len(error) == 1 and "is invalid" in error[0]  # the workspace's message is shown...
    assert REDACTED in error[0]  # ...with the credential taken out
    assert ("POST", "/api/2.0/secrets/put", 400) in workspace.requests()  # the echo was sent: not vacuous
    assert_no_secret(result)


# -- a partner that echoes the credential ------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_partner_echoing_the_credential_gets_it_printed_nowhere(mode: str, run: Any, tmp_path: Path) -> None:
    with SamplePartner(auth_header=HEADER, fault="echo_credential") as partner:
        config = tmp_path / "partner.json"
        config.write_text(json.dumps(demo_config(partner.url)))
        result = run("connect-test", "-f", str(config), "--auth-header-stdin", *MODES[mode], input=HEADER)
    assert result.exit_code == 1, result.stderr
    output = result.stdout + result.stderr
    assert "AUTH" in output and "403" in output  # the finding is reported...
    assert_no_secret(result)  # ...without the credential the partner quoted


# -- every encoding, every length (issue 22.2) ---------------------------------------------------------

ENCODED_TOKEN = "ENC-s3cr3t/+?&= ü-9054"  # a slash, plus, space, non-ASCII: every encoding differs


def encodings(value: str) -> dict[str, str]:
    """``value`` as a careless peer echoes it."""
    raw = value.encode()
    return {
        "base64": base64.b64encode(raw).decode(),
        "base64, unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
        "base64url, unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "URL-encoded": urllib.parse.quote(value, safe=""),
        "URL-encoded, lower case": re.sub("%..", lambda m: m.group().lower(), urllib.parse.quote(value, safe="")),
        "form-encoded": urllib.parse.quote_plus(value, safe=""),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "JSON-escaped": json.dumps(value)[1:-1],
    }


def test_a_secret_is_redacted_in_every_encoding_a_peer_echoes() -> None:
    register_secret(f"Bearer {ENCODED_TOKEN}")
    for name, text in encodings(ENCODED_TOKEN).items():
        assert text != ENCODED_TOKEN or name == "JSON-escaped"
        assert redact(f"got {text}, expected another") == f"got {REDACTED}, expected another", name
        assert redact(json.dumps({"message": f"got {text}"})) == json.dumps({"message": f"got {REDACTED}"}), name


def test_a_short_password_is_redacted_from_peers_words_only() -> None:
    """A 3-character password echoed back is the password; our own words keep their letters."""
    from stp_ext.core.logs import redact_peer

    register_basic("some-user", "q7z")
    assert redact_peer("the password q7z is wrong") == f"the password {REDACTED} is wrong"
    assert redact("q7z") == "q7z"  # our own text (a table, a path) is not garbled
    assert redact_peer("Basic c29tZS11c2VyOnE3eg") == f"Basic {REDACTED}"  # the header, unpadded


def test_an_unregistered_basic_credential_is_redacted_but_the_words_basic_auth_are_not() -> None:
    assert redact("invalid_client: Basic Y2xpZW50OnNlY3JldA== refused") == f"invalid_client: Basic {REDACTED} refused"
    for text in ("Basic authentication failed", "basic auth for user 'alice'", "BASIC credentials"):
        assert redact(text) == text


def _answer(status: int, document: dict[str, Any]) -> bytes:
    body = json.dumps(document).encode()
    head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


@pytest.mark.parametrize("mode", MODES)
def test_a_workspace_echoing_the_token_encoded_gets_it_printed_nowhere(
    mode: str, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reported: unpadded base64, URL-encoded and hex echoes were printed in create's Error: line."""
    from test_workspace_network import listening

    token = "dapi-ENC-s3cr3t/+?&=-9054"  # what a header carries: visible ASCII
    echoed = "; ".join(f"{name}: {text}" for name, text in encodings(token).items())
    with listening(_answer(400, {"error_code": "INVALID_PARAMETER_VALUE", "message": echoed})) as workspace:
        monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{workspace.port}")
        monkeypatch.setenv("DATABRICKS_TOKEN", token)
        result = run("get", "-e", *MODES[mode])
    assert result.exit_code == 1, result.stderr
    error = error_lines(result.stderr)
    assert len(error) == 1 and "hex: " + REDACTED in error[0], result.stderr  # shown, with the token taken out
    for name, text in encodings(token).items():
        assert text not in result.stdout + result.stderr, name


@pytest.mark.parametrize("mode", MODES)
def test_a_partner_echoing_a_three_character_password_gets_it_printed_nowhere(
    mode: str, run: Any, tmp_path: Path
) -> None:
    from test_workspace_network import listening

    answer = _answer(
        403, {"error_reason": "unauthorized", "debugging_message": "password q7z is wrong, user echo-user"}
    )
    with listening(answer) as partner:
        config = tmp_path / "partner.json"
        config.write_text(json.dumps(demo_config(f"http://127.0.0.1:{partner.port}")))
        result = run(
            "connect-test", "-f", str(config), "--basic-user", "echo-user", "--basic-password-stdin",
            *MODES[mode], input="q7z",
        )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    output = result.stdout + result.stderr
    assert "403" in output and REDACTED in output  # the partner's words are reported...
    assert "q7z" not in output  # ...without the password

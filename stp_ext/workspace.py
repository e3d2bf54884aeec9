"""Auth resolution and the one HTTP path to the workspace.

The auth rules live here and nowhere else (spec/cli.md, "Common options"):

* ``--env`` uses only DATABRICKS_HOST and DATABRICKS_TOKEN and ignores the
  config file; it wins over ``--profile``.
* ``--profile NAME`` reads that profile from DATABRICKS_CONFIG_FILE (else
  ~/.databrickscfg) and wins over DATABRICKS_* variables in the environment.
  databricks-sdk alone would silently mix the two, so the SDK builds the
  Config with those variables hidden for the duration of the construction.
* With neither, databricks-sdk's unified auth decides, so every auth type it
  knows (PAT, OAuth M2M/U2M, the Databricks CLI's login, Azure...) works.

Timeouts are set deliberately: the SDK's default retry budget is 300 s, which
is how long a mistyped host would hang an interactive command.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stp_ext import __version__
from stp_ext.errors import AuthConfigError, NotFoundError, WorkspaceError
from stp_ext.logs import redact, register_secret
from stp_ext.sdk_loader import load_core

HTTP_TIMEOUT_ENV = "DATABRICKS_STP_HTTP_TIMEOUT_SECONDS"
RETRY_TIMEOUT_ENV = "DATABRICKS_STP_RETRY_TIMEOUT_SECONDS"
# The SDK checks its retry deadline before each attempt and sleeps 1, 2, 3...
# seconds between attempts, so it can overshoot the budget by a few seconds.
# With these defaults a refused connection gives up after about 10 s, and a
# host that accepts and never answers after one attempt (the request timeout
# is longer than the budget): both well within 15 s.
DEFAULT_HTTP_TIMEOUT = 8.0
DEFAULT_RETRY_TIMEOUT = 6
# Host metadata (/.well-known/databricks-config) is a best-effort probe the SDK
# sends while building the Config; it gets a small budget of its own.
PROBE_RETRY_TIMEOUT = 1
PROBE_HTTP_TIMEOUT = 2

DEFAULT_CONFIG_FILE = "~/.databrickscfg"

# Environment variables that identify a workspace or a credential. An explicit
# profile hides them; --env hides all but DATABRICKS_HOST/DATABRICKS_TOKEN.
_IDENTITY_ATTRIBUTES = {
    "host",
    "account_id",
    "workspace_id",
    "auth_type",
    "profile",
    "config_file",
    "azure_environment",
    "cloud",
    "discovery_url",
    "token_audience",
}


@dataclass(frozen=True)
class Timeouts:
    http_seconds: float
    retry_seconds: int

    @classmethod
    def from_environment(cls) -> Timeouts:
        return cls(
            http_seconds=_positive_number(HTTP_TIMEOUT_ENV, DEFAULT_HTTP_TIMEOUT),
            # Whole seconds, rounded up: int() made 0.5 into 0, which the SDK reads as
            # "not set" and replaces with its 300 s default.
            retry_seconds=math.ceil(_positive_number(RETRY_TIMEOUT_ENV, DEFAULT_RETRY_TIMEOUT)),
        )


def _positive_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not math.isfinite(value) or value <= 0:  # nan and inf too: they would crash or wait forever
        raise AuthConfigError(f"{name}={raw!r} is not a positive number of seconds")
    return value


@dataclass(frozen=True)
class WorkspaceInfo:
    host: str
    auth_type: str
    profile: str | None
    source: str  # how the workspace was chosen, for messages: "profile 'emu' in ~/.databrickscfg"


class Workspace:
    """A configured databricks-sdk ApiClient, with errors turned into domain errors."""

    def __init__(self, api_client: Any, info: WorkspaceInfo, timeouts: Timeouts) -> None:
        _prefer_reason_phrase(api_client)
        self._api = api_client
        self.info = info
        self.timeouts = timeouts

    @property
    def host(self) -> str:
        return self.info.host

    def do(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        core = load_core()
        import requests

        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            result = self._api.do(method, path, body=body, query=query, headers=headers)
        except core.DatabricksError as e:
            raise self._api_error(e) from None
        except TimeoutError as e:
            if isinstance(e.__cause__, core.DatabricksError):  # it answered, with 429/503 until the budget ran out
                raise self._gave_up(self._api_error(e.__cause__)) from None
            raise self._unreachable(e.__cause__ or e) from None
        except requests.exceptions.JSONDecodeError:  # a RequestException too: it must come first
            raise self._not_json(method, path) from None
        except requests.RequestException as e:
            raise self._unreachable(e) from None
        except ValueError:  # a 2xx body that is not JSON
            raise self._not_json(method, path) from None
        if isinstance(result, dict):
            return result
        raise WorkspaceError(f"{self.host} answered {method} {path} with JSON that is not an object")

    def _api_error(self, error: Any) -> WorkspaceError:
        status = _status_of(error)
        code = error.error_code if isinstance(error.error_code, str) else None
        message = redact(str(error)).strip() or f"HTTP {status}"
        hint = None
        lowered = message.lower()
        if "invalid access token" in lowered or status == 401:
            hint = (
                f"The token was refused by {self.host}. Check the host and token of {self.info.source}, "
                "or log in again (databricks auth login)."
            )
        elif "admin" in lowered and status == 403:
            hint = f"Only workspace admins can do this. Use an admin's credentials instead of {self.info.source}."
        cls = NotFoundError if status == 404 else WorkspaceError
        return cls(message, hint, status=status, error_code=code)

    def _not_json(self, method: str, path: str) -> WorkspaceError:
        return WorkspaceError(
            f"{self.host} answered {method} {path} with a body that is not JSON",
            hint=f"Is {self.host} a Databricks workspace URL? Check the host in {self.info.source}.",
        )

    def _gave_up(self, last: WorkspaceError) -> WorkspaceError:
        return WorkspaceError(
            f"{self.host} is busy or unavailable: {last.message} (gave up after {self.timeouts.retry_seconds} s)",
            hint=f"Try again later; {RETRY_TIMEOUT_ENV} sets how long to keep retrying.",
            status=last.status,
            error_code=last.error_code,
        )

    def _unreachable(self, cause: BaseException) -> WorkspaceError:
        reason = _network_reason(cause)
        return WorkspaceError(
            f"cannot reach {self.host}: {reason} (gave up after {self.timeouts.retry_seconds} s)",
            hint=f"Check the host in {self.info.source} and your network. "
            f"{RETRY_TIMEOUT_ENV} and {HTTP_TIMEOUT_ENV} set how long to wait.",
        )


def _prefer_reason_phrase(api_client: Any) -> None:
    """Take error messages from the JSON ``message``, else ``x-databricks-reason-phrase``, else the status.

    The SDK would otherwise dig a message out of an HTML page, or print a long
    "report this bug" text. Error customizers are the SDK's extension point for
    this; ApiClient has no public way to add one, so this reaches its parser and
    degrades to the SDK's own messages if that ever moves (a test pins it).
    """
    core = load_core()
    parser = getattr(getattr(api_client, "_api_client", None), "_error_parser", None)
    customizers = getattr(parser, "_error_customizers", None)
    if not isinstance(customizers, list):
        return

    class ReasonPhrase(core._ErrorCustomizer):  # type: ignore[misc,name-defined]
        def customize_error(self, response: Any, kwargs: dict[str, Any]) -> None:
            try:
                payload = response.json()
            except ValueError:
                payload = None
            if isinstance(payload, dict) and isinstance(payload.get("message"), str) and payload["message"]:
                # Also undoes the SDK's habit of appending its config dump to 401/403 messages:
                # our hint names the profile or variables to check instead.
                kwargs["message"] = payload["message"]
                return
            status = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
            kwargs["message"] = response.headers.get("x-databricks-reason-phrase") or (
                status if payload is not None else f"{status}, and the answer is not JSON"
            )

    class AnyBody:
        """The last deserializer: any error body (an HTML page, truncated JSON) gives an error.

        Without it the SDK answers these with a multi-line "report this bug"
        text and a request dump, and skips the customizers.
        """

        def deserialize_error(self, response: Any, content: bytes) -> dict[str, Any]:
            return {"message": f"HTTP {response.status_code}"}

    customizers.append(ReasonPhrase())
    parsers = getattr(parser, "_error_parsers", None)
    if isinstance(parsers, list):
        parsers.append(AnyBody())


_STATUS_BY_CLASS = {
    "BadRequest": 400,
    "Unauthenticated": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "ResourceConflict": 409,
    "TooManyRequests": 429,
    "InternalError": 500,
    "NotImplemented": 501,
    "TemporarilyUnavailable": 503,
    "DeadlineExceeded": 504,
}


def _status_of(error: Any) -> int | None:
    # DatabricksError does not keep the status; its class (chosen by status when
    # the error_code is unknown) tells it.
    for cls in type(error).__mro__:
        if cls.__name__ in _STATUS_BY_CLASS:
            return _STATUS_BY_CLASS[cls.__name__]
    return None


def _network_reason(cause: BaseException) -> str:
    text = str(cause)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "timed out" in lowered or "timeout" in type(cause).__name__.lower():
        return "no answer (timed out)"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo" in lowered:
        return "unknown host name"
    if "ssl" in lowered or "certificate" in lowered:
        return "TLS error"
    if "remotedisconnected" in lowered or "connection aborted" in lowered or "reset" in lowered:
        return "the connection was closed without an answer"
    return redact(text)[:200] or type(cause).__name__


# -- building the Config ------------------------------------------------------


def config_file_path() -> Path:
    return Path(os.environ.get("DATABRICKS_CONFIG_FILE") or DEFAULT_CONFIG_FILE).expanduser()


def _profiles_in(path: Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as e:
        raise AuthConfigError(f"cannot parse the config file {path}: {e}") from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


@contextlib.contextmanager
def _hidden_environment(names: set[str]) -> Iterator[None]:
    """Hide environment variables while the SDK reads them (a CLI is single-threaded here)."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _sdk_env_names(config_cls: Any, keep: set[str] = frozenset()) -> set[str]:  # type: ignore[assignment]
    names: set[str] = set()
    for attr in config_cls.attributes():
        if not attr.env:
            continue
        if attr.auth or attr.name in _IDENTITY_ATTRIBUTES:
            names.add(attr.env)
            names.update(getattr(attr, "env_aliases", ()) or ())
    return names - keep


def connect(
    profile: str | None = None,
    use_env: bool = False,
    debug: bool = False,
    *,
    host: str | None = None,
    token: str | None = None,
) -> Workspace:
    """Resolve auth as spec/cli.md says and return a ready Workspace.

    ``host`` and ``token`` (used by `demo`) name the workspace directly, with
    the environment and config file ignored as for --env.
    """
    core = load_core()
    timeouts = Timeouts.from_environment()
    common: dict[str, Any] = {
        "product": "databricks-stp",
        "product_version": __version__,
        "retry_timeout_seconds": PROBE_RETRY_TIMEOUT,
        "http_timeout_seconds": PROBE_HTTP_TIMEOUT,
    }
    if debug:
        common["debug_truncate_bytes"] = 4096
    if use_env and not (host and token):
        host = os.environ.get("DATABRICKS_HOST", "").strip()
        token = os.environ.get("DATABRICKS_TOKEN", "").strip()
        for name, value in (("DATABRICKS_HOST", host), ("DATABRICKS_TOKEN", token)):
            if not value:
                raise AuthConfigError(
                    f"--env is set but {name} is empty or not set",
                    hint="export DATABRICKS_HOST=https://<workspace> and DATABRICKS_TOKEN=<token>, or use -p PROFILE.",
                )
        source = "DATABRICKS_HOST/DATABRICKS_TOKEN (--env)"
    else:
        source = f"the token given for {host}"
    if host and token:
        register_secret(token)
        with _hidden_environment(_sdk_env_names(core.Config)):
            cfg = _build(core, source, debug, host=host, token=token, auth_type="pat", **common)
    elif profile:
        path = config_file_path()
        if not path.is_file():
            raise AuthConfigError(
                f"config file {path} does not exist (needed for --profile {profile})",
                hint="Create the profile with `databricks configure --profile NAME`, "
                "point DATABRICKS_CONFIG_FILE at your file, or use --env.",
            )
        profiles = _profiles_in(path)
        if profile not in profiles:
            known = ", ".join(profiles) if profiles else "none"
            raise AuthConfigError(
                f"profile {profile!r} not found in {path}",
                hint=f"Profiles in that file: {known}.",
            )
        source = f"profile {profile!r} in {path}"
        section = profiles[profile]
        if not (section.get("host", "").strip() or section.get("azure_workspace_resource_id", "").strip()):
            raise AuthConfigError(
                f"{source} has no host",
                hint="Add `host = https://<workspace>` to the profile, e.g. with `databricks configure`.",
            )
        with _hidden_environment(_sdk_env_names(core.Config)):
            cfg = _build(core, source, debug, profile=profile, config_file=str(path), **common)
    else:
        source = "the default databricks-sdk authentication (environment, then the DEFAULT profile)"
        cfg = _build(core, source, debug, **common)
        if cfg.profile:
            source = f"profile {cfg.profile!r} in {cfg.config_file or config_file_path()}"
    # The probe is done; give real requests the real budget.
    cfg.retry_timeout_seconds = timeouts.retry_seconds
    cfg.http_timeout_seconds = timeouts.http_seconds
    register_secret(getattr(cfg, "token", None))
    info = WorkspaceInfo(host=cfg.host, auth_type=cfg.auth_type or "unknown", profile=cfg.profile, source=source)
    return Workspace(core.ApiClient(cfg), info, timeouts)


@contextlib.contextmanager
def _bounded_host_metadata_probe() -> Iterator[None]:
    """Give the SDK's host-metadata probe our small budget on every SDK version.

    databricks-sdk 0.162 builds the probe's client from the Config's timeouts;
    the releases that still support Python 3.9 (up to about 0.10x) call
    ``get_host_metadata(host)`` with a module-level client whose retry budget
    is 300 s, so an unreachable host would hang Config() for five minutes.
    For the length of the construction the name config.py calls is bound to
    the same function with a bounded client; an explicit ``client=`` (newer
    SDKs) still wins over it, so nothing changes there.
    """
    config_module = sys.modules.get("databricks.sdk.config")
    original = getattr(config_module, "get_host_metadata", None)
    if config_module is None or original is None:
        yield
        return
    client_module = sys.modules["databricks.sdk._base_client"]
    bounded = client_module._BaseClient(
        retry_timeout_seconds=PROBE_RETRY_TIMEOUT, http_timeout_seconds=PROBE_HTTP_TIMEOUT
    )
    config_module.get_host_metadata = functools.partial(original, client=bounded)
    try:
        yield
    finally:
        config_module.get_host_metadata = original


def _build(core: Any, source: str, debug: bool, **kwargs: Any) -> Any:
    try:
        with _bounded_host_metadata_probe():
            cfg = core.Config(**kwargs)
    except ValueError as e:
        message = str(e)
        if not debug:
            # The SDK appends a dump of every setting it saw; useful with --debug, noise otherwise.
            message = message.split(". Config: ", 1)[0]
        raise AuthConfigError(
            f"cannot authenticate with {source}: {redact(message)}",
            hint="Pass -p PROFILE or -e, or log in with `databricks auth login`.",
        ) from None
    if not cfg.host:
        raise AuthConfigError(f"no workspace host in {source}", hint="Set host in the profile or DATABRICKS_HOST.")
    return cfg

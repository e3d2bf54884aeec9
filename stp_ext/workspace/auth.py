"""Which workspace, with which credentials: profiles, environment, host, the metadata probe.

The auth rules live here and nowhere else (docs/cli.md, "Common options"):

* ``--env`` uses only DATABRICKS_HOST with DATABRICKS_TOKEN, or with
  DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET (OAuth M2M; the token wins
  when both are set), and ignores the config file; it wins over ``--profile``.
* ``--profile NAME`` reads that profile from DATABRICKS_CONFIG_FILE (else
  ~/.databrickscfg) and wins over DATABRICKS_* variables in the environment.
  databricks-sdk alone would silently mix the two, so the SDK builds the
  Config blind to those variables (the process environment is left as it is).
* With neither, databricks-sdk's unified auth decides, so every auth type it
  knows (PAT, OAuth M2M/U2M, the Databricks CLI's login, Azure...) works.

Wherever a host comes from, it is cut to scheme, host and port: a URL copied
from the browser (``https://adb-1.2.azuredatabricks.net/?o=1#job/2``) names
the workspace as well as the bare one does.

databricks-sdk asks ``/.well-known/databricks-config`` while it builds the
Config, for the account id, OIDC endpoints and cloud that OAuth needs. A
personal access token needs none of them, so for a PAT the probe is skipped
(one request per command instead of two); every other auth type still gets it.
"""

from __future__ import annotations

import configparser
import contextlib
import contextvars
import functools
import logging
import os
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from stp_ext import __version__
from stp_ext.core import user_agent
from stp_ext.core.auth_header import not_visible_ascii
from stp_ext.core.clock import Clock, MonotonicClock
from stp_ext.core.errors import AuthConfigError, WorkspaceError
from stp_ext.core.inputs import MiB, decode_utf8, read_path
from stp_ext.core.logs import redact_peer, register_basic, register_secret
from stp_ext.core.wire import classify
from stp_ext.workspace import oauth_token, sdk_seam
from stp_ext.workspace.client import Timeouts, Workspace, WorkspaceInfo
from stp_ext.workspace.sdk_seam import load_core
from stp_ext.workspace.transport import BoundedAdapter

logger = logging.getLogger(__name__)

# Host metadata (/.well-known/databricks-config) is a best-effort probe the SDK
# sends while building the Config; it gets a small budget of its own, which
# is never added to a retry: a host that cannot answer it fails the real call.
PROBE_RETRY_TIMEOUT = 1
PROBE_HTTP_TIMEOUT = 2

DEFAULT_CONFIG_FILE = "~/.databrickscfg"
HOST_ENV = "DATABRICKS_HOST"
TOKEN_ENV = "DATABRICKS_TOKEN"

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


# -- the host --------------------------------------------------------------------


def normalize_host(raw: str) -> str:
    """Scheme, host and port of a workspace URL; the path, query (``?o=<id>``) and fragment go.

    A URL without a scheme gets https://, as databricks-sdk does; :443 on https is dropped.
    """
    text = raw.strip()
    if not text:
        return text
    if "://" not in text:
        text = "https://" + text
    parts = urllib.parse.urlsplit(text)
    netloc = parts.netloc.rsplit("@", 1)[-1]  # user:password@ is never how a workspace is named
    scheme = parts.scheme.lower()
    if scheme == "https" and netloc.endswith(":443"):
        netloc = netloc[: -len(":443")]
    return f"{scheme}://{netloc}"


def _log_normalized(raw: str, host: str) -> None:
    if raw.strip().rstrip("/") != host:
        logger.debug("workspace host %s taken as %s (a workspace is named by scheme, host and port)", raw, host)


# -- the config file ---------------------------------------------------------------


def config_file_path() -> Path:
    return Path(os.environ.get("DATABRICKS_CONFIG_FILE") or DEFAULT_CONFIG_FILE).expanduser()


def _parse_error(path: Path, error: Exception) -> AuthConfigError:
    """One line naming the file and the line, whatever configparser raised."""
    if isinstance(error, configparser.MissingSectionHeaderError):
        what = f"line {error.lineno} comes before any [profile] header"
    elif isinstance(error, configparser.DuplicateOptionError):
        what = f"line {error.lineno}: {error.option!r} is set twice in [{error.section}]"
    elif isinstance(error, configparser.DuplicateSectionError):
        what = f"line {error.lineno}: [{error.section}] appears twice"
    elif isinstance(error, configparser.ParsingError) and error.errors:
        lineno, _line = error.errors[0]
        what = f"line {lineno} is not `name = value`"
    elif isinstance(error, UnicodeDecodeError):
        what = "it is not UTF-8 text"
    else:
        what = type(error).__name__
    return AuthConfigError(
        f"cannot read the config file {path}: {what}",
        hint="Fix that line (each profile is a [NAME] line followed by `name = value` lines), "
        "or point DATABRICKS_CONFIG_FILE at another file.",
    )


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    """The profiles of a config file (DEFAULT included when it has settings)."""
    # Through the capped reader: a config file is a few KiB, and a huge or endless one
    # (DATABRICKS_CONFIG_FILE=/dev/zero, a 4 GiB file) must not be read whole.
    raw = read_path(
        str(path),
        limit=MiB,
        what="config file",
        too_big=f"the config file {path} is larger than 1 MiB",
        too_big_hint="Point DATABRICKS_CONFIG_FILE at your Databricks config file (profiles of name = value lines).",
        error=AuthConfigError,
    )
    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    try:
        parser.read_string(decode_utf8(raw, str(path), error=AuthConfigError), source=str(path))
    except configparser.Error as e:
        raise _parse_error(path, e) from None
    return {name: dict(parser.items(name)) for name in parser.sections()}


def read_existing_profiles(path: Path, needed_for: str, hint: str) -> dict[str, dict[str, str]]:
    """``read_profiles``, after one clear error when there is no file: what needed it, and ``hint``."""
    if not path.is_file():
        raise AuthConfigError(f"config file {path} does not exist (needed for {needed_for})", hint=hint)
    return read_profiles(path)


def _profile_not_found(profile: str, path: Path, profiles: dict[str, dict[str, str]]) -> AuthConfigError:
    known = ", ".join(profiles) if profiles else "none"
    stripped = profile.strip().strip("[]").strip()
    if stripped != profile and stripped in profiles:
        hint = f"Profile names go without brackets: -p {stripped}."
    else:
        matches = [name for name in profiles if name.lower() == profile.lower()]
        hint = f"Did you mean -p {matches[0]}? Names are case-sensitive." if matches else ""
    return AuthConfigError(
        f"profile {profile!r} not found in {path}",
        hint=f"{hint} Profiles in that file: {known}.".strip(),
    )


# -- building the Config -------------------------------------------------------------


# The variables the SDK must not read while this thread builds a Config (an explicit profile or
# token wins over them). Our Config's _load_from_env skips them: the process environment itself is
# never changed, as other threads (the requests of `get --all-profiles`) read it meanwhile.
_HIDDEN_ENV: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("hidden_env", default=frozenset())


@contextlib.contextmanager
def _hidden_environment(config_cls: Any, names: set[str]) -> Iterator[None]:
    """Keep ``names`` from databricks-sdk while ``config_cls`` is built in this thread."""
    if sdk_hooks_present(config_cls).get("_load_from_env"):
        token = _HIDDEN_ENV.set(frozenset(names))
        try:
            yield
        finally:
            _HIDDEN_ENV.reset(token)
        return
    # An SDK release without that step: hide them from the process for the moment instead
    # (callers that build Configs on several threads hold a lock around it).
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _sdk_env_names(config_cls: Any, keep: frozenset[str] = frozenset()) -> set[str]:
    names: set[str] = set()
    for attr in config_cls.attributes():
        if not attr.env:
            continue
        if attr.auth or attr.name in _IDENTITY_ATTRIBUTES:
            names.add(attr.env)
            names.update(getattr(attr, "env_aliases", ()) or ())
    return names - keep


@functools.cache
def _config_class(base: type) -> type:
    """databricks-sdk's Config, with the host cut to scheme://host:port, the probe only when needed,
    and the environment read without the variables ``_hidden_environment`` names.

    All three are overrides of private Config steps, made in workspace.sdk_seam (``_fix_host_if_needed``,
    ``_resolve_host_metadata``, ``_load_from_env``). If a release renames them,
    the overrides are simply never called: the host is then normalised after
    construction, the SDK probes as it always did (one more request), and the
    variables are hidden from the process environment instead (nothing broken).
    """

    # Config.attributes() collects the ConfigAttributes found in the class's own __dict__ and caches
    # them on the first class it is called on: the base must be first, or the subclass caches none.
    attributes = getattr(base, "attributes", None)
    if callable(attributes):
        attributes()

    def fix_host(config: Any) -> None:
        if config.host:
            raw = config.host
            config.host = normalize_host(raw)
            _log_normalized(raw, config.host)

    def skip_host_metadata(config: Any) -> bool:
        if _is_pat(config):
            logger.debug("host metadata not fetched: a personal access token needs none of it")
            return True
        return False

    def load_from_env(config: Any) -> bool:
        hidden = _HIDDEN_ENV.get()
        if not hidden:
            return False  # the SDK's own step
        # The SDK's own step, but blind to the hidden names: the first non-empty of each
        # setting's variable and its aliases, for settings not already given as arguments.
        for attr in config.attributes():
            if not attr.env or getattr(config, attr.name, None) is not None:
                continue
            names = [attr.env, *(getattr(attr, "env_aliases", ()) or ())]
            value = next((os.environ.get(n) for n in names if n not in hidden and os.environ.get(n)), None)
            if value:
                setattr(config, attr.name, value)
        return True

    return sdk_seam.config_subclass(base, fix_host, skip_host_metadata, load_from_env)


def _is_pat(cfg: Any) -> bool:
    return bool(getattr(cfg, "token", None)) and (getattr(cfg, "auth_type", None) or "pat") == "pat"


def sdk_hooks_present(config_cls: Any) -> dict[str, bool]:
    """Which private SDK hooks this module relies on exist in the installed databricks-sdk."""
    return sdk_seam.config_hooks_present(config_cls)


class _OneAttempt:
    """A clock for the probe's client: its back-off sleeps take no time and use up the budget.

    databricks-sdk retries a request until its clock passes the deadline; with
    this clock the first failure ends the probe at once, so a host that cannot
    answer (DNS, refused, TLS) costs no back-off before the real error.
    """

    def __init__(self) -> None:
        self._skipped = 0.0

    def time(self) -> float:
        return time.time() + self._skipped

    def sleep(self, seconds: float) -> None:
        self._skipped += seconds


@dataclass
class _Probe:
    failure: BaseException | None = None
    asking: str = "its host metadata"  # what was being asked when it failed, for the message


# OIDC discovery is not best-effort like host metadata: OAuth cannot go on without it. It gets one
# attempt with the whole HTTP timeout; both answers are a few hundred bytes, read up to this many.
DISCOVERY_MAX_BYTES = 1024 * 1024


@contextlib.contextmanager
def _bounded_host_metadata_probe(http_seconds: float = PROBE_HTTP_TIMEOUT) -> Iterator[_Probe]:
    """One bounded attempt at each request databricks-sdk sends while it builds a Config: the host
    metadata probe and OAuth's OIDC discovery document. Every SDK version; the failure is kept.

    databricks-sdk 0.162 builds the probe's client from the Config's timeouts;
    the releases that still support Python 3.9 (up to about 0.10x) call
    ``get_host_metadata(host)`` with a module-level client whose retry budget
    is 300 s, so an unreachable host would hang Config() for five minutes.
    OIDC discovery (``get_endpoints_from_url``) still uses such a client in
    every release: 60 s per attempt, retried for 300 s, any size of answer.
    For the length of the construction the names config.py calls are bound to
    wrappers that call them with our clients (one attempt, a total deadline
    and a size cap through workspace.transport's bounded reader) and record the
    failure, which the SDK itself only logs before failing later with
    "Invalid URL 'None'" or an auth error.
    """
    probe = _Probe()
    client_cls = sdk_seam.base_client_class()
    if client_cls is None:
        yield probe
        return

    def client(seconds: float) -> Any:
        settings = {"retry_timeout_seconds": PROBE_RETRY_TIMEOUT, "http_timeout_seconds": seconds}
        adapter = BoundedAdapter(seconds, max_bytes=DISCOVERY_MAX_BYTES)
        try:
            return client_cls(**settings, clock=_OneAttempt(), http_adapter=adapter)
        except TypeError:  # a release without http_adapter: bounded in time, not in size
            return client_cls(**settings, clock=_OneAttempt())

    try:
        clients = {"get_host_metadata": client(PROBE_HTTP_TIMEOUT), "get_endpoints_from_url": client(http_seconds)}
    except TypeError:  # a release with another constructor: leave the requests as the SDK made them
        yield probe
        return
    asking = {"get_host_metadata": "its host metadata", "get_endpoints_from_url": "its OIDC discovery document"}

    def one_attempt(name: str, original: Any) -> Any:
        def call(url: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["client"] = clients[name]
            try:
                return original(url, *args, **kwargs)
            except Exception as e:
                if probe.failure is None:  # the first: a later one follows from it ("Invalid URL 'None'")
                    probe.failure, probe.asking = e, asking[name]
                raise

        return call

    # The names config.py calls, looked up in its own namespace at each call.
    wrappers = {name: functools.partial(one_attempt, name) for name in clients}
    with sdk_seam.rebound("databricks.sdk.config", wrappers):
        yield probe


def _build(core: Any, source: str, debug: bool, **kwargs: Any) -> Any:
    config_cls = _config_class(core.Config)
    try:
        with _bounded_host_metadata_probe(Timeouts.from_environment().http_seconds) as probe:
            cfg = config_cls(**kwargs)
    except ValueError as e:
        unreachable = _probe_unreachable(probe, kwargs.get("host") or os.environ.get(HOST_ENV, ""))
        # Only when the auth itself failed on a request (OAuth without the endpoints the probe would have
        # given); a bad setting (an unknown auth_type) stays the configuration error it is.
        if unreachable is not None and _request_error_in(e) is not None:
            raise unreachable from None
        message = str(e)
        if not debug:
            # The SDK appends a dump of every setting it saw; useful with --debug, noise otherwise.
            message = message.split(". Config: ", 1)[0]
        raise AuthConfigError(
            f"cannot authenticate with {source}: {redact_peer(message)}",
            hint="Pass -p PROFILE or -e, or log in with `databricks auth login`.",
        ) from None
    if not cfg.host:
        raise AuthConfigError(f"no workspace host in {source}", hint="Set host in the profile or DATABRICKS_HOST.")
    if not sdk_hooks_present(core.Config).get("_fix_host_if_needed"):  # our override never ran
        raw = cfg.host
        cfg.host = normalize_host(raw)
        _log_normalized(raw, cfg.host)
    return cfg


def _request_error_in(error: BaseException | None) -> BaseException | None:
    """The first ``requests`` exception in an exception's chain of causes, if any."""
    cause = error
    while cause is not None and not isinstance(cause, requests.RequestException):
        cause = cause.__cause__ or cause.__context__
    return cause


def _probe_unreachable(probe: _Probe, host: str) -> WorkspaceError | None:
    """The auth failed after the host-metadata probe or OIDC discovery could not reach the host:
    say that, not the SDK's words ("refused the credentials" after a 60 s wait, once)."""
    cause = _request_error_in(probe.failure)
    if cause is None:
        return None
    reached = classify(cause)
    host = normalize_host(host) if host else "the workspace"
    return WorkspaceError(
        f"cannot reach {host}: {reached.message} (asking {probe.asking}, which OAuth needs)",
        hint=reached.hint or "Check the host and your network.",
    )


# The settings that hold a secret, and the pairs sent as ``Basic base64(id:secret)`` (OAuth M2M's
# token request, Basic auth): a peer echoing the request must not get them printed.
_SECRET_SETTINGS = ("token", "password", "client_secret", "azure_client_secret", "google_credentials")
_BASIC_PAIRS = (("client_id", "client_secret"), ("username", "password"), ("azure_client_id", "azure_client_secret"))


def _register_credentials(get: Any) -> None:
    """Register every credential found through ``get(name)`` (a profile, the environment, a Config)."""
    for name in _SECRET_SETTINGS:
        register_secret(get(name))
    for user, password in _BASIC_PAIRS:
        register_basic(get(user), get(password))


def _environment_setting(config_cls: Any) -> Any:
    """``get(name)`` for a Config setting read from the environment, as databricks-sdk reads it."""
    envs = {attr.name: [attr.env, *(getattr(attr, "env_aliases", ()) or ())] for attr in config_cls.attributes()}
    return lambda name: next((os.environ[n] for n in envs.get(name, ()) if n and os.environ.get(n)), None)


def _check_token_travels(token: str | None, source: str) -> None:
    """A token that cannot be an HTTP header value (``dapi€``, a pasted newline) is bad local input,
    refused before anything is sent; requests would fail to encode it, which read as a refusal."""
    problem = not_visible_ascii(token) if token else None
    if problem is not None:
        raise AuthConfigError(
            f"the token of {source} contains {problem}, which cannot travel in an HTTP header; nothing was sent",
            hint="Check the token there: a Databricks token is ASCII letters, digits and dashes.",
        )


def _bound_oauth_token_requests(http_seconds: float) -> None:
    """OAuth M2M's token requests through our bounded reader (stp_ext.workspace.oauth_token).

    databricks-sdk's client-credentials source calls ``retrieve_token`` by its
    name in ``databricks.sdk.oauth`` at every refresh; binding ours there is
    the one change (a release that renames it keeps the SDK's unbounded request,
    and tests/test_sdk_loader.py fails).
    """
    oauth_token.set_http_timeout(http_seconds)
    sdk_seam.rebind("databricks.sdk.oauth", "retrieve_token", oauth_token.retrieve_token)


def _half_set_environment(config_file: Path, config_cls: Any) -> AuthConfigError | None:
    """DATABRICKS_HOST or DATABRICKS_TOKEN alone: the SDK then skips the DEFAULT profile and fails vaguely.

    Only when no other credential variable is set: DATABRICKS_HOST with DATABRICKS_CLIENT_ID is OAuth,
    and its failure is the SDK's to explain.
    """
    host, token = os.environ.get(HOST_ENV, "").strip(), os.environ.get(TOKEN_ENV, "").strip()
    if bool(host) == bool(token):
        return None
    others = _sdk_env_names(config_cls) - {HOST_ENV, TOKEN_ENV, "DATABRICKS_CONFIG_FILE", "DATABRICKS_CONFIG_PROFILE"}
    if any(os.environ.get(name, "").strip() for name in others):
        return None
    present, absent = (HOST_ENV, TOKEN_ENV) if host else (TOKEN_ENV, HOST_ENV)
    where = f"the DEFAULT profile in {config_file}" if config_file.is_file() else "a profile"
    return AuthConfigError(
        f"{present} is set but {absent} is not, so databricks-sdk cannot use it, nor {where}",
        hint=f"Unset {present} (`unset {present}`) to use the profile, or set {absent} too and pass -e.",
    )


CLIENT_ID_ENV = "DATABRICKS_CLIENT_ID"
CLIENT_SECRET_ENV = "DATABRICKS_CLIENT_SECRET"
_ENV_HINT = (
    f"export {HOST_ENV}=https://<workspace> and either {TOKEN_ENV}=<token>, or {CLIENT_ID_ENV} and "
    f"{CLIENT_SECRET_ENV} (a service principal); or use -p PROFILE."
)


def _from_environment() -> tuple[str, str, tuple[str, str] | None]:
    """What --env reads: the host, and a token or else a service principal's client id and secret.

    A token wins when both are set, as in a profile. Returns (host, token, (client id, secret) or None).
    """
    host, token = os.environ.get(HOST_ENV, "").strip(), os.environ.get(TOKEN_ENV, "").strip()
    client_id = os.environ.get(CLIENT_ID_ENV, "").strip()
    client_secret = os.environ.get(CLIENT_SECRET_ENV, "").strip()
    if not host:
        raise AuthConfigError(f"--env is set but {HOST_ENV} is empty or not set", hint=_ENV_HINT)
    if token:
        return host, token, None
    if client_id and client_secret:
        return host, "", (client_id, client_secret)
    if client_id or client_secret:
        present, absent = (CLIENT_ID_ENV, CLIENT_SECRET_ENV) if client_id else (CLIENT_SECRET_ENV, CLIENT_ID_ENV)
        raise AuthConfigError(
            f"--env is set with {present} but {absent} is empty or not set",
            hint=f"Set {absent} too (a service principal's OAuth secret), or set {TOKEN_ENV} instead.",
        )
    raise AuthConfigError(f"--env is set but {TOKEN_ENV} is empty or not set", hint=_ENV_HINT)


def connect(
    profile: str | None = None,
    use_env: bool = False,
    debug: bool = False,
    *,
    host: str | None = None,
    token: str | None = None,
    clock: Clock | None = None,
) -> Workspace:
    """Resolve auth as docs/cli.md says and return a ready Workspace.

    ``host`` and ``token`` (used by `demo`) name the workspace directly, with
    the environment and config file ignored as for --env. ``clock``: the
    command's (``stp_ext.core.clock``); our retries and the SDK's own waits run on it.
    """
    core = load_core()
    timeouts = Timeouts.from_environment()
    _bound_oauth_token_requests(timeouts.http_seconds)
    clock = clock or MonotonicClock()
    common = _common_settings(clock, debug)
    service_principal: tuple[str, str] | None = None
    source = f"the token given for {host}"
    if use_env and not (host and token):
        host, token, service_principal = _from_environment()
        credentials = CLIENT_ID_ENV + "/" + CLIENT_SECRET_ENV if service_principal else TOKEN_ENV
        source = f"{HOST_ENV}/{credentials} (--env)"
    if host and (token or service_principal is not None):
        cfg = _config_for_host(core, source, debug, host, token, service_principal, common)
    elif profile:
        cfg, source = _config_for_profile(core, profile, debug, common)
    else:
        cfg, source = _config_by_default(core, debug, common)
    return _workspace(core, cfg, source, timeouts, clock)


def _common_settings(clock: Clock, debug: bool) -> dict[str, Any]:
    """The Config settings every way of connecting shares; the probe's short budget until it is done."""
    common: dict[str, Any] = {
        "product": "databricks-stp",
        "product_version": __version__,
        "retry_timeout_seconds": PROBE_RETRY_TIMEOUT,
        "http_timeout_seconds": PROBE_HTTP_TIMEOUT,
        "clock": clock,  # the SDK's own waits (the probe's retries) on the command's clock too
    }
    if debug:
        common["debug_truncate_bytes"] = 4096
    return common


def _config_for_host(
    core: Any,
    source: str,
    debug: bool,
    host: str,
    token: str | None,
    service_principal: tuple[str, str] | None,
    common: dict[str, Any],
) -> Any:
    """A Config for a host named directly (--env, or `demo`'s host and token): a service principal's
    OAuth M2M or a token, with the SDK's environment variables and config file ignored."""
    credentials: dict[str, Any]
    if service_principal is not None:
        client_id, client_secret = service_principal
        register_secret(client_secret)
        register_basic(client_id, client_secret)
        credentials = {"client_id": client_id, "client_secret": client_secret, "auth_type": "oauth-m2m"}
    else:
        register_secret(token)
        credentials = {"token": token, "auth_type": "pat"}
    with _hidden_environment(core.Config, _sdk_env_names(core.Config)):
        cfg = _build(core, source, debug, host=normalize_host(host), **credentials, **common)
    _log_normalized(host, cfg.host)
    return cfg


def _config_for_profile(core: Any, profile: str, debug: bool, common: dict[str, Any]) -> tuple[Any, str]:
    """A Config from ``profile`` in the config file (the SDK's environment variables ignored), and its source."""
    path = config_file_path()
    hint = "Create the profile with `databricks configure --profile NAME`, point DATABRICKS_CONFIG_FILE at your file"
    profiles = read_existing_profiles(path, f"--profile {profile}", f"{hint}, or use --env.")
    if profile not in profiles:
        raise _profile_not_found(profile, path, profiles)
    source = f"profile {profile!r} in {path}"
    section = profiles[profile]
    _register_credentials(section.get)  # before the SDK sends any of it
    if not (section.get("host", "").strip() or section.get("azure_workspace_resource_id", "").strip()):
        raise AuthConfigError(
            f"{source} has no host",
            hint="Add `host = https://<workspace>` to the profile, e.g. with `databricks configure`.",
        )
    with _hidden_environment(core.Config, _sdk_env_names(core.Config)):
        return _build(core, source, debug, profile=profile, config_file=str(path), **common), source


def _config_by_default(core: Any, debug: bool, common: dict[str, Any]) -> tuple[Any, str]:
    """A Config as databricks-sdk finds one by default (environment, then the DEFAULT profile), and its source."""
    source = "the default databricks-sdk authentication (environment, then the DEFAULT profile)"
    path = config_file_path()
    _register_credentials(_environment_setting(core.Config))  # before the SDK sends any of it
    if path.is_file():
        profiles = read_profiles(path)  # a broken file is named with its line, not as the SDK's "unexpected" error
        chosen = os.environ.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
        _register_credentials(profiles.get(chosen, {}).get)
    try:
        cfg = _build(core, source, debug, **common)
    except AuthConfigError:
        half = _half_set_environment(path, core.Config)
        if half is None:
            raise
        raise half from None
    if cfg.profile:
        source = f"profile {cfg.profile!r} in {cfg.config_file or path}"
    return cfg, source


def _workspace(core: Any, cfg: Any, source: str, timeouts: Timeouts, clock: Clock) -> Workspace:
    """The Workspace on a built Config: the token checked, the user agent tagged, the real budget set."""
    _check_token_travels(getattr(cfg, "token", None), source)
    for key, value in user_agent.extras():  # cmd/<command>, cli/<version>: as the Databricks CLI tags requests
        cfg.with_user_agent_extra(key, value)
    # The probe is done; give real requests the real budget.
    cfg.retry_timeout_seconds = timeouts.sdk_retry_seconds
    cfg.http_timeout_seconds = timeouts.http_seconds
    _register_credentials(lambda name: getattr(cfg, name, None))
    info = WorkspaceInfo(host=cfg.host, auth_type=cfg.auth_type or "unknown", profile=cfg.profile, source=source)
    return Workspace(core.ApiClient(cfg), info, timeouts, clock=clock)

"""The one seam to databricks-sdk's internals, and its fast loader.

Every private name of databricks-sdk (and requests' private ``_content``) that
this project uses is reached here and nowhere else; ``PRIVATE_NAMES`` lists
them and tests/test_sdk_seam.py pins each against the installed SDK. Each
accessor answers None (or False) when its name has moved, after one debug
line, and its caller then keeps the SDK's public behaviour: never a crash.

Loading databricks-sdk's core (Config, ApiClient) without its service modules:

``import databricks.sdk`` executes a package ``__init__`` that imports every
generated service module: about 2.5 s before the first request with databricks-sdk 0.167
on a busy two-core machine (it was 1 s in older releases). This tool needs only
``databricks.sdk.core`` (about 0.25 s there). We register the package
module without executing its ``__init__`` and give it a PEP 562 module
``__getattr__`` that runs the real ``__init__`` the first time anything else
asks for a name from it (``from databricks.sdk import WorkspaceClient`` keeps
working in the same process). If any step of this fails, we fall back to the
normal import: slower, never broken.

What it saves, measured (benchmarks/run.py ``core_loader``; 2026-12-07, the wheel in a fresh
virtualenv, databricks-sdk 0.167.0, `get -e` against the emulator, 15 alternating runs, 2 cores
at load average 5-7): 0.47 s and 35 MiB with it, 2.84 s and 88 MiB after a plain
``import databricks.sdk``; time ratio 0.13 / 0.17 / 0.18 (min / median / max), memory 0.40.
About 2.3 s and 53 MiB per workspace command. It stays while the median ratio is <= 0.8x
(``LOADER_KEEP_RATIO`` there: a fifth of a command, 100 ms or more, is what a user notices).

Some modules that ``core`` imports serve only some auth types: Google service
account impersonation (which pulls in ``cryptography``) and Azure (which pulls
in a generated service module and protobuf), together about half of core's
import time. They are registered as lazy modules (``importlib.util.LazyLoader``):
the names exist, and a module runs the first time anything is read from it,
which only those auth types do. A personal access token, a profile or OAuth
M2M never pays for them.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.machinery
import importlib.util
import logging
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

_PACKAGE = "databricks.sdk"
# Imported by databricks.sdk.credentials_provider for Google and Azure auth only.
DEFERRED = (
    "google.auth.impersonated_credentials",
    "google.oauth2.service_account",
    f"{_PACKAGE}.azure",
)


def _defer(name: str) -> None:
    """Register ``name`` as a module that executes on first attribute access."""
    if name in sys.modules:
        return
    parent_name, _, child = name.rpartition(".")
    parent = sys.modules.get(parent_name) or importlib.import_module(parent_name)
    spec = importlib.machinery.PathFinder.find_spec(name, list(getattr(parent, "__path__", [])))
    if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
        return
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # arms the lazy load; runs nothing yet
    vars(parent)[child] = module  # what a normal import binds on the parent package


def _install_lazy_package() -> None:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{_PACKAGE} is not installed")
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    # While core is importing, `from . import useragent` probes the package for
    # the name first; answering "no such attribute" lets the import system load
    # the submodule instead of running the whole __init__.
    state = {"loaded": False, "bootstrapping": True}

    def __getattr__(name: str) -> Any:
        if name.startswith("__") or state["loaded"] or state["bootstrapping"]:
            raise AttributeError(name)
        state["loaded"] = True
        # Run the real __init__ in place: submodules already imported are reused.
        loader.exec_module(package)
        return getattr(package, name)

    # Module attributes set dynamically: typed as Any, since ModuleType declares neither.
    vars(package)["__getattr__"] = __getattr__
    sys.modules[_PACKAGE] = package
    # A normal import also binds the submodule on its parent (`databricks.sdk`).
    vars(sys.modules["databricks"])["sdk"] = package
    try:
        for name in DEFERRED:
            try:
                _defer(name)
            except Exception as e:  # a missing optional dependency: the normal import will say so
                logger.debug("not deferring %s: %s", name, e)
        importlib.import_module(f"{_PACKAGE}.core")
        state["bootstrapping"] = False
    except BaseException:
        # Leave nothing half-registered; the caller falls back to the normal import.
        for name in [m for m in sys.modules if m == _PACKAGE or m.startswith(_PACKAGE + ".")]:
            del sys.modules[name]
        raise


def load_core() -> ModuleType:
    """Return ``databricks.sdk.core``, importing as little of the SDK as possible."""
    core = sys.modules.get(f"{_PACKAGE}.core")
    if core is not None:
        return core
    # Import-time warnings of the SDK's dependencies (google-auth warns about the
    # Python version on every import, for one) are not the user's business.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if _PACKAGE not in sys.modules:
            try:
                _install_lazy_package()
            except Exception as e:  # any failure: the normal import is always correct
                logger.debug("fast databricks-sdk import failed, using the normal import: %s", e)
        return importlib.import_module(f"{_PACKAGE}.core")


# --- The private names, each with the public behaviour its caller keeps when it is gone. ---

PRIVATE_NAMES = {
    "ApiClient._api_client": "the inner client the names below hang on",
    "_BaseClient._perform": "one attempt through the SDK's request path; else ApiClient.do with the SDK's retries",
    "_BaseClient._user_agent_base": "the User-Agent ApiClient.do would send; else ApiClient.do",
    "_BaseClient._session": "the requests.Session our bounded reader mounts on; else ApiClient.do",
    "_BaseClient._error_parser._error_customizers": "our error messages; else the SDK's own",
    "_BaseClient._error_parser._error_parsers": "any error body gives an error; else the SDK's text",
    "core._ErrorCustomizer": "the base of our error customizer; else the SDK's messages",
    "databricks.sdk._base_client._BaseClient": "bounded host-metadata/OIDC probes; else the SDK's own clients",
    "Config._fix_host_if_needed": "host cut during construction; else cut after it",
    "Config._resolve_host_metadata": "no probe for a PAT; else the SDK probes (one more request)",
    "Config._load_from_env": "variables hidden per thread; else hidden from the process for a moment",
    "databricks.sdk.config.get_host_metadata": "bounded probe; else the SDK's unbounded one",
    "databricks.sdk.config.get_endpoints_from_url": "bounded OIDC discovery; else the SDK's unbounded one",
    "databricks.sdk.oauth.retrieve_token": "bounded M2M token requests; else the SDK's own",
    "databricks.sdk.oauth.Token": "the token class our retrieve_token returns (no fallback needed: same module)",
    "requests.Response._content": "a body we read ourselves, returned by .content",
}


def _moved(name: str, fallback: str) -> None:
    logger.debug("databricks-sdk internals moved (%s not found): %s", name, fallback)


def _lookup(name: str, owner: Any, attribute: str) -> Any:
    """``owner.attribute``, the private name ``name`` of PRIVATE_NAMES; None when this release moved it.

    Every accessor below reads the SDK's private names through here, one name at a time, so a test can
    make any one of them "moved" and watch its fallback carry a command (tests/test_sdk_seam.py).
    """
    return getattr(owner, attribute, None)


def loaded(name: str) -> ModuleType | None:
    """A module already imported (by load_core), without importing anything."""
    return sys.modules.get(name)


@dataclass(frozen=True)
class RequestPath:
    """The SDK's one-attempt request path: ``perform(method, url, query=, headers=, body=)``."""

    perform: Callable[..., Any]
    user_agent: str
    session: Any


def request_path(api_client: Any) -> RequestPath | None:
    """The inner client's ``_perform``, ``_user_agent_base`` and ``_session``; None if any has moved."""
    fallback = "using ApiClient.do with the SDK's retries"
    base = _lookup("ApiClient._api_client", api_client, "_api_client")
    if base is None:
        _moved("ApiClient._api_client", fallback)
        return None
    perform = _lookup("_BaseClient._perform", base, "_perform")
    user_agent = _lookup("_BaseClient._user_agent_base", base, "_user_agent_base")
    session = _lookup("_BaseClient._session", base, "_session")
    found = {
        "_perform": callable(perform),
        "_user_agent_base": isinstance(user_agent, str),
        "_session": session is not None,
    }
    if not all(found.values()):
        _moved(", ".join(f"_BaseClient.{name}" for name, ok in found.items() if not ok), fallback)
        return None
    return RequestPath(perform, user_agent, session)


@dataclass(frozen=True)
class ErrorHooks:
    """Where an error customizer and a last-resort error deserializer are added."""

    customizer_base: type
    customizers: list[Any]
    parsers: list[Any] | None


def error_hooks(api_client: Any, core: ModuleType) -> ErrorHooks | None:
    """The inner client's error parser lists and the SDK's customizer base; None if they moved."""
    inner = _lookup("ApiClient._api_client", api_client, "_api_client")
    parser = getattr(inner, "_error_parser", None)
    customizers = _lookup("_BaseClient._error_parser._error_customizers", parser, "_error_customizers")
    base = _lookup("core._ErrorCustomizer", core, "_ErrorCustomizer")
    if not isinstance(customizers, list) or not isinstance(base, type):
        what = "ApiClient._api_client" if inner is None else "_BaseClient._error_parser._error_customizers"
        _moved(what if isinstance(base, type) else "core._ErrorCustomizer", "the SDK's own error messages")
        return None
    parsers = _lookup("_BaseClient._error_parser._error_parsers", parser, "_error_parsers")
    if not isinstance(parsers, list):
        _moved("_BaseClient._error_parser._error_parsers", "the SDK's own text for an error body it cannot parse")
        parsers = None
    return ErrorHooks(base, customizers, parsers)


CONFIG_HOOKS = ("_fix_host_if_needed", "_resolve_host_metadata", "_load_from_env")


def config_hooks_present(config_cls: Any) -> dict[str, bool]:
    """Which of the private Config steps we override exist in the installed databricks-sdk."""
    return {name: callable(_lookup(f"Config.{name}", config_cls, name)) for name in CONFIG_HOOKS}


def config_subclass(
    base: type,
    fix_host: Callable[[Any], None],
    skip_host_metadata: Callable[[Any], bool],
    load_from_env: Callable[[Any], bool],
) -> type:
    """databricks-sdk's Config with its three private steps routed to our functions.

    ``fix_host(config)`` replaces ``_fix_host_if_needed``; ``skip_host_metadata(config)`` True skips
    ``_resolve_host_metadata``; ``load_from_env(config)`` True means it read the environment itself,
    else the SDK's ``_load_from_env`` runs. A release that renames a step never calls ours: see
    config_hooks_present(), which callers check to do the same work another way.
    """
    missing = [name for name, present in config_hooks_present(base).items() if not present]
    if missing:
        _moved(f"Config.{', Config.'.join(missing)}", "the caller does that work after construction")

    # base is the SDK's Config class, found at run time (the SDK loads lazily): mypy sees a variable.
    class Config(base):  # type: ignore[misc,valid-type]
        def _fix_host_if_needed(self) -> None:
            fix_host(self)

        def _resolve_host_metadata(self) -> None:
            if not skip_host_metadata(self):
                super()._resolve_host_metadata()

        def _load_from_env(self) -> None:
            if not load_from_env(self):
                super()._load_from_env()

    Config.__name__ = Config.__qualname__ = base.__name__
    return Config


def base_client_class() -> type | None:
    """databricks-sdk's ``_BaseClient`` (the probes' client), if loaded and still there."""
    cls = _lookup("databricks.sdk._base_client._BaseClient", loaded("databricks.sdk._base_client"), "_BaseClient")
    if not isinstance(cls, type):
        _moved("databricks.sdk._base_client._BaseClient", "the SDK's own clients for its probes")
        return None
    return cls


@contextlib.contextmanager
def rebound(module_name: str, wrappers: Mapping[str, Callable[[Any], Any]]) -> Iterator[dict[str, bool]]:
    """For the length of the block, each function ``name`` in ``module_name``'s namespace is replaced
    by ``wrappers[name](original)``; yields which were replaced. Missing names stay the SDK's."""
    module = loaded(module_name)
    names = vars(module) if module is not None else {}
    originals = {name: _lookup(f"{module_name}.{name}", module, name) for name in wrappers}
    for name, original in originals.items():
        if callable(original):
            names[name] = wrappers[name](original)
        else:
            _moved(f"{module_name}.{name}", "the SDK's own request")
    try:
        yield {name: callable(original) for name, original in originals.items()}
    finally:
        for name, original in originals.items():
            if callable(original):
                names[name] = original


def rebind(module_name: str, name: str, value: Callable[..., Any]) -> bool:
    """Bind ``value`` as ``name`` in ``module_name`` for good (the SDK calls it by that name)."""
    module = loaded(module_name)
    if module is None or not callable(_lookup(f"{module_name}.{name}", module, name)):
        _moved(f"{module_name}.{name}", "the SDK's own function")
        return False
    vars(module)[name] = value
    return True


def oauth_token_class() -> type:
    """databricks-sdk's OAuth ``Token`` class (what its token sources return)."""
    load_core()
    token: type = vars(sys.modules["databricks.sdk.oauth"])["Token"]
    return token


def settle_body(response: Any, body: bytes) -> None:
    """What requests does once it has read a body itself: later reads of ``.content`` return it."""
    response._content = body
    response._content_consumed = True

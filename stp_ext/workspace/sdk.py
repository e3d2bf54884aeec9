"""Load databricks-sdk's core (Config, ApiClient) without its service modules.

``import databricks.sdk`` executes a package ``__init__`` that imports every
generated service module: about 1 s of CPU before the first request. This tool
needs only ``databricks.sdk.core`` (about 0.15 s). We register the package
module without executing its ``__init__`` and give it a PEP 562 module
``__getattr__`` that runs the real ``__init__`` the first time anything else
asks for a name from it (``from databricks.sdk import WorkspaceClient`` keeps
working in the same process). If any step of this fails, we fall back to the
normal import: slower, never broken.

Some modules that ``core`` imports serve only some auth types: Google service
account impersonation (which pulls in ``cryptography``) and Azure (which pulls
in a generated service module and protobuf), together about half of core's
import time. They are registered as lazy modules (``importlib.util.LazyLoader``):
the names exist, and a module runs the first time anything is read from it,
which only those auth types do. A personal access token, a profile or OAuth
M2M never pays for them.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import logging
import sys
import warnings
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

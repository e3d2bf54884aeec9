"""Load databricks-sdk's core (Config, ApiClient) without its service modules.

``import databricks.sdk`` executes a package ``__init__`` that imports every
generated service module: about 1 s of CPU before the first request. This tool
needs only ``databricks.sdk.core`` (about 0.15 s). We register the package
module without executing its ``__init__`` and give it a PEP 562 module
``__getattr__`` that runs the real ``__init__`` the first time anything else
asks for a name from it (``from databricks.sdk import WorkspaceClient`` keeps
working in the same process). If any step of this fails, we fall back to the
normal import: slower, never broken.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import warnings
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

_PACKAGE = "databricks.sdk"


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

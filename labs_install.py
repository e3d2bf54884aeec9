"""The install hook of labs.yml: `databricks labs install .` runs it after choosing a workspace.

It checks that the Python the Databricks CLI picked can run databricks-stp and
says what to try next. See docs/labs.md.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from stp_ext.cli.labs import install_check
    except ImportError as e:
        sys.stderr.write(
            f"Error: {sys.executable} cannot import databricks-stp ({e})\n"
            "In a checkout run `make dev` first (it creates .venv, which `databricks labs` uses "
            "in development mode), then `databricks labs install .` again.\n"
        )
        sys.exit(1)
    sys.exit(install_check())

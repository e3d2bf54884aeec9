"""The script the Databricks CLI runs for `databricks labs stp <command>` (labs.yml: entrypoint).

It is run by path, `python labs_entrypoint.py '<json>'`, from the checkout (or
the unpacked release) with that folder on PYTHONPATH, and only hands over to
``stp_ext.cli.labs``. See docs/labs.md.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from stp_ext.cli.labs import main
    except ImportError as e:
        sys.stderr.write(
            f"Error: {sys.executable} cannot import databricks-stp ({e})\n"
            "In a checkout run `make dev` (it creates .venv, which `databricks labs` uses in development mode).\n"
        )
        sys.exit(1)
    sys.exit(main(sys.argv[1:]))

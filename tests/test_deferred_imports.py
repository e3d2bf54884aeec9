"""The project's imports are at the top of each module; one inside a function says why.

docs/architecture.md ("Imports at the top; the deferred ones say why"): an import of an
``stp_ext`` module or of a dependency inside a function is there only because at the top it
would load something new in `--help`, `--version`, completion or an offline command, and its
block says so in a ``# deferred:`` comment (on the line above the block, or at the end of the
import's line). The standard library's small modules are not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "stp_ext"
MARKER = "# deferred:"
# stp_ext and the dependencies in pyproject.toml (and what they bring that we import by name).
CHECKED = ("stp_ext", "click", "rich", "requests", "urllib3", "databricks", "werkzeug", "waitress")


def _unexplained(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    lines = path.read_text().splitlines()
    tree = ast.parse("\n".join(lines))
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    # Keyed by line: an import in a nested function is seen from both functions.
    imports = {n.lineno: n for f in functions for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
    import_lines = {line for n in imports.values() for line in range(n.lineno, (n.end_lineno or n.lineno) + 1)}
    found = []
    for node in imports.values():
        module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        if (module or "").split(".")[0] not in CHECKED or MARKER in lines[node.lineno - 1]:
            continue
        above = node.lineno - 1  # up through the block's other imports and blank lines
        while above >= 1 and (above in import_lines or not lines[above - 1].strip()):
            above -= 1
        if above < 1 or not lines[above - 1].strip().startswith(MARKER):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_every_import_inside_a_function_says_why_it_is_deferred() -> None:
    unexplained = [line for path in sorted(PACKAGE.rglob("*.py")) for line in _unexplained(path)]
    assert unexplained == [], "move these to the top, or say why not in a '# deferred:' comment:\n" + "\n".join(
        unexplained
    )


def test_the_check_finds_an_unexplained_import(tmp_path: Path) -> None:
    module = tmp_path / "stp_ext" / "m.py"
    module.parent.mkdir()
    module.write_text(
        "def explained():\n"
        "    # deferred: keeps databricks-sdk out of --help\n"
        "    from stp_ext.workspace.auth import connect\n"
        "    from stp_ext.services import flows\n"
        "\n"
        "    return connect, flows\n"
        "\n"
        "\n"
        "def unexplained():\n"
        "    import base64\n"
        "    from stp_ext.core import logs\n"
        "\n"
        "    import rich\n"
        "    return logs, rich, base64\n"
    )
    assert _unexplained(module, tmp_path) == [
        "stp_ext/m.py:11: from stp_ext.core import logs",
        "stp_ext/m.py:13: import rich",
    ]

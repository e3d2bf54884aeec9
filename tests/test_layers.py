"""The architecture, checked from the code: stp_ext's import graph has no circle and no arrow up a layer.

The graph is read with ``ast`` from every module of the package, counting every import: at the top,
inside functions (deferred to keep the SDK out of offline commands) and under TYPE_CHECKING alike,
so a circle cannot hide behind a deferred import. The rule is written in docs/architecture.md.
The same parse checks that no function is over 60 lines (issue 25).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import stp_ext

PACKAGE = Path(stp_ext.__file__).parent

# Top to bottom. A module may import its own folder and any folder on a LOWER line; folders on
# one line are siblings that never import each other. The package root ("": ``__version__``) is below all.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__main__",),
    ("cli",),
    ("render",),
    ("services",),
    ("emulator", "sample_partner"),
    ("connect", "workspace"),
    ("partner_config", "servers"),
    ("core",),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names} | {"": len(LAYERS)}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["stp_ext", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _target(name: str) -> str:
    """The module an import names (``from pkg import name`` may name a module or a value in pkg)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


@functools.cache  # parsed once for the tests below
def _parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache  # read once for the tests below
def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets: set[str] = set()
        for node in ast.walk(_parsed(path)):
            if isinstance(node, ast.Import):
                targets |= {_target(alias.name) for alias in node.names if alias.name.startswith("stp_ext")}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("stp_ext"):
                targets |= {_target(f"{node.module}.{alias.name}") for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level:
                pytest.fail(f"{module}: relative import; the rule reads absolute ones")
        graph[module] = targets - {module}
    return graph


def _folder(module: str) -> str:
    """The top-level folder (or module) of stp_ext that ``module`` belongs to; "" for the root."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of the graph, or [] (an iterative depth-first search: no recursion limit)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph[following])))
    return []


def test_every_folder_of_the_package_has_a_layer() -> None:
    folders = {_folder(module) for module in MODULES}
    assert folders - set(RANK) == set(), "a new folder needs a line in LAYERS and in docs/architecture.md"


def test_the_import_graph_has_no_circle() -> None:
    graph = _graph()
    assert sum(len(targets) for targets in graph.values()) > 100  # the graph was read, not skipped
    assert _cycle(graph) == []


def test_no_import_runs_back_up_a_layer() -> None:
    upward = []
    for module, targets in _graph().items():
        here = _folder(module)
        for target in targets:
            there = _folder(target)
            if there != here and RANK[there] <= RANK[here]:  # a folder imports itself freely
                upward.append(f"{module} -> {target}")
    assert sorted(upward) == []


def test_the_checks_catch_a_circle_and_a_sibling() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
    assert RANK["connect"] == RANK["workspace"]  # siblings: an import between them counts as upward


# -- functions short enough to read at once (issue 25) ----------------------------------------------

# The most lines a function may span, its def line to its last: a longer one is split into named steps.
MAX_FUNCTION_LINES = 60


def _long_functions(tree: ast.Module, where: str) -> list[str]:
    long = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                long.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return long


def test_no_function_is_over_sixty_lines() -> None:
    long = []
    for path in sorted(MODULES.values()):
        long += _long_functions(_parsed(path), str(path.relative_to(PACKAGE.parent)))
    assert long == [], f"split into named steps (at most {MAX_FUNCTION_LINES} lines each): " + "; ".join(long)


def test_the_length_check_counts_from_the_def_line_to_the_last() -> None:
    def function(body_lines: int) -> str:
        return "@decorated\ndef f(\n    x,\n):\n" + "    x += 1\n" * (body_lines - 1) + "    return x\n"

    assert _long_functions(ast.parse(function(57)), "m.py") == []  # 3 lines of signature + 57 of body: 60
    assert _long_functions(ast.parse(function(58)), "m.py") == ["m.py:2 f (61 lines)"]
    nested = "class C:\n    def m(self):\n" + "        pass\n" * 60
    assert _long_functions(ast.parse(nested), "m.py") == ["m.py:2 m (61 lines)"]

"""What `pip install databricks-stp` gets: build the sdist and, from it, the wheel, and read their file lists.

Built offline (``python -m build --no-isolation`` with the setuptools of this
environment) from a copy of the checkout, so the working tree is not touched.
Installing the wheel into a fresh virtualenv and running it is .ci/wheel-smoke.sh.
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
import sys
import tarfile
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = pytest.mark.packaging  # builds the sdist and the wheel (a few seconds): `make smoke` runs these

IGNORED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
)


def _offline_backend() -> bool:
    """The build-system floor (setuptools>=77: the SPDX licence string) builds wheels alone."""
    try:
        major = int(version("setuptools").split(".")[0])
    except (PackageNotFoundError, ValueError):
        return False
    return major >= 77


def _build(source: Path, out: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "build", *options, "--outdir", str(out), str(source)],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist, and the wheel built from it (as `make dist` does)."""
    pytest.importorskip("build", reason="the dev extra (pip install -e '.[dev]') provides `build`")
    source = tmp_path_factory.mktemp("source") / "databricks-stp"
    shutil.copytree(REPO, source, ignore=IGNORED)
    # Byte-code as a developer's tree has it: MANIFEST.in must keep it out of the sdist.
    compileall.compile_dir(str(source / "tests"), quiet=1)
    out = tmp_path_factory.mktemp("dist")
    # Offline with this environment's build backend when it has one; otherwise an isolated
    # build like `make dist`, which fetches setuptools from the package index.
    result = _build(source, out, *(["--no-isolation"] if _offline_backend() else []))
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def wheel_names(dist: Path) -> set[str]:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def sdist_names(dist: Path) -> set[str]:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        # Paths relative to the sdist's top folder (databricks_stp-X.Y.Z/).
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def _wheel_text(dist: Path, suffix: str) -> str:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(suffix)]
        return archive.read(name).decode()


def test_wheel_ships_the_data_files(wheel_names: set[str]) -> None:
    assert "stp_ext/partner-config.schema.json" in wheel_names
    assert "stp_ext/py.typed" in wheel_names


def test_wheel_ships_every_file_of_the_package(wheel_names: set[str]) -> None:
    # Catches a subpackage without __init__.py and data files missing from package-data.
    source = {
        path.relative_to(REPO).as_posix()
        for path in (REPO / "stp_ext").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert sorted(source - wheel_names) == []


def test_wheel_ships_nothing_else(wheel_names: set[str]) -> None:
    top = {name.split("/")[0] for name in wheel_names}
    assert {t for t in top if not t.endswith(".dist-info")} == {"stp_ext"}
    assert not [n for n in wheel_names if "__pycache__" in n or n.endswith(".pyc")]


def test_console_script_and_metadata(dist: Path) -> None:
    entry_points = _wheel_text(dist, ".dist-info/entry_points.txt")
    assert "[console_scripts]" in entry_points
    assert "databricks-stp = stp_ext.cli:main" in entry_points
    metadata = _wheel_text(dist, ".dist-info/METADATA")
    assert "Name: databricks-stp" in metadata
    assert "Requires-Python: >=3.9" in metadata
    assert "Requires-Dist: databricks-sdk" in metadata


def test_sdist_ships_examples_docs_tests_and_the_labs_project(sdist_names: set[str]) -> None:
    for example in (REPO / "examples").glob("*.json"):
        assert f"examples/{example.name}" in sdist_names
    for name in ("pyproject.toml", "labs.yml", "labs_entrypoint.py", "labs_install.py", "tests/conftest.py"):
        assert name in sdist_names
    for doc in (REPO / "docs").glob("*.md"):
        assert f"docs/{doc.name}" in sdist_names
    if (REPO / "README.md").exists():
        assert "README.md" in sdist_names
    assert not [n for n in sdist_names if "__pycache__" in n or n.endswith(".pyc")]

"""Files the tool writes: whole, and only the file named, never through a planted link (issue 22.3).

Reported: `--junit-xml out.xml` wrote `out.xml.tmp-PID` and `init` wrote
`.partner.json.PID.tmp`, names anyone with write access to the folder can
guess; a symbolic link planted there made the tool overwrite the link's
target (its mode changed to 0600), `init` without `--force` included.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from connect_fixtures import BASIC_PASSWORD, BASIC_USER, sample_partner, write_config

from stp_ext.core.safe_files import write_whole

VICTIM_TEXT = "a file the tool must never touch\n"


def victim(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "victim.txt"
    path.parent.mkdir()
    path.write_text(VICTIM_TEXT)
    path.chmod(0o644)
    return path


def assert_untouched(path: Path) -> None:
    assert path.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def plant(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp") or ".tmp-" in name)


def connect_test_with_report(run: Any, tmp_path: Path, report: Path) -> None:
    """One passing certification case against the sample partner, its JUnit report written to ``report``."""
    config = write_config(tmp_path)
    with sample_partner() as partner:
        result = run(
            "connect-test", "-f", str(config), "--url", partner.url, "--basic-user", BASIC_USER,
            "--basic-password-stdin", "--case", "P100", "--junit-xml", str(report), input=BASIC_PASSWORD,
        )  # fmt: skip
    assert result.exit_code == 0, result.stderr


def test_junit_xml_is_written_privately_never_through_a_link_at_the_old_temporary_name(
    run: Any, tmp_path: Path
) -> None:
    target = victim(tmp_path)
    report = tmp_path / "out.xml"
    plant(tmp_path / f"out.xml.tmp-{os.getpid()}", target)  # the name the tool used to write
    connect_test_with_report(run, tmp_path, report)
    assert_untouched(target)
    assert "<testsuite" in report.read_text()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600  # it quotes the partner's answers
    assert leftovers(tmp_path) == [f"out.xml.tmp-{os.getpid()}"]  # only the planted link: nothing of ours


def test_a_link_at_the_report_path_is_replaced_not_written_through(run: Any, tmp_path: Path) -> None:
    target = victim(tmp_path)
    report = plant(tmp_path / "out.xml", target)
    connect_test_with_report(run, tmp_path, report)
    assert_untouched(target)
    assert not report.is_symlink() and "<testsuite" in report.read_text()


def test_init_never_writes_through_a_link_at_the_old_temporary_name(run: Any, tmp_path: Path) -> None:
    target = victim(tmp_path)
    plant(tmp_path / f".partner.json.{os.getpid()}.tmp", target)
    result = run("init", "-f", str(tmp_path / "partner.json"))
    assert result.exit_code == 0, result.stderr
    assert_untouched(target)
    assert '"partner"' in (tmp_path / "partner.json").read_text()


@pytest.mark.parametrize("dangling", [True, False], ids=["link to nothing", "link to a file"])
def test_init_without_force_never_replaces_a_link_at_the_target(run: Any, tmp_path: Path, dangling: bool) -> None:
    target = victim(tmp_path)
    if dangling:
        target = target.parent / "does-not-exist-yet.json"
    link = plant(tmp_path / "partner.json", target)
    result = run("init", "-f", str(link))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {link} already exists; nothing was written")
    assert link.is_symlink() and os.readlink(link) == str(target)
    if dangling:
        assert not target.exists()  # nothing created through the link
    else:
        assert_untouched(target)


def test_a_name_taken_at_the_last_moment_is_not_overwritten_without_force(tmp_path: Path) -> None:
    """The check before the questions and the write after them: something may appear between."""
    path = tmp_path / "partner.json"
    path.write_text("theirs")
    with pytest.raises(FileExistsError):
        write_whole(path, b"ours", overwrite=False)
    assert path.read_text() == "theirs"
    assert leftovers(tmp_path) == []
    write_whole(path, b"ours")
    assert path.read_text() == "ours" and stat.S_IMODE(path.stat().st_mode) == 0o600

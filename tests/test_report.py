"""linkcheck.Run decides what the command reports: which files fail, which inputs are unreadable, and the
exit status, whatever renders them."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus, UsageError
from linkcheck.image.target import load_target
from linkcheck.report import Gates, Run

from conftest import FIXTURE_BIN


def test_a_matrix_informs_and_never_fails_the_run() -> None:
    run = Run()
    [checked] = run.check(FIXTURE_BIN / "c-glibc-dynamic")
    assert checked.matrix and any(not v.runs for v in checked.result.verdicts)
    assert not checked.failed and run.status is ExitStatus.OK
    assert checked.smallest is not None and checked.platform == "linux/amd64"


def test_a_platform_asked_gives_the_matrix_of_that_platform() -> None:
    [checked] = Run(platform="linux/arm64").check(FIXTURE_BIN / "go-static")
    assert checked.platform == "linux/arm64"
    assert {v.outcome.value for v in checked.result.verdicts} == {"wrong-architecture"}


def test_a_failed_gate_fails_and_a_named_input_that_cannot_be_read_is_status_2(tmp_path: Path) -> None:
    run = Run(gates=Gates(static=True))
    [dynamic] = run.check(FIXTURE_BIN / "c-glibc-dynamic")
    before = run.status
    assert dynamic.failed and not dynamic.unreadable and before is ExitStatus.WONT_RUN
    [missing] = run.check(tmp_path / "absent")
    after = run.status  # the same run: an unreadable input outranks a failure
    assert missing.unreadable and after is ExitStatus.ERROR


def test_an_unreadable_file_inside_a_tree_fails_the_tree_not_the_input(tmp_path: Path) -> None:
    (tmp_path / "cut").write_bytes((FIXTURE_BIN / "go-static").read_bytes()[:100])
    shutil.copy(FIXTURE_BIN / "go-static", tmp_path / "ok")
    run = Run([load_target("scratch", "linux/amd64")], jobs=1)
    by_name = {Path(c.result.path).name: c for c in run.check(tmp_path)}
    assert not by_name["ok"].failed
    assert run.files == 2 and run.unreadable == 0


def test_nothing_to_check_is_an_unreadable_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here\n")
    run = Run([load_target("alpine", "linux/amd64")])
    [empty] = run.check(tmp_path)
    assert empty.unreadable and run.status is ExitStatus.ERROR


def test_a_wheel_that_pip_would_refuse_fails_through_its_own_entry(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/_ext.so", (FIXTURE_BIN / "libhello-glibc.so").read_bytes())
    run = Run([load_target("alpine", "linux/amd64")])
    whole, module = run.check(wheel)
    assert whole.failed and whole.inside == str(wheel) and not module.failed
    assert run.status is ExitStatus.WONT_RUN


def test_bad_gate_values_are_usage_errors_before_any_file_is_read() -> None:
    for gates in ({"max_glibc": "two"}, {"arch": "vax"}):
        with pytest.raises(UsageError):
            Gates(**gates)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Run(platform="linux/vax")

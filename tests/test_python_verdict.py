"""verdict.python: a venv copied from a build stage and its extension modules, against the image's
Python (real runs: tests/test_python_runs.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linkcheck.errors import ExitStatus
from linkcheck.facts.reader import analyze
from linkcheck.facts.venv import read_venv
from linkcheck.facts.wheel import read_wheel
from linkcheck.image.target import load_target
from linkcheck.model import Outcome
from linkcheck.verdict.checks import check
from linkcheck.verdict.python import check_venv, module_name

from conftest import ROOT


def shared_object(path: Path) -> Path:
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc is not installed")
    path.parent.mkdir(parents=True, exist_ok=True)
    src = path.parent / "m.c"
    src.write_text("#include <stdio.h>\nint answer(void) { return puts(\"42\"); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(path), str(src)], check=True)
    src.unlink()
    return path


def docker_venv(tmp: Path, minor: int = 11) -> Path:
    """A venv as `python -m venv /venv` makes it in python:3.X images (Python 3.11+ writes `command`)."""
    venv = tmp / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / f"lib/python3.{minor}/site-packages/pkg").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(
        f"home = /usr/local/bin\ninclude-system-site-packages = false\nversion = 3.{minor}.9\n"
        f"executable = /usr/local/bin/python3.{minor}\ncommand = /usr/local/bin/python3 -m venv /venv\n")
    os.symlink("/usr/local/bin/python3", venv / "bin/python3")
    os.symlink("python3", venv / "bin/python")
    return venv


def test_venv_facts_follow_links_inside_bin(tmp_path: Path) -> None:
    venv = read_venv(str(docker_venv(tmp_path)))
    assert (venv.location, venv.python_link, venv.version, venv.minor) == (
        "/venv", "/usr/local/bin/python3", "3.11.9", 11)


def test_venv_for_another_python_is_a_mismatch(tmp_path: Path) -> None:
    venv = read_venv(str(docker_venv(tmp_path, 11)))
    verdict = check_venv(venv, load_target("python:3.12-alpine", "amd64"))
    assert verdict.outcome is Outcome.PYTHON_MISMATCH and "Python 3.11" in verdict.explanation
    assert check_venv(venv, load_target("python:3.11-slim-bookworm", "amd64")).runs


def test_venv_linking_an_interpreter_the_image_lacks(tmp_path: Path) -> None:
    venv_dir = docker_venv(tmp_path, 11)
    os.remove(venv_dir / "bin/python3")
    os.symlink("/usr/local/bin/python3.11", venv_dir / "bin/python3")
    verdict = check_venv(read_venv(str(venv_dir)), load_target("python:3.12-slim-bookworm", "amd64"))
    assert verdict.outcome is Outcome.MISSING_INTERPRETER
    assert verdict.problems[0].subject == "/usr/local/bin/python3.11"
    assert verdict.message == "exec /venv/bin/python: no such file or directory"
    assert "Its python is /usr/local/bin/python3.12 (Python 3.12)" in verdict.explanation


def test_module_of_another_python_is_never_imported(tmp_path: Path) -> None:
    so = shared_object(tmp_path / "venv/lib/python3.11/site-packages/pkg/_x.cpython-311-x86_64-linux-gnu.so")
    program = "/venv/lib/python3.11/site-packages/pkg/_x.cpython-311-x86_64-linux-gnu.so"
    assert module_name(program) == "pkg._x"
    verdict = check(analyze(so), load_target("python:3.12-slim-bookworm", "amd64"),
                    install_dir=os.path.dirname(program))
    assert verdict.outcome is Outcome.PYTHON_MISMATCH
    assert verdict.message == "ModuleNotFoundError: No module named 'pkg._x'"
    assert check(analyze(so), load_target("python:3.11-slim-bookworm", "amd64"),
                 install_dir=os.path.dirname(program)).runs


def test_glibc_module_on_musl_python_is_caught(tmp_path: Path) -> None:
    """An abi3 (or untagged) glibc module is imported by a musl python, and the loader decides."""
    so = shared_object(tmp_path / "site-packages/pkg/_x.abi3.so")
    verdict = check(analyze(so), load_target("python:3.12-alpine", "amd64"),
                    install_dir="/venv/lib/python3.12/site-packages/pkg")
    assert not verdict.runs and any(p.subject == "manylinux" for p in verdict.problems)


@pytest.mark.parametrize(("suffix", "image"), [("x86_64-linux-gnu", "python:3.12-alpine3.22"),
                                               ("x86_64-linux-musl", "python:3.12-slim-bookworm")])
def test_module_named_for_the_other_libc_is_never_imported(tmp_path: Path, suffix: str, image: str) -> None:
    """CPython imports only its own platform triplet's modules: a manylinux module's -linux-gnu name on a
    musl python (and a musllinux module's -linux-musl on glibc's) is not looked at (real imports:
    tests/test_python_musl_runs.py)."""
    so = shared_object(tmp_path / f"site-packages/pkg/_x.cpython-312-{suffix}.so")
    verdict = check(analyze(so), load_target(image, "amd64"),
                    install_dir="/venv/lib/python3.12/site-packages/pkg")
    assert verdict.outcome is Outcome.PYTHON_MISMATCH and verdict.problems[0].subject.startswith("linux-")
    assert verdict.message == "ModuleNotFoundError: No module named 'pkg._x'"
    # An older CPython's musl naming is not known: the rule is not applied there.
    older = check(analyze(so), load_target(image.replace("3.12", "3.10"), "amd64"),
                  install_dir="/venv/lib/python3.10/site-packages/pkg")
    assert not any(p.subject.startswith("linux-") for p in older.problems)


def test_cli_on_a_copied_venv_names_interpreter_and_modules(tmp_path: Path) -> None:
    venv = docker_venv(tmp_path, 11)
    shared_object(venv / "lib/python3.11/site-packages/pkg/_x.cpython-311-x86_64-linux-gnu.so")
    result = subprocess.run([sys.executable, "-m", "linkcheck", str(venv), "--target", "python:3.12-alpine",
                             "--platform", "amd64", "--json"], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == ExitStatus.WONT_RUN, result.stderr
    outcomes = {Path(f["path"]).name: f["verdicts"][0]["outcome"] for f in json.loads(result.stdout)["files"]}
    assert outcomes["venv"] == "python-mismatch"
    assert outcomes["_x.cpython-311-x86_64-linux-gnu.so"] == "python-mismatch"


def test_wheel_for_another_python_is_refused_in_pips_words(tmp_path: Path) -> None:
    import zipfile

    wheel = tmp_path / "demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: cp311-cp311-manylinux_2_17_x86_64\n")
    report = read_wheel(str(wheel), target=load_target("python:3.12-slim-bookworm", "amd64"))
    refused = [f.message for f in report.findings if f.kind == "not-installable"]
    assert refused and refused[0].endswith(
        "pip says 'ERROR: demo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl is not a supported wheel on this "
        "platform.'")
    ok = read_wheel(str(wheel), target=load_target("python:3.11-slim-bookworm", "amd64"))
    assert not [f for f in ok.findings if f.kind == "not-installable"]

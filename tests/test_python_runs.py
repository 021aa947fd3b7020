"""Python verdicts against real runs with Debian bookworm's python3 (3.11) in a debootstrapped root: a venv
made in the root runs; a venv made on this machine and copied in (its bin/python links an interpreter the
root lacks) fails as predicted; an extension module named for another CPython is not found by import,
in Python's words. Slow (debootstrap): LINKCHECK_SLOW=1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from linkcheck.facts.reader import analyze
from linkcheck.facts.venv import read_venv
from linkcheck.image.target import load_target
from linkcheck.model import Outcome, RuntimeKind
from linkcheck.verdict.checks import check
from linkcheck.verdict.python import check_venv

from conftest import slow
from launch import run_in_root
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [slow, pytest.mark.chroot]


def _venv_in_root(root: Path) -> Path:
    venv = root / "venv"
    if not (venv / "pyvenv.cfg").exists():
        got = run_in_root(root, "/usr/bin/python3", ["python3", "-m", "venv", "--without-pip", "/venv"],
                          timeout=120)
        assert got.exit_code == 0, got.stderr
    return venv


def _so(path: Path) -> None:
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc is not installed")
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "__init__.py").touch()
    src = path.parent / "m.c"
    src.write_text("#include <stdio.h>\nint answer(void) { return puts(\"42\"); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(path), str(src)], check=True)
    src.unlink()


def test_root_python_is_read(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    python = load_target(str(root)).runtime(RuntimeKind.PYTHON)
    got = run_in_root(root, "/usr/bin/python3", ["python3", "-c", "import sys; print(sys.version_info[1])"])
    assert python is not None and str(python.release) == got.stdout.strip()


def test_venv_made_in_the_root_runs(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    venv = _venv_in_root(root)
    verdict = check_venv(read_venv(str(venv)), load_target(str(root)))
    real = run_in_root(root, "/venv/bin/python", ["/venv/bin/python", "-c", "print('ok')"])
    assert verdict.runs and real.exit_code == 0 and real.stdout.strip() == "ok"


def test_venv_from_another_machine_fails_as_predicted(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    made_at = Path("/tmp/linkcheck-venv-probe")
    shutil.rmtree(made_at, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(made_at)], check=True)
    try:
        inside = root / str(made_at).lstrip("/")
        shutil.rmtree(inside, ignore_errors=True)
        shutil.copytree(made_at, inside, symlinks=True)
        venv = read_venv(str(inside))
        assert venv.location == str(made_at)
        verdict = check_venv(venv, load_target(str(root)))
        link = venv.python_link or ""
        if os.path.exists(root / link.lstrip("/")):
            pytest.skip(f"the root happens to have {link}")
        program = f"{made_at}/bin/python"
        try:
            real = run_in_root(root, program, [program, "-c", "pass"])
        except FileNotFoundError:
            real = None  # the dangling link: execve would fail with ENOENT, as run_in_root's check shows
        assert verdict.outcome is Outcome.MISSING_INTERPRETER
        assert real is None or real.errno is not None
        assert verdict.message == f"exec {program}: no such file or directory"
    finally:
        shutil.rmtree(made_at, ignore_errors=True)


def test_module_for_another_cpython_is_not_found_by_import(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    venv = _venv_in_root(root)
    target = load_target(str(root))
    python = target.runtime(RuntimeKind.PYTHON)
    assert python is not None
    site = venv / f"lib/python3.{python.release}/site-packages"
    for minor, pkg in ((python.release + 1, "other"), (python.release, "same")):
        so = site / pkg / f"_x.cpython-3{minor}-x86_64-linux-gnu.so"
        _so(so)
        program = "/" + str(so.relative_to(root))
        verdict = check(analyze(so), target, install_dir=os.path.dirname(program))
        # argv[0] as a shell passes it: Python finds its venv (pyvenv.cfg) from it.
        real = run_in_root(root, "/venv/bin/python", ["/venv/bin/python", "-c", f"import {pkg}._x"])
        last = real.stderr.strip().splitlines()[-1]
        if minor == python.release:
            # Found, loaded by the loader, and refused by Python for its missing PyInit: past our check.
            assert verdict.runs and last.startswith("ImportError: dynamic module does not define"), last
        else:
            assert verdict.outcome is Outcome.PYTHON_MISMATCH and verdict.message == last

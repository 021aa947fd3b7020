"""Python verdicts against real imports on musl: a CPython built for musl (scripts/build_musl_python.sh:
this machine's own python3 source, compiled with musl-gcc) run in the real alpine root, importing real
wheels' extension modules from PyPI (MarkupSafe's musllinux and manylinux builds, bcrypt's abi3 ones);
and the musllinux module imported by Debian bookworm's python3 for the other side. Each verdict for the
root as a directory target is compared with what the import really did.

The build is cached under /var/tmp/linkcheck-musl-python-KEY (KEY: the build script's hash) and the
wheels under /var/tmp/linkcheck-wheels-KEY (KEY: the list). Slow (compiles CPython once; pip download):
LINKCHECK_SLOW=1.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from linkcheck.facts.reader import analyze
from linkcheck.image.target import load_target
from linkcheck.model import Libc, Outcome, RuntimeKind
from linkcheck.verdict.checks import check

from conftest import ROOT, slow
from launch import run_in_root
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [slow, pytest.mark.chroot]

CACHE = Path("/var/tmp")
BUILD_SCRIPT = ROOT / "scripts/build_musl_python.sh"
# (requirement, pip platform): real wheels with extension modules for both libcs.
WHEELS = (("MarkupSafe==2.1.5", "musllinux_1_1_x86_64"), ("MarkupSafe==2.1.5", "manylinux2014_x86_64"),
          ("bcrypt==4.1.3", "musllinux_1_1_x86_64"), ("bcrypt==4.1.3", "manylinux_2_28_x86_64"))
PYTHON = "/usr/local/bin/python3"


def musl_python() -> Path:
    """The musl CPython's install tree (holding usr/local), built once per build script."""
    key = hashlib.sha256(BUILD_SCRIPT.read_bytes()).hexdigest()[:16]
    out = CACHE / f"linkcheck-musl-python-{key}"
    if not (out / ".complete").exists():
        if shutil.which("musl-gcc") is None:
            pytest.skip("musl-gcc is not installed (scripts/test.sh installs musl-tools)")
        got = subprocess.run(["bash", str(BUILD_SCRIPT), str(out)], capture_output=True, text=True,
                             timeout=3600, check=False)
        if got.returncode != 0:
            pytest.skip(f"building a musl CPython failed: {got.stderr.strip()[-400:]}")
    return out


def wheels() -> Path:
    """The wheels of WHEELS, downloaded with pip once per list."""
    key = hashlib.sha256(repr(WHEELS).encode()).hexdigest()[:16]
    out = CACHE / f"linkcheck-wheels-{key}"
    if not (out / ".complete").exists():
        out.mkdir(parents=True, exist_ok=True)
        for requirement, platform in WHEELS:
            got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                  "--only-binary=:all:", "--platform", platform, "--python-version", "3.11",
                                  "--implementation", "cp", "-d", str(out), requirement],
                                 capture_output=True, text=True, timeout=600, check=False)
            if got.returncode != 0:
                pytest.skip(f"pip download {requirement} ({platform}) failed: {got.stderr.strip()[-300:]}")
        (out / ".complete").touch()
    return out


def _alpine_with_python(factory: RootFactory) -> Path:
    root = factory.get("alpine-3.20.3-x86_64")
    if not (root / PYTHON.lstrip("/")).exists():
        shutil.copytree(musl_python() / "usr/local", root / "usr/local", symlinks=True, dirs_exist_ok=True)
    return root


def _install(root: Path, wheel: Path, where: str) -> Path:
    """The wheel unpacked as pip would into ``where``/site-packages in the root (its files only)."""
    site = root / where.lstrip("/") / "site-packages"
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    return site


def _import(root: Path, python: str, site: str, module: str) -> tuple[bool, str]:
    code = f"import sys; sys.path.insert(0, {site!r}); import {module}"
    got = run_in_root(root, python, ["python3", "-c", code], timeout=60)
    return got.exit_code == 0, got.stderr.strip().splitlines()[-1] if got.stderr.strip() else ""


def _wheel(directory: Path, name: str, platform: str) -> Path:
    tag = platform.split("_")[0]
    found = sorted(p for p in directory.glob(f"{name}-*.whl") if tag in p.name)
    assert found, f"no {name} {platform} wheel in {directory}"
    return found[0]


def test_the_musl_python_is_read_from_the_root(root_factory: RootFactory) -> None:  # noqa: F811
    root = _alpine_with_python(root_factory)
    target = load_target(str(root))
    python = target.runtime(RuntimeKind.PYTHON)
    got = run_in_root(root, PYTHON, ["python3", "-c", "import sys, sysconfig; print(sys.version_info[1], "
                                     "sysconfig.get_config_var('EXT_SUFFIX'))"], timeout=60)
    assert got.exit_code == 0, got.stderr
    minor, suffix = got.stdout.split()
    assert target.libc is Libc.MUSL and python is not None and python.release == int(minor)
    assert suffix.endswith("-linux-musl.so"), suffix  # the name musl's CPython gives its modules


@pytest.mark.parametrize(("name", "module"), [("MarkupSafe", "markupsafe._speedups"),
                                              ("bcrypt", "bcrypt._bcrypt")])
@pytest.mark.parametrize("platform", ["musllinux", "manylinux"])
def test_module_import_on_musl_python_matches_the_verdict(root_factory: RootFactory, name: str,  # noqa: F811
                                                          module: str, platform: str) -> None:
    root = _alpine_with_python(root_factory)
    where = f"/app/{name}-{platform}"
    site = _install(root, _wheel(wheels(), name, platform), where)
    (so,) = [p for p in site.rglob("*.so")]
    in_root = "/" + str(so.relative_to(root))
    verdict = check(analyze(so), load_target(str(root)), install_dir=str(Path(in_root).parent))
    imported, error = _import(root, PYTHON, f"{where}/site-packages", module)
    assert verdict.runs == imported, (so.name, verdict.outcome, verdict.problems, error)
    if not imported:  # ModuleNotFoundError for a name it never looks at, else the loader's ImportError
        assert verdict.message == error


def test_musllinux_module_on_glibc_python_is_not_imported(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("debian-bookworm-runtimes")
    where = "/app/MarkupSafe-musllinux"
    site = _install(root, _wheel(wheels(), "MarkupSafe", "musllinux"), where)
    (so,) = [p for p in site.rglob("*.so")]
    in_root = "/" + str(so.relative_to(root))
    verdict = check(analyze(so), load_target(str(root)), install_dir=str(Path(in_root).parent))
    imported, error = _import(root, "/usr/bin/python3", f"{where}/site-packages", "markupsafe._speedups")
    assert not imported and not verdict.runs
    assert verdict.outcome is Outcome.PYTHON_MISMATCH and verdict.message == error

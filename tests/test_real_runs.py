"""Proof, not belief: fixtures started for real in real root filesystems (chroot + execve).

Part (a) pins facts that hold by construction, with no linkcheck involved: they check the roots and
the launcher themselves. Part (b) runs every fixture in every root and asserts that linkcheck's
prediction is what the kernel and the loader really did.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from linkcheck.model import Outcome

from conftest import FIXTURE_BIN, FIXTURES, load_manifest, needs_root
from launch import RealOutcome, install, run_in_root
from roots import RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [needs_root, pytest.mark.chroot]

MANIFEST = load_manifest()


def fixture_path(name: str) -> Path:
    return FIXTURES / MANIFEST[name]["path"]


def need_fixture(name: str) -> Path:
    if name not in MANIFEST:
        pytest.skip(f"fixture {name} is not in the manifest")
    return fixture_path(name)


def put(root: Path, name: str, where: str = "/app") -> str:
    """Install the fixture (mode 0755) at WHERE/NAME, with fixtures/bin/lib at WHERE/lib ($ORIGIN/lib)."""
    lib_dir = FIXTURE_BIN / "lib"
    if lib_dir.is_dir():
        for lib in sorted(lib_dir.iterdir()):
            if lib.is_file():
                install(root, lib, f"{where}/lib/{lib.name}")
    return install(root, need_fixture(name), f"{where}/{name}")


def run(factory: RootFactory, root_name: str, fixture: str) -> RealOutcome:
    root = factory.get(root_name)
    return run_in_root(root, put(root, fixture))


# --- (a) real facts by construction -------------------------------------------------------------

STATIC = ("c-glibc-static", "c-glibc-static-pie", "c-musl-static", "go-static", "go-netgo")


@pytest.mark.parametrize("name", STATIC)
def test_static_program_runs_in_scratch(root_factory: RootFactory, name: str) -> None:  # noqa: F811
    got = run(root_factory, "scratch", name)
    assert got.outcome is Outcome.RUNS, got
    assert got.exit_code == 0 and "hello" in got.stdout.lower()


@pytest.mark.parametrize("name", ["c-glibc-dynamic", "c-glibc-nopie", "go-cgo-net", "c-musl-dynamic"])
def test_dynamic_program_in_scratch_is_enoent(root_factory: RootFactory, name: str) -> None:  # noqa: F811
    got = run(root_factory, "scratch", name)
    assert got.errno == errno.ENOENT and got.outcome is Outcome.MISSING_INTERPRETER, got


@pytest.mark.parametrize("name", ["c-glibc-dynamic-aarch64", "c-glibc-static-aarch64", "go-static-arm64",
                                  "go-static-riscv64", "go-static-s390x", "go-static-mips"])
def test_foreign_cpu_is_exec_format_error(root_factory: RootFactory, name: str) -> None:  # noqa: F811
    # Even the static ones, in a root that has everything else: the kernel refuses the ELF itself.
    got = run(root_factory, "glibc-host", name)
    assert got.errno == errno.ENOEXEC and got.outcome is Outcome.WRONG_ARCHITECTURE, got


@pytest.mark.parametrize("name", ["c-glibc-dynamic", "c-glibc-nopie", "c-glibc-stripped-sections",
                                  "cxx-glibc", "rust-glibc", "go-cgo-net", "c-glibc-new"])
def test_glibc_program_runs_in_glibc_host(root_factory: RootFactory, name: str) -> None:  # noqa: F811
    got = run(root_factory, "glibc-host", name)
    assert got.outcome is Outcome.RUNS, got
    assert "hello" in got.stdout.lower()


@pytest.mark.parametrize(
    ("name", "library"), [("cxx-glibc", "libstdc++.so.6"), ("rust-glibc", "libgcc_s.so.1")]
)
def test_glibc_stops_at_first_missing_library(root_factory: RootFactory, name: str, library: str) -> None:  # noqa: F811
    got = run(root_factory, "glibc-host-nocxx", name)
    assert got.exit_code == 127 and got.outcome is Outcome.MISSING_LIBRARY, got
    # glibc's loader names only the first library it could not open.
    assert got.names == (library,)
    assert "error while loading shared libraries" in got.stderr


def test_musl_loader_names_every_missing_library(root_factory: RootFactory) -> None:  # noqa: F811
    # musl's loader, asked to load a glibc C++ program, reports each library it lacks (libc.so.6 is
    # one of the names it satisfies itself), then every unresolved symbol, then exits 127.
    root = root_factory.get("musl")
    program = put(root, "cxx-glibc")
    got = run_in_root(root, "/lib/ld-musl-x86_64.so.1", ["ld-musl", program])
    assert got.exit_code == 127 and got.outcome is Outcome.MISSING_LIBRARY, got
    assert set(got.names) == {"libstdc++.so.6", "libgcc_s.so.1"}
    assert "Error relocating" in got.stderr and "symbol not found" in got.stderr


def test_needs_missing_names_the_library(root_factory: RootFactory) -> None:  # noqa: F811
    got = run(root_factory, "glibc-host", "c-needs-missing")
    assert got.outcome is Outcome.MISSING_LIBRARY and got.names == ("libfixturemissing.so",), got


@pytest.mark.parametrize("name", ["c-rpath", "c-runpath"])
def test_origin_library_found_only_beside_the_program(root_factory: RootFactory, name: str) -> None:  # noqa: F811
    root = root_factory.get("glibc-host")
    assert run_in_root(root, put(root, name)).outcome is Outcome.RUNS
    # Without its lib/ directory beside it, the same program cannot start.
    alone = install(root, need_fixture(name), f"/alone/{name}")
    got = run_in_root(root, alone)
    assert got.outcome is Outcome.MISSING_LIBRARY and got.names == ("libfixture.so",), got


def test_musl_program_runs_on_musl_not_on_glibc(root_factory: RootFactory) -> None:  # noqa: F811
    assert run(root_factory, "musl", "c-musl-dynamic").outcome is Outcome.RUNS
    got = run(root_factory, "glibc-host", "c-musl-dynamic")
    assert got.errno == errno.ENOENT, got


def test_crlf_shebang_is_enoent_though_sh_exists(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("glibc-host")
    assert run_in_root(root, put(root, "script-sh")).outcome is Outcome.RUNS
    got = run_in_root(root, put(root, "script-crlf"))
    assert got.errno == errno.ENOENT and got.outcome is Outcome.MISSING_INTERPRETER, got


def test_env_crlf_and_missing_python_fail_in_env(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("glibc-host")
    crlf = run_in_root(root, put(root, "script-env-crlf"))
    assert crlf.exit_code == 127 and crlf.names == ("sh\r",), crlf
    py = run_in_root(root, put(root, "script-env-python3"))
    assert py.exit_code == 127 and py.names == ("python3",) and py.outcome is Outcome.MISSING_INTERPRETER, py


def test_bash_script_on_busybox_is_enoent(root_factory: RootFactory) -> None:  # noqa: F811
    got = run(root_factory, "busybox-static", "script-bash")
    assert got.errno == errno.ENOENT, got


def test_no_shell_fallback_for_text_without_shebang(root_factory: RootFactory) -> None:  # noqa: F811
    # /bin/sh exists in this root: execvp (coreutils chroot) would run the text through it. execve
    # must not: the kernel's ENOEXEC has to surface.
    root = root_factory.get("glibc-host")
    assert (root / "bin/sh").exists()
    got = run_in_root(root, put(root, "script-noshebang"))
    assert got.errno == errno.ENOEXEC and got.outcome is Outcome.NOT_EXECUTABLE, got
    assert got.stdout == ""


def test_i386_program_needs_its_own_loader(root_factory: RootFactory) -> None:  # noqa: F811
    # The x86-64 kernel runs i386 programs (IA-32 emulation): the failure is the missing
    # /lib/ld-linux.so.2, ENOENT, not an exec format error.
    got = run(root_factory, "glibc-host", "c-glibc-i386")
    assert got.errno == errno.ENOENT, got


def test_shared_library_started_as_program_crashes(root_factory: RootFactory) -> None:  # noqa: F811
    # A shared library without PT_INTERP is mapped by the kernel and jumps to entry 0: it starts,
    # then dies from a signal. No loader message.
    got = run(root_factory, "scratch", "libhello-glibc.so")
    assert got.errno is None and got.exit_code is not None and got.exit_code < 0, got


def test_real_image_roots_run_their_own_shell(root_factory: RootFactory) -> None:  # noqa: F811
    for name in ("alpine-3.20.3-x86_64", "busybox-musl", "busybox-uclibc", "busybox-glibc"):
        root = root_factory.get(name)
        got = run_in_root(root, "/bin/sh", ["sh", "-c", "echo ok"])
        assert got.outcome is Outcome.RUNS and got.stdout == "ok\n", (name, got)

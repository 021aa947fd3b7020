"""Proof, not belief: fixtures started for real in real root filesystems (chroot + execve).

Part (a) pins facts that hold by construction, with no linkcheck involved: they check the roots and
the launcher themselves. Part (b) runs every fixture in every root and asserts that linkcheck's
prediction is what the kernel and the loader really did.
"""

from __future__ import annotations

import errno
import os
import posixpath
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from linkcheck.errors import LinkcheckError
from linkcheck.model import Outcome

from conftest import FIXTURE_BIN, FIXTURES, SHARED_ROOTFS, load_manifest, needs_root
from launch import (
    DEFAULT_PATH,
    GLIBC_LOADER,
    RealOutcome,
    in_root_file,
    install,
    load_library_in_root,
    loader_flavour,
    resolve_in_root,
    run_in_root,
    shell_says,
    trace,
)
from roots import ALL_ROOTS, IMAGE_ROOTS, RootFactory, root_factory  # noqa: F401  (the session fixture)

pytestmark = [needs_root, pytest.mark.chroot]

MANIFEST = load_manifest()


def fixture_path(name: str) -> Path:
    return FIXTURES / str(MANIFEST[name]["path"])


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


def run_java(root: Path, name: str) -> RealOutcome:
    """A jar or class file is started by the image's java (`java -jar /app/x.jar`, `java -cp /app X`):
    as runc does, ``java`` is looked up on PATH in the root, and a missing one is ENOENT before anything
    runs."""
    in_root = put(root, name)
    java = next((f"{d}/java" for d in DEFAULT_PATH.split(":")
                 if (found := resolve_in_root(root, f"{d}/java")) is not None and found.is_file()), None)
    if java is None:
        return RealOutcome(Outcome.MISSING_INTERPRETER, errno.ENOENT, None, "", "",
                           detail="no java on PATH: runc's exec lookup fails")
    if name.endswith(".jar"):
        argv = ["java", "-jar", in_root]
    else:
        argv = ["java", "-cp", posixpath.dirname(in_root), posixpath.basename(in_root)[: -len(".class")]]
    return run_in_root(root, java, argv, timeout=60)


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


def test_file_without_execute_bit_is_eacces(root_factory: RootFactory) -> None:  # noqa: F811
    root = root_factory.get("scratch")
    program = install(root, need_fixture("c-glibc-static"), "/app/no-x-bit", mode=0o644)
    got = run_in_root(root, program)
    assert got.errno == errno.EACCES and got.outcome is Outcome.NOT_EXECUTABLE, got


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


def test_glibc_loader_symlinked_to_musl(root_factory: RootFactory) -> None:  # noqa: F811
    # The hack: /lib64/ld-linux-x86-64.so.2 -> musl's loader. A plain C program starts; one that
    # imports a function this musl lacks fails at relocation, naming it, with musl's words.
    root = root_factory.get("musl-glibc-link")
    assert run_in_root(root, put(root, "c-glibc-dynamic")).outcome is Outcome.RUNS
    got = run_in_root(root, put(root, "c-glibc-arc4random"))
    assert got.outcome is Outcome.MISSING_SYMBOL and got.names == ("arc4random",), got
    assert got.exit_code == 127 and "Error relocating" in got.stderr


def test_real_image_roots_run_their_own_shell(root_factory: RootFactory) -> None:  # noqa: F811
    for name in ("alpine-3.20.3-x86_64", "busybox-musl", "busybox-uclibc", "busybox-glibc"):
        root = root_factory.get(name)
        got = run_in_root(root, "/bin/sh", ["sh", "-c", "echo ok"])
        assert got.outcome is Outcome.RUNS and got.stdout == "ok\n", (name, got)


# --- (b) the matrix: every fixture in every root, linkcheck's prediction against the real run ------

# (fixture, root) -> the precise reason linkcheck's prediction differs from the real run. Each entry
# is a linkcheck bug, kept as a strict xfail so that fixing it turns the case green.
_ENV_HINT_BULLSEYE = (
    "bullseye's env (coreutils 8.32) prints only \"/usr/bin/env: 'sh\\r': No such file or directory\"; "
    "linkcheck's shell message adds bookworm's second line '/usr/bin/env: use -[v]S to pass options in "
    "shebang lines', which coreutils 8.32 does not print"
)
KNOWN_MISMATCHES: dict[tuple[str, str], str] = {
    ("script-env-crlf", "debian-bullseye"): _ENV_HINT_BULLSEYE,
}

_TARGETS: dict[str, Any] = {}


def linkcheck_api() -> SimpleNamespace:
    """linkcheck's reader, targets and verdicts; skip until they exist."""
    return SimpleNamespace(
        analyze=pytest.importorskip("linkcheck.facts.reader").analyze,
        load_target=pytest.importorskip("linkcheck.image.target").load_target,
        check=pytest.importorskip("linkcheck.verdict.checks").check,
        host_dir_files=pytest.importorskip("linkcheck.image.rootfs").host_dir_files,
    )


def target_of(api: SimpleNamespace, root_name: str, root: Path, via: str = "dir") -> Any:
    if via == "archive":
        # The same image read by linkcheck from the published archive (tarball or OCI layout), not
        # from the directory the run happened in.
        key = f"{root_name} (archive)"
        if key not in _TARGETS:
            _TARGETS[key] = api.load_target(str(SHARED_ROOTFS / IMAGE_ROOTS[root_name]))
        return _TARGETS[key]
    if root_name not in _TARGETS:
        # An empty root (scratch) is for the machine it runs on, as `docker run` would run it.
        _TARGETS[root_name] = api.load_target(str(root))
    return _TARGETS[root_name]


def describe(real: RealOutcome) -> str:
    how = f"errno {errno.errorcode[real.errno]}" if real.errno else f"exit {real.exit_code}"
    return f"{real.outcome.value} ({how}{', ' + ', '.join(map(repr, real.names)) if real.names else ''})"


def check_messages(root: Path, program: str, real: RealOutcome, verdict: Any, said: str,
                   command: str | None = None) -> None:
    """The words: what `docker run` prints (runc's "exec PROGRAM: " + the errno's text, or the
    loader's first line), and what a person at the image's shell prompt sees (the shell the
    prediction names, run interactively for real). ``command``: what is typed, when it is not the
    program itself (`java -jar /app/x.jar`)."""
    if command is not None and real.exit_code is None:
        expected = 'exec: "java": executable file not found in $PATH'  # runc's lookup of argv[0]
    elif real.errno is not None:
        expected = f"exec {program}: {os.strerror(real.errno).lower()}"
    else:
        expected = real.stderr.strip().split("\n")[0]
    assert verdict.message.split("\n")[0] == expected, f"{said}\nmessage {verdict.message!r}"
    predicted = verdict.shell_message.strip()
    shell = "/bin/bash" if predicted.startswith("bash:") else "/bin/sh"
    if predicted.startswith("(") or resolve_in_root(root, shell) is None:
        return  # a description, not words a shell prints; or no shell in the image
    lines = predicted.split("\n")
    heard = shell_says(root, command or program, shell).split("\n")
    # musl's loader also prints a line per unresolved symbol after the libraries: a prefix suffices.
    assert heard[: len(lines)] == lines, f"{said}\nthe shell printed {heard!r}, predicted {lines!r}"


def is_library(facts: dict[str, Any]) -> bool:
    """A shared library by its recipe: an ELF shared object without a program interpreter."""
    return (facts.get("format") == "elf" and facts.get("interpreter") is None and bool(facts.get("soname"))
            and facts.get("linkage") in ("glibc-dynamic", "musl-dynamic", "no-libc"))


def matrix_cases() -> list[Any]:
    cases = []
    for root_name in ALL_ROOTS:
        for via in ("dir", "archive") if root_name in IMAGE_ROOTS else ("dir",):
            for name in sorted(MANIFEST):
                marks = []
                if (name, root_name) in KNOWN_MISMATCHES:
                    marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_MISMATCHES[(name, root_name)]))
                case_id = f"{name}@{root_name}" + ("" if via == "dir" else "-archive")
                cases.append(pytest.param(name, root_name, via, id=case_id, marks=marks))
    return cases


@pytest.mark.parametrize(("name", "root_name", "via"), matrix_cases())
def test_prediction_matches_real_run(
    root_factory: RootFactory, name: str, root_name: str, via: str  # noqa: F811
) -> None:
    api = linkcheck_api()
    root = root_factory.get(root_name)
    facts = MANIFEST[name]
    if is_library(facts):
        # The kernel cannot run a shared library (see test_shared_library_started_as_program_crashes):
        # the real question is whether the root's own loader can load it.
        real = load_library_in_root(root, put(root, name), str(facts.get("libc")))
    elif facts.get("format") in ("jar", "java-class"):
        real = run_java(root, name)
    else:
        real = run_in_root(root, put(root, name))
    path = need_fixture(name)
    try:
        analysis = api.analyze(path)
    except LinkcheckError as exc:
        # linkcheck refuses to read the file: acceptable only when the kernel refused it too.
        assert not real.started, f"linkcheck refused {name} ({exc}) but it really started: {describe(real)}"
        return
    target = target_of(api, root_name, root, via)
    verdict = api.check(analysis, target, origin_files=api.host_dir_files(str(path.parent)),
                        install_dir="/app")
    said = (f"{name} on {root_name} (target read from the {via}): really {describe(real)}; "
            f"stderr {real.stderr.strip()[:300]!r}\n"
            f"linkcheck predicted {verdict.outcome.value}: "
            f"{[(p.kind.value, p.subject) for p in verdict.problems]}")
    assert verdict.outcome is real.outcome, said
    assert verdict.runs == (real.outcome is Outcome.RUNS), said
    if not is_library(facts) and real.outcome is not Outcome.RUNS:
        java = None
        if facts.get("format") in ("jar", "java-class"):
            java = f"java -jar /app/{name}" if name.endswith(".jar") else f"java -cp /app {name[:-6]}"
        check_messages(root, f"/app/{name}", real, verdict, said, java)
    if (real.started and facts.get("libc") == "glibc" and facts.get("machine") == "x86_64"
            and loader_flavour(root, GLIBC_LOADER) == "glibc"):
        # The files linkcheck says the program loads are the very files the root's loader maps
        # ($ORIGIN, RPATH vs RUNPATH, ld.so.cache order), from its trace mode.
        mapped = trace(root, f"/app/{name}")
        predicted = {lib.name: in_root_file(root, lib.path) for lib in verdict.loaded if lib.path}
        assert predicted == mapped.loaded, f"{said}\nloader mapped {mapped.loaded}\nlinkcheck: {predicted}"
    kinds = [p.subject for p in verdict.problems if p.kind is real.outcome]
    if real.outcome is Outcome.MISSING_LIBRARY:
        if "error while loading shared libraries" in real.stderr:
            # glibc's loader stops at the first library it cannot open: the same one must come first.
            assert kinds[:1] == list(real.names[:1]), said
        else:
            # musl's loader names every missing library.
            assert set(kinds) == set(real.names), said
    elif real.outcome is Outcome.MISSING_SYMBOL_VERSION or real.outcome is Outcome.MISSING_SYMBOL:
        assert set(real.names) <= set(kinds), said
    elif real.outcome is Outcome.MISSING_INTERPRETER and real.names:
        # env could not find the program it was asked for on PATH.
        assert any(real.names[0] in s for s in kinds), said
    elif real.outcome is Outcome.MISSING_INTERPRETER:
        # The kernel's ENOENT: an interpreter path linkcheck names must really be absent from the root.
        assert kinds, said
        for subject in kinds:
            if subject.startswith("/"):
                assert resolve_in_root(root, subject) is None, f"{said}\n{subject!r} exists in the root"


# --- (c) what the loader does with a file of the right name that is not a usable library ----------

DECOYS: dict[str, Callable[[], bytes]] = {
    "text": lambda: b"not a library\n",
    "elf-magic-only": lambda: b"\x7fELF",
    "aarch64-elf": lambda: fixture_path("c-glibc-dynamic-aarch64").read_bytes(),
    "i386-elf": lambda: fixture_path("c-glibc-i386").read_bytes(),
}


@pytest.mark.parametrize("program", ["c-rpath", "c-runpath"])
@pytest.mark.parametrize("decoy", sorted(DECOYS))
def test_origin_decoy_against_loader(tmp_path: Path, program: str, decoy: str) -> None:
    """$ORIGIN/lib/libfixture.so is a decoy; the real library sits in the system directory. glibc's
    loader skips a file for another machine or class and goes on, but stops at a file it cannot read
    as ELF: linkcheck must say which, and which file is loaded."""
    api = linkcheck_api()
    for needed in (program, "c-glibc-dynamic-aarch64", "c-glibc-i386", "libfixture.so"):
        need_fixture(needed)
    from launch import private_proc_works
    from roots import RootUnavailable, build_glibc_host

    if not private_proc_works():
        pytest.skip("cannot mount /proc in a private mount namespace here ($ORIGIN needs it)")
    root = tmp_path / "root"
    try:
        build_glibc_host(root)
    except RootUnavailable as exc:
        pytest.skip(str(exc))
    install(root, fixture_path("libfixture.so"), "/usr/lib/x86_64-linux-gnu/libfixture.so")
    where = "/srv"
    in_root = install(root, fixture_path(program), f"{where}/{program}")
    decoy_file = root / "srv/lib/libfixture.so"
    decoy_file.parent.mkdir(parents=True, exist_ok=True)
    decoy_file.write_bytes(DECOYS[decoy]())
    real = run_in_root(root, in_root)
    verdict = api.check(api.analyze(fixture_path(program)), api.load_target(str(root)),
                        origin_files=api.host_dir_files(str(root / "srv"), where), install_dir=where)
    said = (f"{program} with a {decoy} decoy: really {describe(real)}; stderr {real.stderr.strip()!r}\n"
            f"linkcheck predicted {verdict.outcome.value}: "
            f"{[(p.kind.value, p.subject) for p in verdict.problems]}; "
            f"loaded {[(lib.name, lib.path) for lib in verdict.loaded]}")
    assert real.outcome in (Outcome.RUNS, Outcome.MISSING_LIBRARY), said
    assert verdict.outcome is real.outcome, said
    if real.outcome is Outcome.MISSING_LIBRARY:
        assert real.names == ("libfixture.so",), said
        missing = [p.subject for p in verdict.problems if p.kind is Outcome.MISSING_LIBRARY]
        assert missing[:1] == ["libfixture.so"], said
    else:
        mapped = trace(root, in_root)
        predicted = {lib.name: in_root_file(root, lib.path) for lib in verdict.loaded if lib.path}
        assert predicted == mapped.loaded, said
        assert mapped.loaded["libfixture.so"] == "/usr/lib/x86_64-linux-gnu/libfixture.so"


# --- (c) the container's environment: LD_LIBRARY_PATH, as each loader really places it ------------------

_ENV_LIB = "int envx_answer(void) { return 42; }\n"
_ENV_MAIN = ("#include <stdio.h>\nint envx_answer(void);\n"
             "int main(void) { printf(\"hello %d\\n\", envx_answer()); return 0; }\n")
# A file under the library's name that no loader can map: it stops a search that reaches it.
_NOT_A_LIBRARY = "this is not a shared library, only a text file under a library's name\n" * 4


def _build_env_program(tmp: Path, compiler: str, tag: str) -> Path:
    """A program needing libenvx.so, with /opt/envx/r as its DT_RPATH (tag "rpath") or DT_RUNPATH."""
    import shutil
    import subprocess

    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (scripts/test.sh installs it)")
    (tmp / "envx.c").write_text(_ENV_LIB)
    (tmp / "main.c").write_text(_ENV_MAIN)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(tmp / "libenvx.so"), str(tmp / "envx.c")],
                   check=True)
    dtags = "--disable-new-dtags" if tag == "rpath" else "--enable-new-dtags"
    out = tmp / f"prog-{tag}"
    subprocess.run([compiler, "-o", str(out), str(tmp / "main.c"), f"-L{tmp}", "-lenvx",
                    f"-Wl,{dtags},-rpath,/opt/envx/r"], check=True)
    return out


ENV_CASES = [
    # (loader root, compiler, rpath|runpath, which of /opt/envx/r and LD_LIBRARY_PATH hold the good library)
    pytest.param(root, cc, tag, good, id=f"{root}-{tag}-good-in-{good}")
    for root, cc in (("glibc-host", "gcc"), ("alpine-3.20.3-x86_64", "musl-gcc"))
    for tag in ("rpath", "runpath")
    for good in ("dtpath", "llp", "nowhere")
]


@pytest.mark.parametrize(("root_name", "compiler", "tag", "good"), ENV_CASES)
def test_ld_library_path_changes_the_verdict_as_the_real_loader(
    root_factory: RootFactory, tmp_path: Path, root_name: str, compiler: str, tag: str, good: str  # noqa: F811
) -> None:
    """glibc searches LD_LIBRARY_PATH after a DT_RPATH and before a DT_RUNPATH; musl before either.
    The other place holds a file no loader can map, which stops the search that meets it first; so the
    verdict with LD_LIBRARY_PATH set (by --env or the image config) must follow the real loader's order."""
    api = linkcheck_api()
    from linkcheck.image.target import parse_env, with_env
    from linkcheck.model import EnvOrigin

    root = root_factory.get(root_name)
    host_program = _build_env_program(tmp_path, compiler, tag)
    case = f"{tag}-{good}"
    llp = f"/opt/envx/llp-{case}"
    places = {"dtpath": root / "opt/envx/r", "llp": root / llp.lstrip("/")}
    for where, directory in places.items():
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "libenvx.so").unlink(missing_ok=True)
        if where == good:
            install(root, tmp_path / "libenvx.so", f"/{directory.relative_to(root)}/libenvx.so")
        elif good != "nowhere":  # nowhere: nothing loadable and nothing in the way, so missing
            (directory / "libenvx.so").write_text(_NOT_A_LIBRARY)
    program = install(root, host_program, f"/app/{case}/{host_program.name}")
    for origin in (EnvOrigin.OPTION, EnvOrigin.IMAGE_CONFIG):
        target = with_env(api.load_target(str(root)), parse_env([f"LD_LIBRARY_PATH={llp}"], origin))
        verdict = api.check(api.analyze(host_program), target, install_dir=f"/app/{case}")
        real = run_in_root(root, program, env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": llp})
        said = (f"{root_name} {case}: real {describe(real)}, stderr {real.stderr!r}; "
                f"linkcheck said {verdict.outcome}")
        assert verdict.outcome is real.outcome, said
        if real.outcome is Outcome.RUNS:
            assert real.stdout == "hello 42\n"
        else:
            assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0], said
        # The replay names where the directory came from.
        steps = [s for p in verdict.problems for s in p.search if s.directory == llp]
        assert all(s.reason.startswith(f"LD_LIBRARY_PATH ({origin.value})") for s in steps), steps
    # Unset, the same program is judged as the loader judges it without the variable.
    bare = api.check(api.analyze(host_program), api.load_target(str(root)), install_dir=f"/app/{case}")
    real = run_in_root(root, program, env={"PATH": "/usr/bin:/bin"})
    assert bare.outcome is real.outcome, (describe(real), bare.outcome)


# --- (d) lazy binding: a missing function lets a glibc program start --------------------------------

_LAZY_FULL = "int lz_data = 7;\nint lz_func(void) { return 1; }\nint lz_other(void) { return 2; }\n"
_LAZY_IMAGE = "int lz_other(void) { return 2; }\n"  # the image's older library: lz_func and lz_data gone
_LAZY_MAIN = {
    # how the program uses what the image's library lacks
    "call": "int lz_func(void);\nint main(void) { puts(\"started\"); fflush(stdout); return lz_func(); }\n",
    "address": "int lz_func(void);\nint (*volatile fp)(void) = lz_func;\n"
               "int main(void) { puts(\"started\"); fflush(stdout); return fp(); }\n",
    "data": "extern int lz_data;\nint main(void) { puts(\"started\"); fflush(stdout); return lz_data; }\n",
}


def _build_lazy(tmp: Path, compiler: str, use: str, now: bool) -> tuple[Path, Path]:
    """(program, the image's libfull.so): the program is linked against a libfull.so that has lz_func
    and lz_data; the image's has neither. RUNPATH $ORIGIN/lib finds it."""
    import shutil
    import subprocess

    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (scripts/test.sh installs it)")
    (tmp / "full").mkdir()
    (tmp / "image").mkdir()
    for where, source in (("full", _LAZY_FULL), ("image", _LAZY_IMAGE)):
        (tmp / where / "lz.c").write_text(source)
        subprocess.run([compiler, "-shared", "-fPIC", "-Wl,-soname,libfull.so", "-o",
                        str(tmp / where / "libfull.so"), str(tmp / where / "lz.c")], check=True)
    (tmp / "main.c").write_text("#include <stdio.h>\n" + _LAZY_MAIN[use])
    program = tmp / f"lazy-{use}{'-now' if now else ''}"
    subprocess.run([compiler, "-O1", "-o", str(program), str(tmp / "main.c"), f"-L{tmp / 'full'}", "-lfull",
                    "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib", *(["-Wl,-z,now"] if now else [])],
                   check=True)
    return program, tmp / "image" / "libfull.so"


LAZY_CASES = [
    # (root, compiler, how the missing symbol is used, -z now, LD_BIND_NOW, does it start?)
    pytest.param("glibc-host", "gcc", "call", False, False, True, id="glibc-call-lazy"),
    pytest.param("glibc-host", "gcc", "call", True, False, False, id="glibc-call-z-now"),
    pytest.param("glibc-host", "gcc", "call", False, True, False, id="glibc-call-LD_BIND_NOW"),
    pytest.param("glibc-host", "gcc", "address", False, False, False, id="glibc-address-taken"),
    pytest.param("glibc-host", "gcc", "data", False, False, False, id="glibc-data-object"),
    pytest.param("alpine-3.20.3-x86_64", "musl-gcc", "call", False, False, False, id="musl-call"),
]


@pytest.mark.parametrize(("root_name", "compiler", "use", "now", "bind_now_env", "starts"), LAZY_CASES)
def test_a_missing_function_fails_at_its_first_call_only_with_lazy_binding(
    root_factory: RootFactory, tmp_path: Path, root_name: str, compiler: str, use: str, now: bool,  # noqa: F811
    bind_now_env: bool, starts: bool,
) -> None:
    """glibc binds a function called through the PLT at its first call: the program starts, prints,
    then dies with 'symbol lookup error'. With -z now, LD_BIND_NOW, a data object, a function whose
    address is taken, or musl's loader, the same missing symbol stops it at start."""
    api = linkcheck_api()
    from linkcheck.image.target import parse_env, with_env

    root = root_factory.get(root_name)
    program, image_lib = _build_lazy(tmp_path, compiler, use, now)
    case = f"lazy-{root_name}-{program.name}-{int(bind_now_env)}"
    installed = install(root, program, f"/app/{case}/{program.name}")
    install(root, image_lib, f"/app/{case}/lib/libfull.so")
    env = {"PATH": "/usr/bin:/bin", **({"LD_BIND_NOW": "1"} if bind_now_env else {})}
    real = run_in_root(root, installed, env=env)
    assert real.exit_code == 127, describe(real)
    assert ("started" in real.stdout) is starts, real  # the proof it started: main ran and printed
    assert real.outcome is (Outcome.STARTS_THEN_FAILS if starts else Outcome.MISSING_SYMBOL), describe(real)
    target = api.load_target(str(root))
    if bind_now_env:
        target = with_env(target, parse_env(["LD_BIND_NOW=1"]))
    alone = tmp_path / "alone"  # the program without the library it was built with beside it
    alone.mkdir()
    install(alone, program, f"/{program.name}")
    verdict = api.check(api.analyze(alone / program.name), target, install_dir=f"/app/{case}")
    said = f"real: {describe(real)} {real.stderr!r}; linkcheck: {verdict.outcome} {verdict.message!r}"
    assert verdict.outcome is real.outcome and not verdict.runs, said
    assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0], said


# --- (e) musl's symbol lookup: its LFS64 mapping, and what it refuses --------------------------------------

_USES_LFS64 = ("#define _LARGEFILE64_SOURCE\n#include <stdio.h>\n#include <sys/stat.h>\n"
               "int probe(const char *p) { struct stat64 st; FILE *f = fopen64(p, \"r\");\n"
               "  return (f != 0) + stat64(p, &st); }\n")
_USES_CHK = "#include <stdio.h>\nvoid say(int n) { printf(\"%d\\n\", n); }\n"


@pytest.mark.parametrize(("source", "expected"), [(_USES_LFS64, Outcome.RUNS),
                                                  (_USES_CHK, Outcome.MISSING_SYMBOL)], ids=["lfs64", "chk"])
def test_a_glibc_library_on_alpine_is_judged_by_musls_own_lookup(
    root_factory: RootFactory, tmp_path: Path, source: str, expected: Outcome  # noqa: F811
) -> None:
    """A glibc-built library loaded by musl 1.2.5 (a manylinux wheel's module on alpine): fopen64 and
    stat64, which musl >= 1.2.4 no longer exports, are mapped by its loader to fopen and stat and load;
    __printf_chk, which musl never defined, is 'symbol not found'. The built-in alpine:3.20 agrees."""
    import shutil
    import subprocess

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root = root_factory.get("alpine-3.20.3-x86_64")
    (tmp_path / "m.c").write_text(source)
    built = tmp_path / "libmodule.so"
    subprocess.run(["gcc", "-O2", "-D_FORTIFY_SOURCE=2", "-shared", "-fPIC", "-o", str(built),
                    str(tmp_path / "m.c")], check=True)
    installed = install(root, built, f"/app/{tmp_path.name}/libmodule.so")
    real = load_library_in_root(root, installed, "glibc")
    assert real.outcome is expected, describe(real)
    for target in (api.load_target(str(root)), api.load_target("alpine:3.20", "amd64")):
        verdict = api.check(api.analyze(built), target, install_dir=f"/app/{tmp_path.name}")
        assert verdict.outcome is expected, (target.name, verdict.explanation)
        if expected is not Outcome.RUNS:
            assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0]


_USES_STATX = ("#define _GNU_SOURCE\n#include <fcntl.h>\n#include <sys/stat.h>\n"
               "int probe(const char *p) { struct statx st;\n"
               "  return statx(AT_FDCWD, p, 0, STATX_SIZE, &st); }\n")
MUSL_VERSION_CASES = [
    pytest.param(root, image, source, expected, id=f"{image}-{name}")
    for root, image, cases in (
        ("alpine-3.18.9-x86_64", "alpine:3.18", (("statx", Outcome.MISSING_SYMBOL), ("lfs64", Outcome.RUNS))),
        ("alpine-3.19.4-x86_64", "alpine:3.19", (("statx", Outcome.MISSING_SYMBOL), ("lfs64", Outcome.RUNS))),
        ("alpine-3.20.3-x86_64", "alpine:3.20", (("statx", Outcome.RUNS),)),
    )
    for name, expected in cases
    for source in ({"statx": _USES_STATX, "lfs64": _USES_LFS64}[name],)
]


@pytest.mark.parametrize(("root_name", "image", "source", "expected"), MUSL_VERSION_CASES)
def test_each_musl_version_is_judged_by_the_symbols_it_really_exports(
    root_factory: RootFactory, tmp_path: Path, root_name: str, image: str, source: str,  # noqa: F811
    expected: Outcome
) -> None:
    """musl 1.2.4 (alpine 3.18) and 1.2.4_git20230717 (3.19) have no statx, 1.2.5 (3.20) has; 1.2.4 still
    exports fopen64 and stat64 itself, the later ones map them in the loader. The real musl loader of each
    release, the root as a directory target and the built-in image all agree."""
    import shutil
    import subprocess

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root = root_factory.get(root_name)
    (tmp_path / "m.c").write_text(source)
    built = tmp_path / "libmodule.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(built), str(tmp_path / "m.c")], check=True)
    installed = install(root, built, f"/app/{tmp_path.name}/libmodule.so")
    real = load_library_in_root(root, installed, "glibc")
    assert real.outcome is expected, describe(real)
    for target in (api.load_target(str(root)), api.load_target(image, "amd64")):
        verdict = api.check(api.analyze(built), target, install_dir=f"/app/{tmp_path.name}")
        assert verdict.outcome is expected, (target.name, verdict.explanation)
        if expected is not Outcome.RUNS:
            assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0]


def _build_needing_newer_glibc(tmp_path: Path) -> tuple[Path, tuple[Path, ...]]:
    """libneedy.so and libneedier.so, linked against a stand-in libc.so.6 whose strlcpy is GLIBC_2.38 and
    whose newfn is GLIBC_2.39 (what libraries built on newer glibcs get), and a program needing both: the
    program itself needs nothing newer than the image's glibc."""
    import subprocess

    stub = tmp_path / "stub"
    stub.mkdir()
    (tmp_path / "stub.c").write_text("#include <stddef.h>\nint puts(const char *s) { return 0; }\n"
                                     "size_t strlcpy(char *d, const char *s, size_t n) { return 0; }\n"
                                     "int newfn(void) { return 0; }\n")
    (tmp_path / "stub.map").write_text("GLIBC_2.2.5 { global: puts; local: *; };\n"
                                       "GLIBC_2.38 { global: strlcpy; } GLIBC_2.2.5;\n"
                                       "GLIBC_2.39 { global: newfn; } GLIBC_2.38;\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-nostdlib", "-o", str(stub / "libc.so.6"),
                    str(tmp_path / "stub.c"), f"-Wl,--version-script={tmp_path / 'stub.map'}",
                    "-Wl,-soname,libc.so.6"], check=True)
    (tmp_path / "needy.c").write_text(
        "#include <stddef.h>\nint puts(const char *s);\nsize_t strlcpy(char *d, const char *s, size_t n);\n"
        "int needy(void) { char b[8]; puts(\"needy\"); return (int)strlcpy(b, \"hi\", sizeof b); }\n")
    (tmp_path / "needier.c").write_text("int newfn(void);\nint needier(void) { return newfn(); }\n")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("needy", "needier"):
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(out / f"lib{name}.so"),
                        str(tmp_path / f"{name}.c"), str(stub / "libc.so.6"), f"-Wl,-soname,lib{name}.so"],
                       check=True)
    (tmp_path / "main.c").write_text("#include <stdio.h>\nint needy(void); int needier(void);\n"
                                     "int main(void) { puts(\"started\"); return needy() + needier(); }\n")
    program = out / "uses-needy"
    subprocess.run(["gcc", "-o", str(program), str(tmp_path / "main.c"), f"-L{out}", "-lneedy", "-lneedier",
                    "-Wl,-rpath,$ORIGIN", "-Wl,--allow-shlib-undefined"], check=True)
    return program, (out / "libneedy.so", out / "libneedier.so")


def test_a_loaded_librarys_own_missing_version_stops_the_program(
    root_factory: RootFactory, tmp_path: Path  # noqa: F811
) -> None:
    """glibc checks the symbol versions of every object it loads, not only the program's: libraries
    needing GLIBC_2.38 and GLIBC_2.39 stop a program on glibc 2.36, one line each in load order ("version
    `GLIBC_2.38' not found (required by LIBRARY)"), though the program needs nothing newer."""
    import shutil

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root = root_factory.get("glibc-host")
    program, libraries = _build_needing_newer_glibc(tmp_path)
    where = f"/app/{tmp_path.name}"
    installed = install(root, program, f"{where}/uses-needy")
    for library in libraries:
        install(root, library, f"{where}/{library.name}")
    real = run_in_root(root, installed)
    assert real.outcome is Outcome.MISSING_SYMBOL_VERSION, describe(real)
    assert real.names == ("GLIBC_2.38", "GLIBC_2.39"), describe(real)
    assert "started" not in real.stdout  # glibc checks versions before the program runs
    verdict = api.check(api.analyze(program), api.load_target(str(root)), install_dir=where)
    said = f"real: {describe(real)} {real.stderr!r}; linkcheck: {verdict.outcome} {verdict.message!r}"
    assert verdict.outcome is Outcome.MISSING_SYMBOL_VERSION, said
    assert [(p.subject, p.needed_by) for p in verdict.problems] == [
        ("GLIBC_2.38", f"{where}/libneedy.so"), ("GLIBC_2.39", f"{where}/libneedier.so")]
    assert verdict.message == real.stderr.strip(), said
    assert "strlcpy" in verdict.explanation and "libneedy.so" in verdict.explanation


_FOREIGN_START = """    .globl _start
    .text
_start:
    mov $%(write)d, %%eax
    mov $1, %%edi
    lea msg(%%rip), %%rsi
    mov $3, %%edx
    syscall
    mov $%(exit)d, %%eax
    xor %%edi, %%edi
    syscall
    hlt
msg:
    .ascii "hi\\n"
"""


def _branded_static(tmp_path: Path, osabi: int, *, linux_calls: bool) -> Path:
    """A static x86-64 program that writes "hi" and exits 0, with EI_OSABI set to another system's, making
    that system's system calls (FreeBSD, NetBSD and OpenBSD number write 4 and exit 1 on x86-64) or, as
    the control, Linux's (1 and 60)."""
    import subprocess

    name = f"osabi{osabi}-{'linux' if linux_calls else 'own'}-calls"
    (tmp_path / f"{name}.S").write_text(_FOREIGN_START % ({"write": 1, "exit": 60} if linux_calls
                                                          else {"write": 4, "exit": 1}))
    out = tmp_path / name
    subprocess.run(["gcc", "-nostdlib", "-static", "-no-pie", "-o", str(out), str(tmp_path / f"{name}.S")],
                   check=True)
    data = bytearray(out.read_bytes())
    data[7] = osabi  # EI_OSABI
    out.write_bytes(bytes(data))
    return out


@pytest.mark.parametrize(("osabi", "system"), [(9, "FreeBSD"), (2, "NetBSD"), (12, "OpenBSD")])
def test_another_systems_static_program_starts_and_is_not_linux(
    root_factory: RootFactory, tmp_path: Path, osabi: int, system: str  # noqa: F811
) -> None:
    """Linux's execve does not look at EI_OSABI: another system's static program starts (the control,
    branded the same but making Linux's calls, prints and exits 0), and its own system calls do other
    things on Linux (nothing printed, killed by a signal). linkcheck says not-linux, not "runs"."""
    import shutil
    import subprocess
    import sys

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root = root_factory.get("scratch")
    control = _branded_static(tmp_path, osabi, linux_calls=True)
    foreign = _branded_static(tmp_path, osabi, linux_calls=False)
    ran = run_in_root(root, install(root, control, f"/app/{control.name}"))
    assert ran.outcome is Outcome.RUNS and ran.stdout == "hi\n", describe(ran)
    real = run_in_root(root, install(root, foreign, f"/app/{foreign.name}"))
    assert real.started and real.exit_code is not None and real.exit_code < 0 and real.stdout == "", \
        describe(real)
    for target in (api.load_target(str(root)), api.load_target("debian:bookworm-slim", "amd64")):
        verdict = api.check(api.analyze(foreign), target)
        assert verdict.outcome is Outcome.NOT_LINUX and not verdict.runs, (target.name, verdict)
        assert [(p.kind, p.subject) for p in verdict.problems] == [(Outcome.NOT_LINUX, system)]
        assert f"its system calls are {system}'s" in verdict.explanation
    cli = subprocess.run([sys.executable, "-m", "linkcheck", str(foreign), "--target", str(root)],
                         capture_output=True, text=True, check=False)
    assert cli.returncode == 1 and "STARTS, BUT IS NOT A LINUX PROGRAM (not-linux)" in cli.stdout, cli


@pytest.mark.parametrize("base_copy", [False, True], ids=["only-in-hwcaps", "base-copy-lacks-symbol"])
def test_glibc_searches_glibc_hwcaps_subdirectories_first(
    root_factory: RootFactory, tmp_path: Path, base_copy: bool  # noqa: F811
) -> None:
    """glibc >= 2.33 looks in DIR/glibc-hwcaps/x86-64-v2/ before DIR (on CPUs of that level, as this
    host's loader says it is): a library found only there loads, and a copy there wins over DIR's (whose
    copy lacks the function the program binds at start). linkcheck loads the same file and says which
    CPUs it depends on."""
    import shutil
    import subprocess

    from roots import HOST_MULTIARCH, build_glibc_host

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root_factory.get("glibc-host")  # the same preconditions; this test changes ld.so.cache, so its own root
    helped = subprocess.run([f"/lib64/{posixpath.basename(GLIBC_LOADER)}", "--help"], capture_output=True,
                            text=True, check=False).stdout
    if "x86-64-v2 (supported, searched)" not in helped:
        pytest.skip("this host's CPU or glibc does not search glibc-hwcaps/x86-64-v2")
    root = tmp_path / "root"
    build_glibc_host(root)
    libdir = f"/usr/lib/{HOST_MULTIARCH}"
    (tmp_path / "hw.c").write_text("int hw_base(void) { return 1; }\nint hw_v2(void) { return 2; }\n")
    (tmp_path / "base.c").write_text("int hw_base(void) { return 1; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libhw.so"), str(tmp_path / "hw.c"),
                    "-Wl,-soname,libhw.so"], check=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "base-libhw.so"),
                    str(tmp_path / "base.c"), "-Wl,-soname,libhw.so"], check=True)
    (tmp_path / "main.c").write_text("#include <stdio.h>\nint hw_base(void); int hw_v2(void);\n"
                                     "int main(void) { printf(\"%d\\n\", hw_base() + hw_v2()); return 0; }\n")
    program = tmp_path / "out" / "uses-hw"
    program.parent.mkdir()
    subprocess.run(["gcc", "-o", str(program), str(tmp_path / "main.c"), f"-L{tmp_path}", "-lhw",
                    "-Wl,-z,now"], check=True)
    hwcaps_copy = install(root, tmp_path / "libhw.so", f"{libdir}/glibc-hwcaps/x86-64-v2/libhw.so")
    if base_copy:
        install(root, tmp_path / "base-libhw.so", f"{libdir}/libhw.so")
    subprocess.run(["ldconfig", "-r", str(root)], check=True, capture_output=True)  # as an image build would
    installed = install(root, program, "/app/uses-hw")
    real = run_in_root(root, installed)
    assert real.outcome is Outcome.RUNS and real.stdout == "3\n", describe(real)
    mapped = trace(root, installed).loaded["libhw.so"]
    assert mapped == in_root_file(root, hwcaps_copy)
    verdict = api.check(api.analyze(program), api.load_target(str(root)), install_dir="/app")
    assert verdict.runs, (verdict.outcome, verdict.message)
    chosen = next(lib for lib in verdict.loaded if lib.name == "libhw.so")
    assert chosen.path is not None and in_root_file(root, chosen.path) == mapped
    note = next(n for n in verdict.notes if "glibc-hwcaps" in n)
    assert "CPUs supporting x86-64-v2" in note
    assert (f"other CPUs load /lib/{HOST_MULTIARCH}/libhw.so" in note) is base_copy  # ld.so.conf's first
    assert ("finds no libhw.so" in note) is not base_copy


# gcompat 1.x's layout (its Makefile, alpine's and other distributions' packages): glibc's loader path is a
# static program that execs musl's loader with "--argv0 PROGRAM --preload /lib/libgcompat.so.0 -- PROGRAM
# ARGS". The real package cannot be fetched here; this shim, written for the test, does the same, so the real
# musl loader does the preloading and the lookups.
_GCOMPAT_SHIM = r"""
static long sys3(long n, long a, long b, long c) {
    long r;
    __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}
void shim_main(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1), **envp = argv + argc + 1;
    static char *args[256];
    long n = 0;
    args[n++] = "ld-musl";
    args[n++] = "--argv0"; args[n++] = argv[0];
    args[n++] = "--preload"; args[n++] = "/lib/libgcompat.so.0";
    args[n++] = "--";
    for (long i = 0; i < argc && n < 255; i++) args[n++] = argv[i];
    args[n] = 0;
    sys3(59, (long)"/lib/ld-musl-x86_64.so.1", (long)args, (long)envp);
    sys3(60, 127, 0, 0);
}
__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call shim_main\n hlt\n");
"""
_GCOMPAT_CASES = [
    pytest.param("int __isnan(double);\n"
                 "int main(void) { printf(\"started %d\\n\", __isnan(1.0)); return 0; }\n",
                 Outcome.RUNS, id="provided-by-libgcompat"),
    pytest.param("#include <gnu/libc-version.h>\n"
                 "int main(void) { printf(\"started %s\\n\", gnu_get_libc_version()); return 0; }\n",
                 Outcome.MISSING_SYMBOL, id="provided-by-neither"),
]


@pytest.mark.parametrize(("main", "expected"), _GCOMPAT_CASES)
def test_gcompats_loader_shim_adds_libgcompats_symbols_to_musls(
    root_factory: RootFactory, tmp_path: Path, main: str, expected: Outcome  # noqa: F811
) -> None:
    """A glibc program on alpine with gcompat's layout: the shim at glibc's loader path starts musl's
    loader with libgcompat.so.0 preloaded. __isnan, which libgcompat defines and musl does not, binds; a
    glibc symbol neither defines is musl's "symbol not found". linkcheck reads both files from the root."""
    import shutil
    import subprocess

    from roots import build_image

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root_factory.get("alpine-3.20.3-x86_64")  # the same preconditions; this test adds gcompat's files
    root = tmp_path / "root"
    build_image(root, SHARED_ROOTFS / IMAGE_ROOTS["alpine-3.20.3-x86_64"])
    (tmp_path / "shim.c").write_text(_GCOMPAT_SHIM)
    subprocess.run(["gcc", "-O2", "-static-pie", "-nostdlib", "-fPIE", "-fno-stack-protector", "-o",
                    str(tmp_path / "shim"), str(tmp_path / "shim.c")], check=True)
    (tmp_path / "gcompat.c").write_text("int __isnan(double x) { return x != x; }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tmp_path / "libgcompat.so.0"),
                    str(tmp_path / "gcompat.c"), "-Wl,-soname,libgcompat.so.0"], check=True)
    install(root, tmp_path / "shim", "/lib/ld-linux-x86-64.so.2")
    install(root, tmp_path / "libgcompat.so.0", "/lib/libgcompat.so.0")
    (root / "lib64").mkdir(exist_ok=True)
    os.symlink("/lib/ld-linux-x86-64.so.2", root / "lib64/ld-linux-x86-64.so.2")
    (tmp_path / "main.c").write_text("#include <stdio.h>\n" + main)
    program = tmp_path / "out" / "glibc-prog"
    program.parent.mkdir()
    subprocess.run(["gcc", "-O0", "-o", str(program), str(tmp_path / "main.c")], check=True)
    real = run_in_root(root, install(root, program, "/app/glibc-prog"))
    assert real.outcome is expected, describe(real)
    verdict = api.check(api.analyze(program), api.load_target(str(root)), install_dir="/app")
    said = f"real: {describe(real)} {real.stderr!r}; linkcheck: {verdict.outcome} {verdict.message!r}"
    assert verdict.outcome is expected, said
    assert any("gcompat" in n and "/lib/libgcompat.so.0" in n for n in verdict.notes), verdict.notes
    if expected is not Outcome.RUNS:
        assert verdict.message == real.stderr.strip(), said


def test_glibc_names_no_errno_when_it_opened_no_file(root_factory: RootFactory, tmp_path: Path) -> None:  # noqa: F811
    """DF_1_NODEFLIB and nothing else to search: glibc refuses the ld.so.cache entry in a default
    directory and skips the defaults, opens no file, and says 'cannot open shared object file' with no
    errno text after it."""
    import shutil
    import struct
    import subprocess

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    root = root_factory.get("glibc-host")
    (tmp_path / "main.c").write_text("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n")
    program = tmp_path / "nodeflib"
    subprocess.run(["gcc", "-o", str(program), str(tmp_path / "main.c"), "-Wl,-z,now"], check=True)
    data = bytearray(program.read_bytes())  # set DF_1_NODEFLIB in DT_FLAGS_1 (ld ignores -z nodeflib here)
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    for i in range(phnum):
        header = phoff + i * phentsize
        if struct.unpack_from("<I", data, header)[0] == 2:  # PT_DYNAMIC
            offset, = struct.unpack_from("<Q", data, header + 8)
            size, = struct.unpack_from("<Q", data, header + 32)
            for entry in range(offset, offset + size, 16):
                tag, value = struct.unpack_from("<qQ", data, entry)
                if tag == 0x6FFFFFFB:
                    struct.pack_into("<Q", data, entry + 8, value | 0x800)
    program.write_bytes(bytes(data))
    installed = install(root, program, f"/app/{tmp_path.name}/nodeflib")
    real = run_in_root(root, installed)
    assert real.outcome is Outcome.MISSING_LIBRARY, describe(real)
    verdict = api.check(api.analyze(program), api.load_target(str(root)), install_dir=f"/app/{tmp_path.name}")
    assert api.analyze(program).elf.nodeflib
    assert verdict.message == real.stderr.strip()
    assert verdict.message.endswith("libc.so.6: cannot open shared object file")


# --- (f) LD_PRELOAD -------------------------------------------------------------------------------------

PRELOAD_CASES = [pytest.param(root, cc, case, id=f"{root}-{case}")
                 for root, cc in (("glibc-host", "gcc"), ("alpine-3.20.3-x86_64", "musl-gcc"))
                 for case in ("missing", "present", "dependency-missing")]


@pytest.mark.parametrize(("root_name", "compiler", "case"), PRELOAD_CASES)
def test_ld_preload_is_loaded_before_the_programs_needs(
    root_factory: RootFactory, tmp_path: Path, root_name: str, compiler: str, case: str  # noqa: F811
) -> None:
    """A preload the loader does not find is left out (glibc says so and goes on; so does musl); a
    found one is loaded with its own needs, and a need of it that is missing stops the program."""
    import shutil
    import subprocess

    api = linkcheck_api()
    from linkcheck.image.target import parse_env, with_env

    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (scripts/test.sh installs it)")
    root = root_factory.get(root_name)
    (tmp_path / "dep.c").write_text("int dep_value(void) { return 1; }\n")
    (tmp_path / "pre.c").write_text("int dep_value(void);\nint pre_value(void) { return dep_value(); }\n")
    (tmp_path / "main.c").write_text("#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n")
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(tmp_path / "libdep.so"), str(tmp_path / "dep.c")],
                   check=True)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(tmp_path / "libpre.so"), str(tmp_path / "pre.c"),
                    f"-L{tmp_path}", "-ldep"], check=True)
    program = tmp_path / f"preload-{case}"
    subprocess.run([compiler, "-o", str(program), str(tmp_path / "main.c")], check=True)
    where = f"/opt/preload-{tmp_path.name}"
    if case != "missing":
        install(root, tmp_path / "libpre.so", f"{where}/libpre.so")
    if case == "present":
        install(root, tmp_path / "libdep.so", f"{where}/libdep.so")
    installed = install(root, program, f"/app/{tmp_path.name}/{program.name}")
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": "libpre.so", "LD_LIBRARY_PATH": where}
    real = run_in_root(root, installed, env=env)
    target = with_env(api.load_target(str(root)), parse_env([f"LD_PRELOAD={env['LD_PRELOAD']}",
                                                           f"LD_LIBRARY_PATH={where}"]))
    verdict = api.check(api.analyze(program), target, install_dir=f"/app/{tmp_path.name}")
    said = f"real {describe(real)} {real.stderr!r}; linkcheck {verdict.outcome} {verdict.message!r}"
    assert verdict.outcome is real.outcome, said
    if real.outcome is Outcome.RUNS:
        assert real.stdout == "hello\n"
        preloaded = [lib.path for lib in verdict.loaded if lib.name == "libpre.so"]
        assert preloaded == ([] if case == "missing" else [f"{where}/libpre.so"]), said
        if case == "missing" and root_name == "glibc-host":
            [note] = [n for n in verdict.notes if "LD_PRELOAD" in n]
            assert real.stderr.strip() in note, (note, real.stderr)
    else:
        assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0], said


def test_musl_refuses_a_library_with_irelative_relocations(root_factory: RootFactory, tmp_path: Path) -> None:  # noqa: F811
    """A glibc library with a local IFUNC carries an R_X86_64_IRELATIVE relocation; musl's loader has no
    IFUNC support: 'Error relocating ...: unsupported relocation type 37'. glibc loads it."""
    import shutil
    import subprocess

    api = linkcheck_api()
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (scripts/test.sh installs it)")
    (tmp_path / "irel.c").write_text(
        "static int impl(void) { return 3; }\nstatic int (*resolve(void))(void) { return impl; }\n"
        "static int chooser(void) __attribute__((ifunc(\"resolve\")));\n"
        "int api(void) { return chooser(); }\n")
    built = tmp_path / "libirel.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(built), str(tmp_path / "irel.c")], check=True)
    assert api.analyze(built).elf.symbols.irelative
    for root_name, expected in (("alpine-3.20.3-x86_64", Outcome.UNSUPPORTED_RELOCATION),
                                ("glibc-host", Outcome.RUNS)):
        root = root_factory.get(root_name)
        installed = install(root, built, f"/app/{tmp_path.name}/libirel.so")
        real = load_library_in_root(root, installed, "glibc")
        target = api.load_target(str(root))
        verdict = api.check(api.analyze(built), target, install_dir=f"/app/{tmp_path.name}")
        if expected is Outcome.RUNS:
            assert real.outcome is Outcome.RUNS and verdict.runs, (describe(real), verdict.explanation)
            continue
        assert real.exit_code == 127 and "unsupported relocation type 37" in real.stderr, describe(real)
        assert verdict.outcome is expected, verdict
        assert verdict.message.split("\n")[0] == real.stderr.strip().split("\n")[0]

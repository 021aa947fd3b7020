"""Verdicts per outcome: the outcome, every problem, and messages that carry the facts."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest

import linkcheck
from linkcheck.facts.reader import analyze
from linkcheck.model import (
    Analysis,
    ElfFacts,
    ElfType,
    FileFormat,
    GoBuildInfo,
    Language,
    Libc,
    Linkage,
    Outcome,
    SearchSource,
    SymbolImport,
    Target,
    Toolchain,
    VersionNeed,
)
from linkcheck.verdict.checks import check, check_matrix

from conftest import FIXTURE_BIN
from factories import (
    GLIBC_LOADER,
    MUSL_LOADER,
    DictFiles,
    analysis,
    elf,
    empty_target,
    glibc_target,
    lib,
    musl_elf,
    musl_target,
    script_analysis,
    static_elf,
)

ML = "/lib/x86_64-linux-gnu"
LIBC = lib(f"{ML}/libc.so.6", needed=("ld-linux-x86-64.so.2",),
           versions=("GLIBC_2.2.5", "GLIBC_2.34", "GLIBC_2.36"))
BUSYBOX = ("/bin/busybox", "/bin/sh")


def test_static_runs_on_scratch() -> None:
    v = check(analysis(static_elf()), empty_target())
    assert (v.runs, v.outcome, v.problems, v.message) == (True, Outcome.RUNS, (), "")


def test_static_pie_runs_on_scratch() -> None:
    facts = static_elf(elf_type=ElfType.DYN, pie=True, linkage=Linkage.STATIC_PIE)
    assert check(analysis(facts), empty_target()).runs


def test_glibc_program_runs_on_glibc_image() -> None:
    v = check(analysis(elf()), glibc_target([LIBC]))
    assert v.runs and v.outcome is Outcome.RUNS
    assert [(x.name, x.path) for x in v.loaded] == [("libc.so.6", f"{ML}/libc.so.6")]


@pytest.mark.parametrize(
    "fmt", [FileFormat.TEXT, FileFormat.PE, FileFormat.DATA, FileFormat.EMPTY, FileFormat.JAR]
)
def test_not_a_program_is_exec_format_error(fmt: FileFormat) -> None:
    a = Analysis(path="/build/thing", format=fmt, description="x", size=3)
    v = check(a, glibc_target())
    assert v.outcome is Outcome.NOT_EXECUTABLE and not v.runs
    assert v.message == "exec /app/thing: exec format error"
    if fmt is FileFormat.JAR:
        assert "java -jar" in v.explanation


def test_object_file_is_not_executable() -> None:
    v = check(analysis(static_elf(elf_type=ElfType.REL)), empty_target())
    assert v.outcome is Outcome.NOT_EXECUTABLE
    assert v.message == "exec /app/hello: exec format error"


def test_wrong_architecture() -> None:
    facts = elf(machine="aarch64", docker_arch="arm64", toolchain=Toolchain(Language.GO))
    v = check(analysis(facts), glibc_target([LIBC], existing=["/bin/bash"]))
    assert v.outcome is Outcome.WRONG_ARCHITECTURE
    assert v.message == "exec /app/hello: exec format error"
    assert v.shell_message == "bash: /app/hello: cannot execute binary file: Exec format error"
    assert "aarch64" in v.explanation and "--platform linux/arm64" in v.explanation
    assert any("GOARCH=amd64" in f for f in v.fixes)
    assert any("docker buildx build --platform linux/amd64" in f for f in v.fixes)


def test_wrong_architecture_comes_before_missing_interpreter() -> None:
    facts = elf(machine="aarch64", docker_arch="arm64", interpreter="/lib/ld-linux-aarch64.so.1")
    v = check(analysis(facts), empty_target())
    assert [p.kind for p in v.problems] == [Outcome.WRONG_ARCHITECTURE]


def test_i386_static_runs_on_x86_64() -> None:
    facts = static_elf(machine="i386", docker_arch="386", elf_class=32, e_machine=3)
    v = check(analysis(facts), empty_target())
    assert v.runs and any("compat" in n for n in v.notes)


def test_glibc_program_on_alpine_misses_its_loader() -> None:
    target = musl_target(existing=BUSYBOX)
    v = check(analysis(elf()), target)
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.problems[0].subject == GLIBC_LOADER
    assert v.message == "exec /app/hello: no such file or directory"
    assert v.shell_message == "sh: /app/hello: not found"
    assert GLIBC_LOADER in v.explanation and MUSL_LOADER in v.explanation
    assert "no such file or directory" in v.explanation
    gcompat = [f for f in v.fixes if "gcompat" in f]
    assert gcompat and "Error relocating" in gcompat[0]
    assert any("-static" in f for f in v.fixes)


def test_glibc_program_on_scratch_names_no_loader() -> None:
    v = check(analysis(elf(toolchain=Toolchain(Language.GO))), empty_target())
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert "no dynamic loader at all" in v.explanation
    assert v.shell_message == "(the image has no shell)"
    assert any("CGO_ENABLED=0 go build" in f for f in v.fixes)
    assert any("netgo,osusergo" in f for f in v.fixes)
    assert not any("gcompat" in f for f in v.fixes)


def test_musl_program_on_debian() -> None:
    target = glibc_target([LIBC], existing=["/bin/bash", "/usr/bin/apt-get"])
    v = check(analysis(musl_elf()), target)
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.problems[0].subject == MUSL_LOADER
    assert v.shell_message == "bash: /app/hello: cannot execute: required file not found"
    assert MUSL_LOADER in v.explanation and GLIBC_LOADER in v.explanation
    # musl itself satisfies libc.musl-x86_64.so.1: not reported missing.
    assert len(v.problems) == 1


def test_rust_on_distroless_static_suggests_musl_target_and_cc() -> None:
    facts = elf(needed=("libgcc_s.so.1", "libc.so.6"), toolchain=Toolchain(Language.RUST))
    v = check(analysis(facts), empty_target("gcr.io/distroless/static-debian12"))
    assert any("x86_64-unknown-linux-musl" in f for f in v.fixes)
    assert any("gcr.io/distroless/cc-debian12" in f for f in v.fixes)


def test_missing_library_glibc_message_and_search() -> None:
    facts = elf(needed=("libgcc_s.so.1", "libc.so.6"))
    v = check(analysis(facts), glibc_target([LIBC]))
    assert v.outcome is Outcome.MISSING_LIBRARY
    assert v.message == ("/app/hello: error while loading shared libraries: libgcc_s.so.1: cannot open "
                         "shared object file: No such file or directory")
    [p] = v.problems
    assert (p.subject, p.needed_by) == ("libgcc_s.so.1", "/app/hello")
    assert [s.directory for s in p.search if s.source is SearchSource.DEFAULT] == [
        ML, "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"]
    assert any("libgcc-s1" in f for f in v.fixes)


def test_two_missing_libraries_two_problems() -> None:
    facts = elf(needed=("libgcc_s.so.1", "libstdc++.so.6", "libc.so.6"))
    v = check(analysis(facts), glibc_target([LIBC]))
    assert [(p.kind, p.subject) for p in v.problems] == [
        (Outcome.MISSING_LIBRARY, "libgcc_s.so.1"), (Outcome.MISSING_LIBRARY, "libstdc++.so.6")]
    # glibc stops at the first missing library; the message names only it.
    assert "libgcc_s.so.1" in v.message and "libstdc++" not in v.message


def test_musl_reports_every_missing_library() -> None:
    facts = musl_elf(needed=("libgcc_s.so.1", "libstdc++.so.6", "libc.musl-x86_64.so.1"))
    v = check(analysis(facts), musl_target())
    assert v.message.splitlines() == [
        "Error loading shared library libgcc_s.so.1: No such file or directory (needed by /app/hello)",
        "Error loading shared library libstdc++.so.6: No such file or directory (needed by /app/hello)",
    ]
    assert any(f.endswith("apk add --no-cache libgcc libstdc++") for f in v.fixes)


def test_missing_interpreter_outranks_missing_library() -> None:
    facts = elf(needed=("libgcc_s.so.1", "libc.so.6"))
    v = check(analysis(facts), musl_target())
    assert [p.kind for p in v.problems] == [Outcome.MISSING_INTERPRETER, Outcome.MISSING_LIBRARY]
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.message == "exec /app/hello: no such file or directory"


def test_glibc_version_too_new() -> None:
    facts = elf(
        version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.38", "GLIBC_2.39")),),
        imports=(SymbolImport("strlcpy", "GLIBC_2.38", "libc.so.6", False),
                 SymbolImport("strlcat", "GLIBC_2.38", "libc.so.6", False),
                 SymbolImport("pidfd_spawnp", "GLIBC_2.39", "libc.so.6", False),
                 SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False)),
    )
    v = check(analysis(facts), glibc_target([LIBC], libc_version="2.36"))
    assert v.outcome is Outcome.MISSING_SYMBOL_VERSION
    assert [p.subject for p in v.problems] == ["GLIBC_2.38", "GLIBC_2.39"]
    first = v.problems[0]
    assert first.symbols == ("strlcpy", "strlcat")
    assert (first.provider, first.provider_highest) == (f"{ML}/libc.so.6", "GLIBC_2.36")
    assert v.message.splitlines() == [
        f"/app/hello: {ML}/libc.so.6: version `GLIBC_2.38' not found (required by /app/hello)",
        f"/app/hello: {ML}/libc.so.6: version `GLIBC_2.39' not found (required by /app/hello)",
    ]
    assert "strlcpy" in v.explanation and "GLIBC_2.36" in v.explanation and "2.36" in v.explanation
    assert any("<= 2.36" in f for f in v.fixes)


def test_glibcxx_version_names_provider_highest() -> None:
    libstdcxx = lib(f"{ML}/libstdc++.so.6", versions=("GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30",
                                                     "CXXABI_1.3.13"))
    facts = elf(
        needed=("libstdc++.so.6", "libc.so.6"),
        version_needs=(VersionNeed("libstdc++.so.6", ("GLIBCXX_3.4.32",)),),
        imports=(SymbolImport("_ZSt21ios_base_library_initv", "GLIBCXX_3.4.32", "libstdc++.so.6", False),),
        toolchain=Toolchain(Language.CXX),
    )
    v = check(analysis(facts), glibc_target([LIBC, libstdcxx]))
    [p] = v.problems
    assert (p.subject, p.provider_highest) == ("GLIBCXX_3.4.32", "GLIBCXX_3.4.30")  # not 3.4.9
    assert p.symbols == ("_ZSt21ios_base_library_initv",)
    assert any("-static-libstdc++" in f for f in v.fixes)


def test_unknown_provider_versions_give_a_note_not_a_problem() -> None:
    bare = lib(f"{ML}/libc.so.6")  # no version definitions known
    facts = elf(version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.99",)),))
    v = check(analysis(facts), glibc_target([bare]))
    assert v.runs
    assert any("libc.so.6" in n and "not checked" in n for n in v.notes)


def test_musl_ignores_versions() -> None:
    facts = musl_elf(needed=("libc.so.6",), version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.99",)),))
    v = check(analysis(facts), musl_target())
    assert v.runs


def test_missing_symbol_glibc() -> None:
    libc = dataclasses.replace(LIBC, exports=frozenset({"puts", "puts@GLIBC_2.2.5"}))
    loader = lib(GLIBC_LOADER, soname="ld-linux-x86-64.so.2", exports=frozenset({"_dl_find_object"}))
    facts = elf(imports=(SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False),
                         SymbolImport("frobnicate", None, None, False),
                         SymbolImport("__gmon_start__", None, None, True)))
    target = glibc_target([libc, loader])
    v = check(analysis(facts), target)
    assert v.outcome is Outcome.MISSING_SYMBOL
    assert [p.subject for p in v.problems] == ["frobnicate"]  # the weak one is not a problem
    assert v.message == "/app/hello: symbol lookup error: /app/hello: undefined symbol: frobnicate"
    assert any("lazily" in n for n in v.notes)  # its relocations are not known: taken as at start


def test_missing_symbol_musl_lists_all() -> None:
    musl = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts"}))
    facts = musl_elf(imports=(SymbolImport("puts", None, None, False), SymbolImport("a", None, None, False),
                              SymbolImport("b", None, None, False)))
    target = musl_target([musl])
    v = check(analysis(facts), target)
    assert v.message.splitlines() == ["Error relocating /app/hello: a: symbol not found",
                                      "Error relocating /app/hello: b: symbol not found"]


def test_extension_module_leaves_unversioned_symbols_to_the_program() -> None:
    """A Python extension module imports PyList_New from the interpreter that loads it: not a problem.
    A versioned import names its library, so a version that library lacks still is one."""
    libc = dataclasses.replace(LIBC, exports=frozenset({"puts", "puts@GLIBC_2.2.5"}))
    loader = lib(GLIBC_LOADER, soname="ld-linux-x86-64.so.2", exports=frozenset())
    module = elf(interpreter=None, pie=False, soname=None, linkage_evidence="DT_NEEDED libc.so.6",
                 imports=(SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False),
                          SymbolImport("PyList_New", None, None, False)))
    v = check(analysis(module, "_mod.so"), glibc_target([libc, loader]))
    assert v.runs
    assert any("PyList_New" in n and "program that loads it" in n for n in v.notes)
    program = elf(imports=module.imports)
    assert check(analysis(program), glibc_target([libc, loader])).outcome is Outcome.MISSING_SYMBOL
    pinned = elf(interpreter=None, pie=False, soname=None,
                 imports=(SymbolImport("gets_s", "GLIBC_2.2.5", "libc.so.6", False),))
    assert check(analysis(pinned, "_mod.so"), glibc_target([libc, loader])).outcome is Outcome.MISSING_SYMBOL


def test_symbols_not_judged_when_exports_unknown() -> None:
    facts = elf(imports=(SymbolImport("frobnicate", None, None, False),))
    assert check(analysis(facts), glibc_target([LIBC])).runs


def test_library_beside_the_program_is_found() -> None:
    facts = elf(needed=("libfoo.so", "libc.so.6"), runpath=("$ORIGIN",))
    beside = DictFiles([lib("/app/libfoo.so")])
    v = check(analysis(facts), glibc_target([LIBC]), origin_files=beside)
    assert v.runs
    loaded = [(x.name, x.path, x.source) for x in v.loaded]
    assert ("libfoo.so", "/app/libfoo.so", SearchSource.ORIGIN) in loaded
    v = check(analysis(facts), glibc_target([LIBC]))
    assert v.outcome is Outcome.MISSING_LIBRARY


def test_install_dir_names_the_program() -> None:
    v = check(analysis(elf()), empty_target(), install_dir="/usr/local/bin")
    assert v.message == "exec /usr/local/bin/hello: no such file or directory"


def test_shared_library_without_a_loader() -> None:
    facts = elf(interpreter=None, soname="libfoo.so.1", pie=False)
    v = check(analysis(facts, "libfoo.so.1"), empty_target())
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.problems[0].detail == "cannot be loaded: the image has no dynamic loader"


def test_glibc_library_is_loaded_by_musl_loader() -> None:
    # No interpreter of its own: musl's loader loads it, libc.so.6 being musl itself.
    facts = elf(interpreter=None, soname="libfoo.so.1", pie=False, needed=("libc.so.6", "libgcc_s.so.1"))
    v = check(analysis(facts, "libfoo.so.1"), musl_target())
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_LIBRARY, "libgcc_s.so.1")]
    assert ("libc.so.6", SearchSource.MUSL_BUILTIN) in [(x.name, x.source) for x in v.loaded]


def test_musl_library_on_glibc_image_misses_libc_so() -> None:
    facts = musl_elf(interpreter=None, soname="libfoo.so", pie=False, needed=("libc.so",))
    v = check(analysis(facts, "libfoo.so"), glibc_target([LIBC]))
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_LIBRARY, "libc.so")]


def test_shared_library_loads_on_glibc_image() -> None:
    facts = elf(interpreter=None, soname="libfoo.so.1", pie=False, needed=("libc.so.6", "libz.so.1"))
    v = check(analysis(facts, "libfoo.so.1"), glibc_target([LIBC]))
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_LIBRARY, "libz.so.1")]


def test_script_missing_interpreter_busybox() -> None:
    v = check(script_analysis("/bin/bash"), musl_target(existing=BUSYBOX, executable=BUSYBOX))
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.message == "exec /app/run.sh: no such file or directory"
    assert v.shell_message == "sh: /app/run.sh: not found"
    assert "/bin/bash" in v.explanation and "/bin/sh" in v.explanation
    assert any("#!/bin/sh" in f for f in v.fixes)
    assert any("apk add --no-cache bash" in f for f in v.fixes)


def test_script_crlf() -> None:
    target = glibc_target(existing=["/bin/sh", "/bin/bash"], executable=["/bin/sh", "/bin/bash"])
    v = check(script_analysis("/bin/sh\r", crlf=True), target)
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.shell_message == "bash: /app/run.sh: cannot execute: required file not found"
    assert "CR LF" in v.explanation
    assert any("sed -i 's/\\r$//' run.sh" in f for f in v.fixes)
    assert any("*.sh text eol=lf" in f for f in v.fixes)


def test_script_interpreter_present_runs() -> None:
    target = musl_target(existing=BUSYBOX, executable=BUSYBOX)
    assert check(script_analysis("/bin/sh"), target).runs


def test_script_interpreter_not_executable() -> None:
    target = musl_target(existing=["/bin/sh"])
    v = check(script_analysis("/bin/sh"), target)
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.message == "exec /app/run.sh: permission denied"


def test_env_program_missing_busybox() -> None:
    files = ["/bin/busybox", "/bin/sh", "/usr/bin/env"]
    v = check(script_analysis("/usr/bin/env", program="bash"), musl_target(existing=files, executable=files))
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.problems[0].subject == "bash"
    assert v.message == "env: can't execute 'bash': No such file or directory"


def test_env_program_missing_coreutils() -> None:
    files = ["/bin/sh", "/usr/bin/env"]
    target = glibc_target(existing=files, executable=files)
    v = check(script_analysis("/usr/bin/env", program="python3"), target)
    assert v.message == "/usr/bin/env: 'python3': No such file or directory"


def test_env_program_found_on_path() -> None:
    files = ["/bin/sh", "/usr/bin/env", "/usr/bin/python3"]
    target = glibc_target(existing=files, executable=files)
    v = check(script_analysis("/usr/bin/env", program="python3"), target)
    assert v.runs


def test_go_build_info_does_not_change_the_verdict() -> None:
    go = Toolchain(Language.GO, go=GoBuildInfo("go1.22.1", "example.com/x", (("CGO_ENABLED", "1"),)))
    v = check(analysis(elf(toolchain=go)), glibc_target([LIBC]))
    assert v.runs


def test_check_matrix_one_verdict_per_target_in_order() -> None:
    targets = [empty_target("scratch"), glibc_target([LIBC], name="debian"), musl_target(name="alpine")]
    verdicts = check_matrix(analysis(elf()), targets)
    assert [(v.target, v.runs) for v in verdicts] == [("scratch", False), ("debian", True), ("alpine", False)]


def test_verdict_serialises() -> None:
    v = check(analysis(elf(needed=("libgcc_s.so.1", "libc.so.6"))), glibc_target([LIBC]))
    d = v.to_dict()
    assert d["outcome"] == "missing-library"
    assert d["problems"][0]["search"][0]["source"] == "ld-library-path"


def test_env_crlf_on_debian_with_busybox_installed_is_coreutils_env() -> None:
    files = ["/bin/sh", "/usr/bin/env", "/bin/busybox", "/var/lib/dpkg/status"]
    target = glibc_target(existing=files, executable=files)
    v = check(script_analysis("/usr/bin/env", program="sh\r", crlf=True), target)
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert v.message.splitlines()[0] == "/usr/bin/env: 'sh\\r': No such file or directory"
    assert "CR LF" in v.explanation


def test_musl_wrong_machine_library_message() -> None:
    target = musl_target([lib("/lib/libz.so.1", machine="aarch64")])
    v = check(analysis(musl_elf(needed=("libz.so.1", "libc.musl-x86_64.so.1"))), target)
    assert v.outcome is Outcome.MISSING_LIBRARY
    assert v.message == "Error relocating /lib/libz.so.1: unsupported relocation type"


def test_glibc_wrong_class_library_message() -> None:
    target = glibc_target([LIBC, lib("/usr/lib/libz.so.1", elf_class=32, machine="i386")])
    v = check(analysis(elf(needed=("libz.so.1", "libc.so.6"))), target)
    assert v.message == ("/app/hello: error while loading shared libraries: libz.so.1: "
                         "wrong ELF class: ELFCLASS32")


def test_gcompat_runs_glibc_program_with_musl_rules() -> None:
    # gcompat puts a shim at glibc's loader path; musl's rules apply and libc.so.6 is musl itself.
    shim = lib(GLIBC_LOADER, soname=None, exports=frozenset())
    musl = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts"}))
    target = musl_target([shim, musl], loaders=(MUSL_LOADER, GLIBC_LOADER))
    facts = elf(imports=(SymbolImport("gnu_get_libc_version", "GLIBC_2.2.5", "libc.so.6", False),))
    v = check(analysis(facts), target)
    assert v.runs  # versions ignored, and the shim's exports are not taken for libc's
    assert [(x.name, x.source) for x in v.loaded] == [("libc.so.6", SearchSource.MUSL_BUILTIN)]
    assert any("gcompat" in n for n in v.notes)


def test_armel_static_runs_on_armhf_image() -> None:
    # The kernel does not look at the float ABI; only the loader and libraries do.
    facts = static_elf(machine="armel", docker_arch="arm", elf_class=32, e_machine=40)
    target = dataclasses.replace(empty_target(), machine="armhf", docker_arch="arm")
    assert check(analysis(facts), target).runs


def test_library_without_libc_on_scratch() -> None:
    facts = elf(interpreter=None, needed=(), libc=Libc.NONE, linkage=Linkage.NO_LIBC, version_needs=())
    v = check(analysis(facts, "libnolibc.so"), empty_target())
    assert v.problems[0].detail == "cannot be loaded: the image has no dynamic loader"


def test_interpreter_at_an_unusual_path_still_resolves_libraries() -> None:
    # The image lists no standard loader, but the file's own interpreter is there (a Nix-style path).
    interp = "/opt/glibc/lib/ld-linux-x86-64.so.2"
    target = glibc_target([LIBC], loaders=(), existing=[interp], executable=[interp])
    v = check(analysis(elf(interpreter=interp, needed=("libz.so.1", "libc.so.6"))), target)
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_LIBRARY, "libz.so.1")]


def _fixture(name: str) -> str:
    path = FIXTURE_BIN / name
    if not path.is_file():
        pytest.skip(f"fixture {name} not built")
    return str(path)


def test_public_check_counts_libraries_beside_the_file() -> None:
    # c-runpath finds libfixture.so through DT_RUNPATH $ORIGIN/lib: shipped beside it, not in the image.
    path = _fixture("c-runpath")
    v = linkcheck.check(path, glibc_target([LIBC]))
    assert v.runs, v.problems
    assert ("libfixture.so", "/app/lib/libfixture.so") in [(x.name, x.path) for x in v.loaded]
    moved = dataclasses.replace(analyze(path), path="/nonexistent/c-runpath")
    v = linkcheck.check(moved, glibc_target([LIBC]))
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_LIBRARY, "libfixture.so")]


def test_public_check_matrix_defaults_to_builtin_images_of_the_files_machine() -> None:
    verdicts = linkcheck.check_matrix(_fixture("go-static"))
    assert verdicts and all(v.runs for v in verdicts)
    arm = linkcheck.check_matrix(_fixture("go-static-arm64"))
    assert arm and all(v.runs for v in arm)  # arm64 images for an arm64 file


def test_needed_loader_name_is_not_a_second_problem_when_the_loader_is_missing() -> None:
    facts = elf(needed=("libc.so.6", "ld-linux-x86-64.so.2"))
    v = check(analysis(facts), musl_target())
    assert [p.kind for p in v.problems] == [Outcome.MISSING_INTERPRETER]


def test_version_fixes_follow_the_highest_missing_version() -> None:
    facts = elf(version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.32", "GLIBC_2.38")),))
    v = check(analysis(facts), glibc_target([LIBC], libc_version="2.31"))
    assert [p.subject for p in v.problems] == ["GLIBC_2.32", "GLIBC_2.38"]
    newer = [f for f in v.fixes if "newer image" in f]
    assert newer == ["or run it on a newer image: ubuntu:24.04"]  # 2.39 covers 2.38; 22.04 would not


def test_every_problem_is_listed_behind_a_missing_loader() -> None:
    """A Rust program on distroless/static: the loader is missing, and so is libgcc_s.so.1 (the fixture's
    recipe links it; see fixtures/manifest.json), which a fix adding only glibc would still lack."""
    from linkcheck.image.target import load_target

    from conftest import FIXTURES, load_manifest

    rust = load_manifest()["rust-glibc"]
    verdict = check(analyze(FIXTURES / rust["path"]), load_target("distroless/static", platform="amd64"))
    assert verdict.outcome is Outcome.MISSING_INTERPRETER
    missing = {p.subject for p in verdict.problems if p.kind is Outcome.MISSING_LIBRARY}
    assert set(rust["needed_includes"]) <= missing
    assert any("distroless/cc" in fix for fix in verdict.fixes)


def test_glibc_program_on_musl_image_has_no_gcompat_note() -> None:
    """The missing loader is the whole story: no note about a glibc-named shim loader that is not there."""
    v = check(analysis(elf()), musl_target())
    assert v.outcome is Outcome.MISSING_INTERPRETER
    assert not any("gcompat?" in n for n in v.notes)


def test_a_diagnosis_is_typed_problems_and_the_first_decides_the_outcome() -> None:
    """Deciding is apart from wording: diagnose returns problems as data (no text), in the order the
    loader hits them; the verdict's outcome is the first one's kind."""
    from linkcheck.verdict.checks import LibraryMissing, SymbolMissing, VersionMissing, diagnose

    facts = elf(needed=("libc.so.6", "libz.so.1"),
                version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.38")),))
    d = diagnose(analysis(facts), glibc_target([LIBC]))
    assert [type(p) for p in d.problems] == [LibraryMissing, VersionMissing]
    assert d.outcome is Outcome.MISSING_LIBRARY and d.decisive == d.problems[:1]
    assert not any(isinstance(p, SymbolMissing) for p in d.problems)  # libz's symbols cannot be judged
    assert check(analysis(facts), glibc_target([LIBC])).outcome is d.outcome


def test_check_suggests_images_only_from_the_catalogue_it_is_given() -> None:
    from linkcheck.model import CatalogueImage

    facts = elf(version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.38")),))
    target = glibc_target([LIBC], libc_version="2.36")
    mine = (CatalogueImage("registry.example/base:2026.11", "x86_64", Libc.GLIBC, "2.41"),)
    v = check(analysis(facts), target, catalogue=mine)
    newer = [f for f in v.fixes if "newer image" in f]
    assert newer == ["or run it on a newer image: registry.example/base:2026.11"]
    assert not any("newer image" in f for f in check(analysis(facts), target, catalogue=()).fixes)


def _lazy_case(**symbols: Any) -> tuple[ElfFacts, Target]:
    from linkcheck.model import Symbols

    libc = dataclasses.replace(LIBC, exports=frozenset({"puts", "puts@GLIBC_2.2.5", "stdout"}))
    loader = lib(GLIBC_LOADER, soname="ld-linux-x86-64.so.2", exports=frozenset())
    imports = (SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False),
               SymbolImport("gone", None, None, False))
    return elf(symbols=Symbols.of(imports, **symbols)), glibc_target([libc, loader])


def test_a_missing_function_bound_lazily_starts_then_fails() -> None:
    facts, target = _lazy_case(lazy_imports=frozenset({"puts", "gone"}))
    v = check(analysis(facts), target)
    assert (v.outcome, v.runs) == (Outcome.STARTS_THEN_FAILS, False)
    assert v.message == "/app/hello: symbol lookup error: /app/hello: undefined symbol: gone"
    assert "first calls gone" in v.explanation


@pytest.mark.parametrize("why", ["bind_now", "LD_BIND_NOW", "address taken", "relocations unread"])
def test_a_missing_symbol_fails_at_start_when_bound_at_start(why: str) -> None:
    from linkcheck.image.target import parse_env, with_env

    lazy = {"address taken": frozenset({"puts"}), "relocations unread": None}
    facts, target = _lazy_case(lazy_imports=lazy.get(why, frozenset({"puts", "gone"})))
    if why == "bind_now":
        facts = dataclasses.replace(facts, bind_now=True)
    if why == "LD_BIND_NOW":
        target = with_env(target, parse_env(["LD_BIND_NOW=1"]))
    v = check(analysis(facts), target)
    assert v.outcome is Outcome.MISSING_SYMBOL, why
    assert any("could not be read" in n for n in v.notes) is (why == "relocations unread")


def test_an_executables_copied_data_object_must_come_from_a_library() -> None:
    """A COPY relocation: the executable defines lz_data, yet the loader must find it in a library."""
    from linkcheck.model import SymbolExport, Symbols

    facts, target = _lazy_case(lazy_imports=frozenset({"puts"}))
    imports = (SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False),)
    exports = (SymbolExport("stdout", "GLIBC_2.2.5"), SymbolExport("lz_data", None))
    facts = dataclasses.replace(facts, symbols=Symbols.of(imports, exports, lazy_imports=frozenset({"puts"}),
                                                          copied=frozenset({"stdout", "lz_data"})))
    v = check(analysis(facts), target)
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_SYMBOL, "lz_data")]


@pytest.mark.parametrize(("version", "maps"), [("1.2.5", True), ("1.2.4_git20230717", True), ("1.2.3", False),
                                               (None, False)])
def test_musl_maps_lfs64_names_from_1_2_4(version: str | None, maps: bool) -> None:
    """musl >= 1.2.4 no longer exports fopen64 but its loader resolves it to fopen; older ones export it
    themselves (so an image without it is missing it)."""
    musl = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts", "fopen"}))
    target = dataclasses.replace(musl_target([musl]), libc_version=version)
    facts = musl_elf(imports=(SymbolImport("puts", None, None, False),
                              SymbolImport("fopen64", None, None, False)))
    v = check(analysis(facts), target)
    assert v.runs is maps, v.explanation


def test_musl_skips_ifunc_and_non_default_version_definitions() -> None:
    """libatomic's __atomic_load_16 (an IFUNC) and libgcc_s's __cpu_model (only __cpu_model@GCC_4.8.0)
    are no definitions to musl: references to them, even the file's own, are 'symbol not found'."""
    from linkcheck.model import SymbolExport, Symbols

    musl = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts"}))
    helper = dataclasses.replace(lib("/usr/lib/libatomic.so.1", exports=frozenset({"__atomic_load_16"})),
                                 ifuncs=frozenset({"__atomic_load_16"}))
    facts = musl_elf(needed=("libc.musl-x86_64.so.1", "libatomic.so.1"), symbols=Symbols.of(
        (SymbolImport("__atomic_load_16", None, None, False),),
        (SymbolExport("__cpu_model", "GCC_4.8.0", hidden=True),), self_refs=frozenset({"__cpu_model"})))
    v = check(analysis(facts), musl_target([musl, helper]))
    assert [p.subject for p in v.problems] == ["__atomic_load_16", "__cpu_model"]
    glibc_view = check(analysis(dataclasses.replace(facts, interpreter=GLIBC_LOADER)), glibc_target([
        dataclasses.replace(LIBC, exports=frozenset({"puts"})), helper]))
    assert not any(p.subject == "__cpu_model" for p in glibc_view.problems)  # glibc binds it to itself


def test_missing_libraries_get_one_install_line_per_package_manager_without_duplicates() -> None:
    # libssl and libcrypto come in one package: it is named once, on one line with the others.
    facts = musl_elf(needed=("libssl.so.3", "libcrypto.so.3", "libstdc++.so.6", "libc.musl-x86_64.so.1"))
    v = check(analysis(facts), musl_target())
    installs = [f for f in v.fixes if "apk add" in f]
    assert installs == ["install libssl.so.3, libcrypto.so.3, libstdc++.so.6 in the image: "
                        "RUN apk add --no-cache libssl3 libcrypto3 libstdc++"]
    facts = elf(needed=("libssl.so.3", "libcrypto.so.3", "libc.so.6"))
    v = check(analysis(facts), glibc_target([LIBC], existing=["/usr/bin/apt-get"]))
    installs = [f for f in v.fixes if "apt-get install" in f]
    assert installs == ["install libssl.so.3, libcrypto.so.3 in the image: "
                        "RUN apt-get update && apt-get install -y libssl3"]


def test_a_program_for_this_hosts_machine_is_not_said_to_run_under_emulation() -> None:
    from linkcheck import check as public_check
    from linkcheck.facts.arch import host_machine

    host = host_machine()
    own, other = {"x86_64": ("go-static", "linux/arm64"), "aarch64": ("go-static-arm64", "linux/amd64")}.get(
        host, (None, None))
    if own is None or other is None:
        pytest.skip(f"no fixture for a {host} host")
    v = public_check(_fixture(own), "alpine", platform=other)
    assert [p.kind for p in v.problems] == [Outcome.WRONG_ARCHITECTURE]
    assert not any("emulation" in f for f in v.fixes)
    assert not any("runs it under emulation instead" in n for n in v.notes)


def test_fix_text_names_the_alpine_a_bare_alpine_means() -> None:
    from linkcheck import check as public_check
    from linkcheck.image.target import builtin_catalogue

    newest = public_check(_fixture("go-static"), "alpine").target
    assert newest in {c.name for c in builtin_catalogue()}
    v = public_check(_fixture("c-musl-dynamic"), "debian:12")
    assert [p.kind for p in v.problems] == [Outcome.MISSING_INTERPRETER]
    assert any(f"Alpine image ({newest})" in f for f in v.fixes), v.fixes


def test_articles_before_machine_names_follow_how_they_are_read() -> None:
    facts = static_elf(machine="i386", docker_arch="386", elf_class=32, e_machine=3)
    v = check(analysis(facts), empty_target())
    assert any(n.startswith("an i386 program on an x86_64 image") for n in v.notes), v.notes
    arm = check(analysis(elf(machine="aarch64", docker_arch="arm64", e_machine=183)), glibc_target([LIBC]))
    assert any("with an x86_64 compiler" in f for f in arm.fixes), arm.fixes


def test_a_library_of_another_machine_gets_the_glibc_loaders_message_not_the_exec_one(
        tmp_path: pathlib.Path) -> None:
    # A real load decides: this host's glibc loader dlopens the same library with its e_machine changed
    # to aarch64 (183); it skips such a file as if absent.
    import ctypes

    from linkcheck import check as public_check
    from linkcheck.facts.arch import host_machine

    if host_machine() != "x86_64":
        pytest.skip("needs an x86_64 glibc host")
    data = bytearray((FIXTURE_BIN / "libhello-glibc.so").read_bytes() if (
        FIXTURE_BIN / "libhello-glibc.so").is_file() else b"")
    if not data:
        pytest.skip("fixture libhello-glibc.so not built")
    data[18:20] = (183).to_bytes(2, "little")
    path = tmp_path / "libhello.so"
    path.write_bytes(bytes(data))
    with pytest.raises(OSError) as real:
        ctypes.CDLL(str(path))
    v = public_check(str(path), "debian:12")
    assert [p.kind for p in v.problems] == [Outcome.WRONG_ARCHITECTURE]
    assert v.message == str(real.value).replace(str(path), "/app/libhello.so")
    assert v.message == "/app/libhello.so: cannot open shared object file: No such file or directory"


def test_one_symbol_left_to_the_program_is_singular() -> None:
    libc = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts"}))
    facts = musl_elf(interpreter=None, soname="libfoo.so.1", pie=False, needed=("libc.musl-x86_64.so.1",),
                     imports=(SymbolImport("from_the_program", None, None, False),))
    v = check(analysis(facts, "libfoo.so.1"), musl_target([libc]))
    assert v.runs, v.problems
    assert "1 undefined symbol (from_the_program) is defined by no library it loads: it must come from the " \
        "program that loads it" in v.notes, v.notes


@pytest.mark.parametrize(("image", "measured_in", "statx", "fopen64"), [
    ("alpine:3.18", "3.18.9", False, True),  # musl 1.2.4: no statx yet; still exports fopen64 itself
    ("alpine:3.19", "3.19.4", False, True),  # musl 1.2.4_git20230717: no statx; its loader maps fopen64
    ("alpine:3.20", "3.20.3", True, True),  # musl 1.2.5: statx
])
@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_builtin_musl_targets_judge_symbols_by_their_own_musl_version(
    image: str, measured_in: str, statx: bool, fopen64: bool, arch: str
) -> None:
    """Each built-in alpine carries the symbols its musl really exports (measured from the image's
    minirootfs, with its source), so a glibc-built library importing statx (musl 1.2.5's) fails on
    alpine 3.18 and 3.19, and one importing __printf_chk (which musl never defined) fails on all."""
    from linkcheck.image.target import load_target

    target = load_target(image, arch)
    machine = target.machine
    sources = {s.fact: s for s in target.sources}
    assert sources["musl_symbols"].how.value == "measured", sources["musl_symbols"]
    assert f"{measured_in}-{machine}" in sources["musl_symbols"].where, sources["musl_symbols"]
    for name, expected in (("statx", statx), ("fopen64", fopen64), ("__printf_chk", False), ("puts", True)):
        facts = elf(interpreter=None, machine=machine, e_machine=183 if arch == "arm64" else 62,
                    docker_arch=arch, needed=("libc.so.6",), version_needs=(),
                    imports=(SymbolImport(name, "GLIBC_2.28" if name == "statx" else "GLIBC_2.2.5",
                                          "libc.so.6", False),))
        v = check(analysis(facts, "libmodule.so"), target)
        assert v.runs is expected, (image, arch, name, v.outcome, v.message)


def test_a_loaded_librarys_missing_version_is_a_problem_required_by_that_library() -> None:
    """glibc checks every loaded object's version needs: libneedy.so needing GLIBC_2.38 of a glibc 2.36
    libc stops the program, whose own needs are met; the message names the library as glibc does."""
    from linkcheck.model import VersionNeed

    needy = dataclasses.replace(
        lib("/usr/lib/x86_64-linux-gnu/libneedy.so", needed=("libc.so.6",)),
        version_needs=(VersionNeed("libc.so.6", ("GLIBC_2.2.5", "GLIBC_2.38")),),
        versioned_imports=frozenset({"strlcpy@GLIBC_2.38", "puts@GLIBC_2.2.5"}))
    facts = elf(needed=("libneedy.so", "libc.so.6"))
    v = check(analysis(facts), glibc_target([LIBC, needy]))
    assert v.outcome is Outcome.MISSING_SYMBOL_VERSION
    assert [(p.subject, p.needed_by, p.symbols) for p in v.problems] == [
        ("GLIBC_2.38", "/usr/lib/x86_64-linux-gnu/libneedy.so", ("strlcpy",))]
    assert v.message == ("/app/hello: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found "
                         "(required by /usr/lib/x86_64-linux-gnu/libneedy.so)")
    musl_view = check(analysis(musl_elf(needed=("libneedy.so",))), musl_target([needy]))
    assert not any(p.kind is Outcome.MISSING_SYMBOL_VERSION for p in musl_view.problems)  # musl ignores them


def test_another_systems_static_program_is_not_linux_after_the_machine_check() -> None:
    """A static Solaris program on x86-64 starts (Linux ignores EI_OSABI) but is no Linux program; for
    another CPU, the kernel's machine check comes first; a dynamic one stops at its missing loader."""
    solaris = static_elf(osabi=6, linkage=Linkage.NOT_LINUX, libc=Libc.UNKNOWN)
    v = check(analysis(solaris), glibc_target([LIBC]))
    assert (v.outcome, [p.subject for p in v.problems], v.runs) == (Outcome.NOT_LINUX, ["Solaris"], False)
    arm = dataclasses.replace(solaris, machine="aarch64", e_machine=183, docker_arch="arm64")
    assert check(analysis(arm), glibc_target([LIBC])).outcome is Outcome.WRONG_ARCHITECTURE
    dynamic = elf(osabi=9, interpreter="/libexec/ld-elf.so.1", linkage=Linkage.NOT_LINUX, libc=Libc.UNKNOWN)
    assert check(analysis(dynamic), glibc_target([LIBC])).outcome is Outcome.MISSING_INTERPRETER


def test_gcompats_shim_preloads_libgcompat_whose_symbols_count_with_musls() -> None:
    """With libgcompat.so.0 beside the shim, imports are looked up in musl and libgcompat: __isnan (only
    libgcompat's) binds, gnu_get_libc_version (neither's) is musl's 'symbol not found'."""
    shim = lib(GLIBC_LOADER, soname=None, exports=frozenset())
    musl = lib(MUSL_LOADER, soname="libc.musl-x86_64.so.1", exports=frozenset({"puts", "__dls3"}))
    gcompat = lib("/lib/libgcompat.so.0", exports=frozenset({"__isnan", "__isnan@GLIBC_2.2.5"}))
    target = musl_target([shim, musl, gcompat], loaders=(MUSL_LOADER, GLIBC_LOADER))
    wanted = (SymbolImport("__isnan", "GLIBC_2.2.5", "libc.so.6", False),
              SymbolImport("puts", "GLIBC_2.2.5", "libc.so.6", False))
    assert check(analysis(elf(imports=wanted)), target).runs
    facts = elf(imports=(*wanted, SymbolImport("gnu_get_libc_version", "GLIBC_2.2.5", "libc.so.6", False)))
    v = check(analysis(facts), target)
    assert [(p.kind, p.subject) for p in v.problems] == [(Outcome.MISSING_SYMBOL, "gnu_get_libc_version")]
    assert v.message == "Error relocating /app/hello: gnu_get_libc_version: symbol not found"

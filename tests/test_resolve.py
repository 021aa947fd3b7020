"""The loader's search, one test per rule, asserting what is loaded and the replayed steps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkcheck.model import ElfFacts, SearchSource, SearchStep, Target, TargetFiles
from linkcheck.verdict.resolve import (
    MAX_MISSING_SEARCHED,
    LoaderFamily,
    LoadError,
    Resolution,
    is_musl_builtin,
    loader_family,
    resolve,
)

from factories import DictFiles, elf, glibc_target, lib, musl_elf, musl_target

ML = "/lib/x86_64-linux-gnu"
UL = "/usr/lib/x86_64-linux-gnu"
PROG = "/app/hello"


def run(facts: ElfFacts, target: Target, origin_files: TargetFiles | None = None) -> Resolution:
    return resolve(facts, target, origin_dir="/app", origin_files=origin_files, program=PROG)


def paths(res: Resolution) -> list[tuple[str, str | None]]:
    return [(f.loaded.name, f.loaded.path) for f in res.found]


def steps(search: Iterable[SearchStep]) -> list[tuple[str, SearchSource, str]]:
    return [(s.directory, s.source, s.result) for s in search]


def test_default_dirs_searched_in_order() -> None:
    target = glibc_target([lib(f"{ML}/libc.so.6"), lib(f"{UL}/libz.so.1")])
    res = run(elf(needed=("libz.so.1", "libc.so.6")), target)
    assert paths(res) == [("libz.so.1", f"{UL}/libz.so.1"), ("libc.so.6", f"{ML}/libc.so.6")]
    assert steps(res.found[0].search) == [
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        (ML, SearchSource.DEFAULT, "not found"),
        (UL, SearchSource.DEFAULT, "found"),
    ]
    assert res.missing == ()
    assert res.found[0].loaded.source is SearchSource.DEFAULT
    assert res.found[0].loaded.needed_by == PROG


def test_ld_so_conf_dirs_before_default_dirs() -> None:
    target = glibc_target([lib("/usr/local/lib/libz.so.1"), lib(f"{UL}/libz.so.1")],
                          conf_dirs=("/usr/local/lib",))
    res = run(elf(needed=("libz.so.1",)), target)
    assert paths(res) == [("libz.so.1", "/usr/local/lib/libz.so.1")]
    assert res.found[0].loaded.source is SearchSource.LD_SO_CONF


def test_rpath_ignored_when_runpath_set() -> None:
    target = glibc_target([lib("/opt/a/libfoo.so.1"), lib("/opt/b/libfoo.so.1")])
    res = run(elf(needed=("libfoo.so.1",), rpath=("/opt/a",), runpath=("/opt/b",)), target)
    assert paths(res) == [("libfoo.so.1", "/opt/b/libfoo.so.1")]
    assert steps(res.found[0].search) == [
        ("DT_RPATH", SearchSource.RPATH, "skipped"),
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        ("/opt/b", SearchSource.RUNPATH, "found"),
    ]


def test_rpath_searched_before_ld_library_path_and_default_dirs() -> None:
    target = glibc_target([lib("/opt/a/libfoo.so.1"), lib(f"{ML}/libfoo.so.1")])
    res = run(elf(needed=("libfoo.so.1",), rpath=("/opt/a",)), target)
    assert paths(res) == [("libfoo.so.1", "/opt/a/libfoo.so.1")]
    assert steps(res.found[0].search) == [("/opt/a", SearchSource.RPATH, "found")]


def test_runpath_not_inherited_by_dependencies() -> None:
    liba = lib("/opt/lib/liba.so.1", needed=("libb.so.1",))
    target = glibc_target([liba, lib("/opt/lib/libb.so.1")])
    res = run(elf(needed=("liba.so.1",), runpath=("/opt/lib",)), target)
    assert paths(res) == [("liba.so.1", "/opt/lib/liba.so.1")]
    [miss] = res.missing
    assert (miss.name, miss.needed_by) == ("libb.so.1", "/opt/lib/liba.so.1")
    assert "/opt/lib" not in [s.directory for s in miss.search]
    assert [s.directory for s in miss.search] == ["LD_LIBRARY_PATH", ML, UL, "/lib", "/usr/lib"]
    assert miss.error is LoadError.NOT_FOUND


def test_rpath_inherited_from_executable() -> None:
    liba = lib("/opt/lib/liba.so.1", needed=("libb.so.1",))
    target = glibc_target([liba, lib("/opt/lib/libb.so.1")])
    res = run(elf(needed=("liba.so.1",), rpath=("/opt/lib",)), target)
    assert paths(res) == [("liba.so.1", "/opt/lib/liba.so.1"), ("libb.so.1", "/opt/lib/libb.so.1")]
    [step] = res.found[1].search
    assert (step.directory, step.source, step.result) == ("/opt/lib", SearchSource.RPATH, "found")
    assert "inherited" in step.reason and PROG in step.reason


def test_own_runpath_stops_inherited_rpath() -> None:
    # liba has DT_RUNPATH: for liba's needs, no DT_RPATH at all is used, the executable's neither.
    liba = lib("/opt/a/liba.so.1", needed=("libb.so.1",), runpath=("/opt/a",))
    target = glibc_target([liba, lib("/opt/lib/libb.so.1")])
    res = run(elf(needed=("liba.so.1",), rpath=("/opt/lib", "/opt/a")), target)
    [miss] = res.missing
    assert miss.name == "libb.so.1"
    assert steps(miss.search)[:3] == [
        ("DT_RPATH", SearchSource.RPATH, "skipped"),
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        ("/opt/a", SearchSource.RUNPATH, "not found"),
    ]


def test_ancestor_with_runpath_and_rpath_contributes_no_rpath() -> None:
    # The executable has both tags: glibc drops its DT_RPATH, so libb (needed by liba, which has
    # neither) cannot inherit it.
    liba = lib(f"{ML}/liba.so.1", needed=("libb.so.1",))
    target = glibc_target([liba, lib("/opt/lib/libb.so.1")])
    res = run(elf(needed=("liba.so.1",), rpath=("/opt/lib",), runpath=("/nowhere",)), target)
    [miss] = res.missing
    assert miss.name == "libb.so.1"
    assert ("/opt/lib", SearchSource.RPATH, "found") not in steps(miss.search)
    assert ("DT_RPATH", SearchSource.RPATH, "skipped") in steps(miss.search)


def test_nodeflib_skips_default_dirs() -> None:
    target = glibc_target([lib(f"{UL}/libz.so.1"), lib("/usr/local/lib/libfoo.so.1")],
                          conf_dirs=("/usr/local/lib", ML))
    res = run(elf(needed=("libz.so.1", "libfoo.so.1"), nodeflib=True), target)
    # ld.so.conf entries outside the default dirs still count; those inside them do not.
    assert paths(res) == [("libfoo.so.1", "/usr/local/lib/libfoo.so.1")]
    [miss] = res.missing
    assert miss.name == "libz.so.1"
    assert steps(miss.search) == [
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        ("/usr/local/lib", SearchSource.LD_SO_CONF, "not found"),
        (ML, SearchSource.LD_SO_CONF, "skipped"),
        (ML, SearchSource.DEFAULT, "skipped"),
        (UL, SearchSource.DEFAULT, "skipped"),
        ("/lib", SearchSource.DEFAULT, "skipped"),
        ("/usr/lib", SearchSource.DEFAULT, "skipped"),
    ]


def test_origin_expands_to_file_directory() -> None:
    beside = DictFiles([lib("/app/lib/libfoo.so.1")])  # the host directory, seen at /app
    target = glibc_target()
    res = run(elf(needed=("libfoo.so.1",), runpath=("$ORIGIN/lib",)), target, origin_files=beside)
    assert paths(res) == [("libfoo.so.1", "/app/lib/libfoo.so.1")]
    assert steps(res.found[0].search)[-1] == ("/app/lib", SearchSource.ORIGIN, "found")
    assert res.found[0].loaded.source is SearchSource.ORIGIN
    # Without the host directory, the image alone does not have it.
    res = run(elf(needed=("libfoo.so.1",), runpath=("${ORIGIN}/lib",)), target)
    assert [m.name for m in res.missing] == ["libfoo.so.1"]
    assert ("/app/lib", SearchSource.ORIGIN, "not found") in steps(res.missing[0].search)


def test_origin_of_a_library_is_its_own_directory() -> None:
    liba = lib("/opt/x/lib/liba.so", needed=("libb.so",), runpath=("$ORIGIN/../deps",))
    target = glibc_target([liba, lib("/opt/x/deps/libb.so")])
    res = run(elf(needed=("liba.so",), runpath=("/opt/x/lib",)), target)
    assert paths(res) == [("liba.so", "/opt/x/lib/liba.so"), ("libb.so", "/opt/x/deps/libb.so")]


def test_wrong_class_candidate_skipped() -> None:
    target = glibc_target([lib(f"{ML}/libz.so.1", elf_class=32, machine="i386"), lib(f"{UL}/libz.so.1")])
    res = run(elf(needed=("libz.so.1",)), target)
    assert paths(res) == [("libz.so.1", f"{UL}/libz.so.1")]
    assert steps(res.found[0].search)[1:] == [
        (ML, SearchSource.DEFAULT, "wrong class"),
        (UL, SearchSource.DEFAULT, "found"),
    ]


def test_wrong_machine_candidate_skipped() -> None:
    target = glibc_target([lib(f"{ML}/libz.so.1", machine="aarch64")])
    res = run(elf(needed=("libz.so.1",)), target)
    [miss] = res.missing
    assert (ML, SearchSource.DEFAULT, "wrong machine") in steps(miss.search)
    assert steps(miss.search)[-1] == ("/usr/lib", SearchSource.DEFAULT, "not found")


@pytest.mark.parametrize(
    "name",
    ["libc.so", "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
     "libxnet.so", "libc.musl-x86_64.so.1"],
)
def test_musl_builtin_names(name: str) -> None:
    assert is_musl_builtin(name)
    res = run(musl_elf(needed=(name,)), musl_target())
    [found] = res.found
    assert (found.loaded.path, found.loaded.source) == (None, SearchSource.MUSL_BUILTIN)
    assert res.missing == ()


@pytest.mark.parametrize(
    "name",
    ["libcrypt.so.1", "libcrypto.so.3", "libresolv.so.2", "libmagic.so.1", "libm", "libdlx.so", "c.so"],
)
def test_musl_builtin_names_exclude_lookalikes(name: str) -> None:
    assert not is_musl_builtin(name)
    res = run(musl_elf(needed=(name,)), musl_target())
    assert [m.name for m in res.missing] == [name]
    assert res.missing[0].error is LoadError.NOT_FOUND


def test_needed_with_slash_is_a_path() -> None:
    target = glibc_target([lib("/opt/x/libfoo.so"), lib(f"{ML}/libfoo.so")])
    res = run(elf(needed=("/opt/x/libfoo.so",)), target)
    assert paths(res) == [("/opt/x/libfoo.so", "/opt/x/libfoo.so")]
    assert steps(res.found[0].search) == [("/opt/x", SearchSource.DIRECT, "found")]
    # Not searched for by its file name when the path is absent.
    res = run(elf(needed=("/opt/y/libfoo.so",)), target)
    [miss] = res.missing
    assert steps(miss.search) == [("/opt/y", SearchSource.DIRECT, "not found")]


def test_already_loaded_soname_satisfies() -> None:
    # Loaded as "libfoo.so" (a file whose DT_SONAME is libfoo.so.1); a later need for libfoo.so.1 is
    # that object, though no file named libfoo.so.1 exists.
    libbar = lib(f"{UL}/libbar.so.2", needed=("libfoo.so.1",))
    target = glibc_target([lib(f"{UL}/libfoo.so", soname="libfoo.so.1"), libbar])
    res = run(elf(needed=("libfoo.so", "libbar.so.2")), target)
    assert paths(res) == [("libfoo.so", f"{UL}/libfoo.so"), ("libbar.so.2", f"{UL}/libbar.so.2")]
    assert res.missing == ()


def test_musl_does_not_match_soname() -> None:
    libbar = lib("/usr/lib/libbar.so.2", needed=("libfoo.so.1",))
    target = musl_target([lib("/usr/lib/libfoo.so", soname="libfoo.so.1"), libbar])
    res = run(musl_elf(needed=("libfoo.so", "libbar.so.2")), target)
    assert [m.name for m in res.missing] == ["libfoo.so.1"]
    assert res.missing[0].needed_by == "/usr/lib/libbar.so.2"


def test_same_name_loaded_once() -> None:
    libbar = lib(f"{UL}/libbar.so.2", needed=("libz.so.1",))
    target = glibc_target([lib(f"{UL}/libz.so.1"), libbar])
    res = run(elf(needed=("libz.so.1", "libbar.so.2")), target)
    assert [f.loaded.name for f in res.found] == ["libz.so.1", "libbar.so.2"]


def test_breadth_first_load_order() -> None:
    target = glibc_target([
        lib(f"{UL}/liba.so", needed=("libc_dep.so",)),
        lib(f"{UL}/libb.so", needed=("libd.so",)),
        lib(f"{UL}/libc_dep.so"),
        lib(f"{UL}/libd.so"),
    ])
    res = run(elf(needed=("liba.so", "libb.so")), target)
    assert [f.loaded.name for f in res.found] == ["liba.so", "libb.so", "libc_dep.so", "libd.so"]
    assert res.found[2].loaded.needed_by == f"{UL}/liba.so"


def test_every_missing_library_listed_once() -> None:
    target = glibc_target([lib(f"{UL}/liba.so", needed=("libgcc_s.so.1",))])
    res = run(elf(needed=("libgcc_s.so.1", "liba.so", "libstdc++.so.6")), target)
    assert [(m.name, m.needed_by) for m in res.missing] == [("libgcc_s.so.1", PROG), ("libstdc++.so.6", PROG)]


def test_interpreter_counts_as_loaded() -> None:
    libc = lib(f"{ML}/libc.so.6", needed=("ld-linux-x86-64.so.2",))
    res = run(elf(), glibc_target([libc]))
    assert paths(res) == [("libc.so.6", f"{ML}/libc.so.6")]
    assert res.missing == ()


def test_musl_rpath_inherited_from_loader_chain() -> None:
    # musl walks the chain of loaders, and uses DT_RUNPATH like DT_RPATH: inherited too.
    liba = lib("/opt/lib/liba.so", needed=("libb.so",))
    target = musl_target([liba, lib("/opt/lib/libb.so")])
    res = run(musl_elf(needed=("liba.so",), runpath=("/opt/lib",)), target)
    assert paths(res) == [("liba.so", "/opt/lib/liba.so"), ("libb.so", "/opt/lib/libb.so")]
    assert steps(res.found[1].search) == [
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        ("/opt/lib", SearchSource.RUNPATH, "found"),
    ]


def test_musl_search_dirs_after_rpath() -> None:
    target = musl_target([lib("/usr/lib/libz.so.1")])
    res = run(musl_elf(needed=("libz.so.1",), rpath=("/opt/none",)), target)
    assert steps(res.found[0].search) == [
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        ("/opt/none", SearchSource.RPATH, "not found"),
        ("/lib", SearchSource.DEFAULT, "not found"),
        ("/usr/local/lib", SearchSource.DEFAULT, "not found"),
        ("/usr/lib", SearchSource.DEFAULT, "found"),
    ]


def test_musl_ignores_rpath_with_other_tokens() -> None:
    target = musl_target([lib("/opt/lib/libz.so.1")])
    res = run(musl_elf(needed=("libz.so.1",), rpath=("/opt/lib", "/opt/$LIB")), target)
    [miss] = res.missing
    assert ("DT_RPATH", SearchSource.RPATH, "skipped") in steps(miss.search)
    assert "/opt/lib" not in [s.directory for s in miss.search]


def test_musl_stops_at_wrong_class_candidate() -> None:
    target = musl_target([lib("/lib/libz.so.1", elf_class=32, machine="i386"), lib("/usr/lib/libz.so.1")])
    res = run(musl_elf(needed=("libz.so.1",)), target)
    [miss] = res.missing
    assert steps(miss.search)[-1] == ("/lib", SearchSource.DEFAULT, "wrong class")
    assert miss.error is LoadError.BAD_FILE


def test_glibc_lib_token_expands_to_multiarch_dir() -> None:
    target = glibc_target([lib("/opt/lib/x86_64-linux-gnu/libz.so.1")])
    res = run(elf(needed=("libz.so.1",), rpath=("/opt/$LIB",)), target)
    assert paths(res) == [("libz.so.1", "/opt/lib/x86_64-linux-gnu/libz.so.1")]


def test_loader_family() -> None:
    assert loader_family("/lib/ld-musl-x86_64.so.1", glibc_target()) is LoaderFamily.MUSL
    assert loader_family("/lib64/ld-linux-x86-64.so.2", glibc_target()) is LoaderFamily.GLIBC
    # gcompat: a glibc-named loader on a musl image is musl underneath.
    assert loader_family("/lib64/ld-linux-x86-64.so.2", musl_target()) is LoaderFamily.MUSL


def test_glibc_wrong_class_only_reports_wrong_elf_class() -> None:
    target = glibc_target([lib("/lib/libz.so.1", elf_class=32, machine="i386")])
    [miss] = run(elf(needed=("libz.so.1",)), target).missing
    assert miss.error is LoadError.WRONG_CLASS
    assert steps(miss.search)[-1] == ("/usr/lib", SearchSource.DEFAULT, "not found")  # it went on


def test_glibc_wrong_machine_only_is_not_found() -> None:
    target = glibc_target([lib("/lib/libz.so.1", machine="aarch64")])
    [miss] = run(elf(needed=("libz.so.1",)), target).missing
    assert miss.error is LoadError.NOT_FOUND


def test_file_that_is_not_a_library_stops_the_search() -> None:
    # A linker script (or a program) where a library is expected: both loaders fail on it.
    files = DictFiles([lib("/usr/lib/libw.so")], existing=["/lib/libw.so", f"{ML}/libw.so"])
    glibc = dataclasses.replace(glibc_target(), files=files)
    [miss] = run(elf(needed=("libw.so",)), glibc).missing
    assert steps(miss.search) == [
        ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped"),
        (ML, SearchSource.DEFAULT, "not a shared library"),
    ]
    assert miss.shown == f"{ML}/libw.so"
    musl = dataclasses.replace(musl_target(), files=files)
    [miss] = run(musl_elf(needed=("libw.so",)), musl).missing
    assert steps(miss.search)[-1] == ("/lib", SearchSource.DEFAULT, "not a shared library")
    assert miss.error is LoadError.BAD_FILE


def test_musl_wrong_machine_fails_at_relocation() -> None:
    target = musl_target([lib("/lib/libz.so.1", machine="aarch64"), lib("/usr/lib/libz.so.1")])
    [miss] = run(musl_elf(needed=("libz.so.1",)), target).missing
    assert steps(miss.search)[-1] == ("/lib", SearchSource.DEFAULT, "wrong machine")
    assert (miss.shown, miss.error) == ("/lib/libz.so.1", LoadError.BAD_RELOCATION)


NAMES = ["liba.so", "libb.so.1", "libc.so.6", "libm.so.6", "libz.so.1", "libssl.so.3"]
DIRS = [ML, UL, "/lib", "/usr/lib", "/opt/x"]


# A library file somewhere: (directory, file name, its own DT_NEEDED, ELF class).
PLACED = st.tuples(st.sampled_from(DIRS), st.sampled_from(NAMES),
                   st.lists(st.sampled_from(NAMES), max_size=3), st.sampled_from([64, 32]))


@settings(max_examples=150, deadline=None)
@given(
    needed=st.lists(st.sampled_from(NAMES), max_size=4),
    placed=st.lists(PLACED, max_size=8),
    runpath=st.lists(st.sampled_from(DIRS), max_size=2),
    musl=st.booleans(),
)
def test_every_need_is_accounted_for(
    needed: list[str], placed: list[tuple[str, str, list[str], int]], runpath: list[str], musl: bool
) -> None:
    libs = {f"{d}/{n}": lib(f"{d}/{n}", needed=tuple(deps), elf_class=cls) for d, n, deps, cls in placed}
    facts = (musl_elf if musl else elf)(needed=tuple(needed), runpath=tuple(runpath))
    target = (musl_target if musl else glibc_target)(libs.values())
    res = run(facts, target)
    found_names = {f.loaded.name for f in res.found}
    missing_names = {m.name for m in res.missing}
    assert not found_names & missing_names
    for f in res.found:
        if f.loaded.path is not None:
            assert f.file is not None and f.file.elf_class == 64  # never a wrong-class file
            assert f.search[-1].result == "found" and f.loaded.path.startswith(f.search[-1].directory)
    for m in res.missing:
        assert all(s.result != "found" for s in m.search)
    # Every need of the program is loaded, missing, or an object already loaded under another name.
    sonames = {f.file.soname for f in res.found if f.file is not None}
    for name in needed:
        assert name in found_names | missing_names or (not musl and name in sonames)


def _with_llp(target: Target, value: str) -> Target:
    from linkcheck.image.target import parse_env, with_env

    return with_env(target, parse_env([f"LD_LIBRARY_PATH={value}"]))


def test_glibc_ld_library_path_comes_after_rpath_and_before_runpath() -> None:
    libs = [lib("/opt/r/libz.so.1"), lib("/opt/llp/libz.so.1")]
    target = _with_llp(glibc_target(libs), "/opt/llp")
    rpath = run(elf(needed=("libz.so.1",), rpath=("/opt/r",)), target)
    assert paths(rpath) == [("libz.so.1", "/opt/r/libz.so.1")]
    runpath = run(elf(needed=("libz.so.1",), runpath=("/opt/r",)), target)
    assert paths(runpath) == [("libz.so.1", "/opt/llp/libz.so.1")]
    assert runpath.found[0].loaded.source is SearchSource.LD_LIBRARY_PATH
    assert runpath.found[0].search[-1].reason == "LD_LIBRARY_PATH (--env)"


def test_musl_ld_library_path_comes_before_rpath_and_runpath() -> None:
    libs = [lib("/opt/r/libz.so.1"), lib("/opt/llp/libz.so.1")]
    target = _with_llp(musl_target(libs), "/opt/llp")
    for tag in ("rpath", "runpath"):
        res = run(musl_elf(needed=("libz.so.1",), **{tag: ("/opt/r",)}), target)
        assert paths(res) == [("libz.so.1", "/opt/llp/libz.so.1")], tag


def test_ld_library_path_separators_and_tokens_per_loader() -> None:
    """glibc splits on ':' and ';' and expands $ORIGIN as the program's; musl splits on ':' only and
    expands nothing; an empty variable is unset for both."""
    glibc = _with_llp(glibc_target([lib("/app/sub/libz.so.1"), lib("/opt/b/libz.so.1")]), "/none;$ORIGIN/sub")
    assert paths(run(elf(needed=("libz.so.1",)), glibc)) == [("libz.so.1", "/app/sub/libz.so.1")]
    musl = _with_llp(musl_target([lib("/app/sub/libz.so.1")]), "$ORIGIN/sub")
    [miss] = run(musl_elf(needed=("libz.so.1",)), musl).missing
    assert [s.directory for s in miss.search][0] == "/$ORIGIN/sub"
    empty = run(elf(needed=("libz.so.1",)), _with_llp(glibc_target(), ""))
    assert steps(empty.missing[0].search)[0] == ("LD_LIBRARY_PATH", SearchSource.LD_LIBRARY_PATH, "skipped")


def test_glibc_cache_skips_a_non_library_that_a_directory_walk_stops_at() -> None:
    """ld.so.conf directories stand for ld.so.cache, which ldconfig writes with loadable libraries only:
    a text file under a library's name there is not in the cache, and the search goes on. In RPATH,
    RUNPATH or the default directories (opened one by one) the same file stops the loader."""
    files = DictFiles([lib(f"{ML}/libm.so.6")], existing=["/usr/local/lib/libm.so.6", "/opt/r/libm.so.6"])
    target = dataclasses.replace(glibc_target(conf_dirs=("/usr/local/lib",)), files=files)
    res = run(elf(needed=("libm.so.6",)), target)
    assert paths(res) == [("libm.so.6", f"{ML}/libm.so.6")]
    assert "ld.so.cache" in res.found[0].search[1].reason
    [miss] = run(elf(needed=("libm.so.6",), rpath=("/opt/r",)), target).missing
    assert miss.error is LoadError.NOT_LIBRARY and miss.shown == "/opt/r/libm.so.6"


@pytest.mark.parametrize(("target", "found"), [(glibc_target, f"{UL}/libz.so.1"),
                                               (musl_target, "/usr/lib/libz.so.1")])
def test_after_so_many_missing_libraries_the_others_are_named_not_searched(target: object,
                                                                           found: str) -> None:
    """issue 12.5: a file needing 100,000 libraries no image has costs a search for the first few only
    (glibc's loader stops at the first missing one); the others are listed, each once, in order."""
    needed = ("libz.so.1", *(f"libn{i}.so" for i in range(MAX_MISSING_SEARCHED + 50)), "libn0.so", "libq.so")
    res = run(elf(needed=needed), target([lib(found)]))  # type: ignore[operator]
    assert [m.name for m in res.missing] == [f"libn{i}.so" for i in range(MAX_MISSING_SEARCHED)]
    assert all(m.search and m.error is LoadError.NOT_FOUND for m in res.missing)
    rest = range(MAX_MISSING_SEARCHED, MAX_MISSING_SEARCHED + 50)
    assert res.unsearched == (*(f"libn{i}.so" for i in rest), "libq.so")
    assert ("libz.so.1", found) in paths(res)
    fewer = run(elf(needed=needed[:MAX_MISSING_SEARCHED]), target([lib(found)]))  # type: ignore[operator]
    assert len(fewer.missing) == MAX_MISSING_SEARCHED - 1 and fewer.unsearched == ()


def test_glibc_hwcaps_subdirectories_come_before_their_directory_highest_level_first() -> None:
    """glibc >= 2.33: DIR/glibc-hwcaps/x86-64-v3 then -v2 before DIR; the replay names the subdirectory
    that decided, its CPU level, and what a CPU without the level loads (the next directory's copy)."""
    v3, v2 = f"{UL}/glibc-hwcaps/x86-64-v3", f"{UL}/glibc-hwcaps/x86-64-v2"
    target = dataclasses.replace(
        glibc_target([lib(f"{ML}/libc.so.6"), lib(f"{v2}/libz.so.1"), lib(f"{UL}/libz.so.1")]),
        hwcaps_dirs=(v3, v2))
    res = run(elf(needed=("libz.so.1", "libc.so.6")), target)
    assert paths(res) == [("libz.so.1", f"{v2}/libz.so.1"), ("libc.so.6", f"{ML}/libc.so.6")]
    assert [s.directory for s in res.found[0].search] == ["LD_LIBRARY_PATH", ML, v3, v2]
    assert "CPUs supporting x86-64-v2" in res.found[0].search[-1].reason
    assert (res.found[0].cpu_level, res.found[0].baseline) == ("x86-64-v2", f"{UL}/libz.so.1")
    assert (res.found[1].cpu_level, res.found[1].baseline) == (None, None)
    musl = dataclasses.replace(musl_target([lib(f"{v2}/libz.so.1")]), hwcaps_dirs=(v2,))
    assert run(musl_elf(needed=("libz.so.1",)), musl).missing  # musl has no glibc-hwcaps

"""Reading a target's truth from a root filesystem: loaders, libc, search dirs, files, confinement."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkcheck.errors import TargetError
from linkcheck.image.rootfs import (
    DOCKER_DEFAULT_PATH,
    MUSL_DEFAULT_DIRS,
    TreeFiles,
    host_dir_files,
    parse_ld_so_conf,
    target_from_tree,
)
from linkcheck.image.tree import DirectoryTree, EntryKind, TreeEntry
from linkcheck.model import Libc, SearchSource

from conftest import SHARED_ROOTFS

HOST_MULTIARCH = Path("/lib/x86_64-linux-gnu")
HOST_LIBS = ("ld-linux-x86-64.so.2", "libc.so.6", "libm.so.6")
needs_host_glibc = pytest.mark.skipif(
    not all((HOST_MULTIARCH / n).is_file() for n in HOST_LIBS), reason="needs a Debian x86_64 host glibc"
)


def _elf_reader() -> None:
    pytest.importorskip("linkcheck.facts.elf", reason="the ELF reader (linkcheck.facts.elf) is not there yet")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def glibc_root(root: Path, *, cache: bool = True) -> Path:
    """A small Debian-like x86_64 root: the host's loader, libc and libm, /lib64 link, ld.so.conf."""
    lib = root / "lib" / "x86_64-linux-gnu"
    lib.mkdir(parents=True)
    for name in HOST_LIBS:
        shutil.copyfile(HOST_MULTIARCH / name, lib / name)
    (lib / "ld-linux-x86-64.so.2").chmod(0o755)
    (root / "lib64").mkdir()
    # An absolute link, as Debian ships it: it must be resolved inside the root, not on the host.
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    write(root / "etc" / "ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    if cache:
        write(root / "etc" / "ld.so.cache", "")
    return root


def readelf_glibc_versions(path: Path) -> set[tuple[int, ...]]:
    """GLIBC_x.y version nodes a library defines, read with binutils' readelf (an independent reader)."""
    out = subprocess.run(["readelf", "--version-info", "-W", str(path)], capture_output=True, text=True,
                         check=True).stdout
    section = out.split("Version definition section", 1)[1].split("Version needs section", 1)[0]
    return {tuple(int(p) for p in m.split(".")) for m in re.findall(r"Name: GLIBC_([0-9.]+)\b", section)}


# -- ld.so.conf ------------------------------------------------------------------------------------


def test_ld_so_conf_include_glob_sorted_and_hidden_files_skipped(tmp_path: Path) -> None:
    write(tmp_path / "etc/ld.so.conf", "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/last\n")
    write(tmp_path / "etc/ld.so.conf.d/b.conf", "/opt/b  # trailing comment\n")
    write(tmp_path / "etc/ld.so.conf.d/a.conf", "/opt/a\n\n   /opt/a2/\n")
    write(tmp_path / "etc/ld.so.conf.d/c.txt", "/opt/not-a-conf\n")
    write(tmp_path / "etc/ld.so.conf.d/.hidden.conf", "/opt/hidden\n")
    dirs = parse_ld_so_conf(DirectoryTree(tmp_path))
    assert [d.path for d in dirs] == ["/opt/a", "/opt/a2", "/opt/b", "/opt/last"]
    assert dirs[0].source == "ld.so.conf (/etc/ld.so.conf.d/a.conf)"
    assert dirs[-1].source == "ld.so.conf (/etc/ld.so.conf)"


def test_ld_so_conf_self_include_and_cycle_terminate_without_repeats(tmp_path: Path) -> None:
    write(tmp_path / "etc/ld.so.conf", "include /etc/ld.so.conf\ninclude ld.so.conf.d/*.conf\n/opt/top\n")
    write(tmp_path / "etc/ld.so.conf.d/loop.conf", "include /etc/ld.so.conf\n/opt/loop\n/opt/top\n")
    dirs = parse_ld_so_conf(DirectoryTree(tmp_path))
    assert [d.path for d in dirs] == ["/opt/loop", "/opt/top"]


def test_ld_so_conf_relative_include_is_relative_to_the_including_file(tmp_path: Path) -> None:
    write(tmp_path / "etc/ld.so.conf", "include conf/x.conf\n")
    write(tmp_path / "etc/conf/x.conf", "include more/*.conf\n")
    write(tmp_path / "etc/conf/more/y.conf", "/opt/y\nrelative/dir\nhwcap 0 nosegneg\n")
    assert [d.path for d in parse_ld_so_conf(DirectoryTree(tmp_path))] == ["/opt/y"]


def test_ld_so_conf_missing_include_and_missing_file(tmp_path: Path) -> None:
    assert parse_ld_so_conf(DirectoryTree(tmp_path)) == ()
    write(tmp_path / "etc/ld.so.conf", "include /etc/nowhere/*.conf\ninclude /etc/none.conf\n/opt/x\n")
    assert [d.path for d in parse_ld_so_conf(DirectoryTree(tmp_path))] == ["/opt/x"]


def test_ld_so_conf_include_of_etc_reads_the_roots_etc_never_the_hosts(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n")
    write(root / "etc/ld.so.conf.d/mine.conf", "/opt/mine\n")
    dirs = [d.path for d in parse_ld_so_conf(DirectoryTree(root))]
    assert dirs == ["/opt/mine"]
    host_dirs: set[str] = set()
    for conf in Path("/etc/ld.so.conf.d").glob("*.conf"):
        host_dirs |= {ln.strip() for ln in conf.read_text().splitlines() if ln.strip().startswith("/")}
    assert not host_dirs & set(dirs)


def test_ld_so_conf_links_out_of_the_root_do_not_reach_bait(tmp_path: Path) -> None:
    bait = tmp_path / "bait"
    write(bait / "conf.d/evil.conf", "/bait-dir\n")
    write(bait / "ld.so.conf", "/bait-top\n")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/ld.so.conf").symlink_to(bait / "ld.so.conf")  # absolute, to the host
    dirs = parse_ld_so_conf(DirectoryTree(root))
    assert dirs == ()
    (root / "etc/ld.so.conf").unlink()
    write(root / "etc/ld.so.conf", "include /etc/up/*.conf\ninclude /etc/abs/*.conf\n")
    (root / "etc/up").symlink_to("../../bait/conf.d")  # climbs out: stops at the root's "/"
    (root / "etc/abs").symlink_to(str(bait / "conf.d"))
    assert parse_ld_so_conf(DirectoryTree(root)) == ()


# -- targets from a glibc root ---------------------------------------------------------------------


@needs_host_glibc
def test_glibc_root_loaders_libc_and_version_from_version_nodes(tmp_path: Path) -> None:
    _elf_reader()
    root = glibc_root(tmp_path / "root")
    write(root / "etc/ld.so.conf.d/local.conf", "/usr/local/lib\n")
    t = target_from_tree(DirectoryTree(root), "mine")
    assert t.machine == "x86_64" and t.docker_arch == "amd64"
    assert t.libc is Libc.GLIBC
    assert "/lib64/ld-linux-x86-64.so.2" in t.loaders
    assert "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" in t.loaders
    assert "/usr/lib64/ld-linux-x86-64.so.2" not in t.loaders
    expected = max(readelf_glibc_versions(root / "lib/x86_64-linux-gnu/libc.so.6")
                   | readelf_glibc_versions(root / "lib/x86_64-linux-gnu/libm.so.6"))
    assert t.libc_version == ".".join(map(str, expected))
    paths = [d.path for d in t.search_dirs]
    # ld.so.conf first, then the built-in directories read from the Debian loader's system_dirs string.
    assert paths == ["/usr/local/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib",
                     "/usr/lib"]
    assert t.search_dirs[0].source.startswith("ld.so.conf")
    assert all(d.source.startswith("default") for d in t.search_dirs[1:])
    assert [d.kind for d in t.search_dirs] == [SearchSource.LD_SO_CONF] + [SearchSource.DEFAULT] * 4
    assert t.path_env == DOCKER_DEFAULT_PATH
    assert {s.fact for s in t.sources} >= {"machine", "loaders", "libc", "libc_version", "search_dirs"}


@needs_host_glibc
def test_ld_so_conf_counts_only_with_an_ld_so_cache(tmp_path: Path) -> None:
    _elf_reader()
    root = glibc_root(tmp_path / "root", cache=False)
    write(root / "etc/ld.so.conf.d/local.conf", "/opt/local\n")
    t = target_from_tree(DirectoryTree(root), "mine")
    assert "/opt/local" not in [d.path for d in t.search_dirs]
    t = target_from_tree(DirectoryTree(root), "mine", assume_ld_so_cache=True)
    assert [d.path for d in t.search_dirs][0] == "/opt/local"


def test_upstream_glibc_loader_has_lib64_defaults(tmp_path: Path) -> None:
    # Not an ELF file: the machine comes from the interpreter path; the dirs from the loader's bytes.
    write(tmp_path / "lib64/ld-linux-x86-64.so.2", "junk\0/lib64/\0/usr/lib64/\0junk")
    t = target_from_tree(DirectoryTree(tmp_path), "fedora-like")
    assert t.libc is Libc.GLIBC and t.machine == "x86_64"
    assert [d.path for d in t.search_dirs] == ["/lib64", "/usr/lib64"]
    assert t.libc_version is None


def test_libc_version_from_old_style_file_name(tmp_path: Path) -> None:
    write(tmp_path / "lib64/ld-linux-x86-64.so.2", "x")
    write(tmp_path / "lib/x86_64-linux-gnu/libc-2.28.so", "x")
    assert target_from_tree(DirectoryTree(tmp_path), "old").libc_version == "2.28"


@needs_host_glibc
def test_library_read_with_soname_class_and_versions(tmp_path: Path) -> None:
    _elf_reader()
    root = glibc_root(tmp_path / "root")
    files = TreeFiles(DirectoryTree(root))
    lib = files.library("/lib/x86_64-linux-gnu/libm.so.6")
    assert lib is not None
    assert lib.soname == "libm.so.6" and lib.machine == "x86_64" and lib.elf_class == 64
    assert "libc.so.6" in lib.needed
    assert "GLIBC_2.2.5" in lib.version_definitions
    assert lib.exports is not None and "cos" in lib.exports and "cos@GLIBC_2.2.5" in lib.exports
    assert files.library("/lib/x86_64-linux-gnu/libm.so.6") is lib  # cached per instance
    assert files.library("/lib/x86_64-linux-gnu/nothing.so") is None
    assert files.library("/etc/ld.so.conf") is None  # not ELF


@needs_host_glibc
def test_library_links_out_of_the_root_do_not_reach_bait(tmp_path: Path) -> None:
    _elf_reader()
    bait = tmp_path / "bait"
    bait.mkdir()
    shutil.copyfile(HOST_MULTIARCH / "libm.so.6", bait / "libz.so.1")
    root = tmp_path / "root"
    lib = root / "usr/lib"
    lib.mkdir(parents=True)
    (lib / "libz.so.1").symlink_to(bait / "libz.so.1")
    (lib / "libbz2.so.1.0").symlink_to("../../../bait/libz.so.1")
    files = TreeFiles(DirectoryTree(root))
    for name in ("libz.so.1", "libbz2.so.1.0"):
        assert files.library(f"/usr/lib/{name}") is None
        assert not files.exists(f"/usr/lib/{name}")


def test_directory_and_fifo_are_not_files_and_do_not_hang(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib/libdir.so.1").mkdir()
    os.mkfifo(tmp_path / "lib/libfifo.so.1")
    write(tmp_path / "bin/tool", "#!/bin/sh\n").chmod(0o644)
    write(tmp_path / "bin/run", "#!/bin/sh\n").chmod(0o755)
    files = TreeFiles(DirectoryTree(tmp_path))
    for name in ("/lib/libdir.so.1", "/lib/libfifo.so.1"):
        assert not files.exists(name)
        assert not files.is_executable(name)
        assert files.library(name) is None
    assert files.exists("/bin/tool") and not files.is_executable("/bin/tool")
    assert files.is_executable("/bin/run")
    assert not files.exists("/bin")


def test_fifo_in_ld_so_conf_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.mkfifo(tmp_path / "etc/ld.so.conf")
    assert parse_ld_so_conf(DirectoryTree(tmp_path)) == ()


def test_empty_root_is_a_one_line_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError) as info:
        target_from_tree(DirectoryTree(tmp_path), "empty\nroot")
    assert "\n" not in str(info.value) and "architecture" in str(info.value)


@pytest.mark.skipif(not Path("/bin/busybox").is_file(), reason="needs busybox-static")
def test_static_busybox_root_has_no_loader_and_no_libc(tmp_path: Path) -> None:
    _elf_reader()
    (tmp_path / "bin").mkdir()
    shutil.copyfile("/bin/busybox", tmp_path / "bin/busybox")
    (tmp_path / "bin/sh").symlink_to("busybox")
    t = target_from_tree(DirectoryTree(tmp_path), "bb")
    assert t.machine == "x86_64" and t.loaders == () and t.libc is Libc.NONE and t.search_dirs == ()


# -- files beside the program ------------------------------------------------------------------------


def test_host_dir_files_mounts_the_directory_at_install_dir(tmp_path: Path) -> None:
    host = tmp_path / "dist"
    write(host / "lib/libfoo.so", "not elf").chmod(0o755)
    write(tmp_path / "secret.so", "outside")
    (host / "lib/up.so").symlink_to("../../secret.so")
    (host / "lib/abs.so").symlink_to("/app/lib/libfoo.so")  # absolute: resolved with host as /app
    files = host_dir_files(str(host), "/app")
    assert files.exists("/app/lib/libfoo.so") and files.is_executable("/app/lib/libfoo.so")
    assert files.exists("/app/lib/abs.so")
    assert not files.exists("/app/lib/up.so") and not files.exists("/secret.so")
    assert not files.exists("/lib/libfoo.so") and not files.exists(str(host / "lib/libfoo.so"))
    assert files.library("/app/lib/libfoo.so") is None  # not an ELF file


@needs_host_glibc
def test_host_dir_files_reads_libraries(tmp_path: Path) -> None:
    _elf_reader()
    host = tmp_path / "dist"
    (host / "lib").mkdir(parents=True)
    shutil.copyfile(HOST_MULTIARCH / "libm.so.6", host / "lib/libm.so.6")
    lib = host_dir_files(str(host), "/opt/app").library("/opt/app/lib/libm.so.6")
    assert lib is not None and lib.soname == "libm.so.6" and lib.path == "/opt/app/lib/libm.so.6"


# -- musl ---------------------------------------------------------------------------------------------


def test_musl_path_file_colon_and_newline_separated(tmp_path: Path) -> None:
    write(tmp_path / "lib/ld-musl-x86_64.so.1", "x")
    t = target_from_tree(DirectoryTree(tmp_path), "m")
    assert t.libc is Libc.MUSL and t.libc_version is None
    assert tuple(d.path for d in t.search_dirs) == MUSL_DEFAULT_DIRS
    write(tmp_path / "etc/ld-musl-x86_64.path", "/opt/a:/opt/b\n/opt/c\n\n")
    t = target_from_tree(DirectoryTree(tmp_path), "m")
    assert [d.path for d in t.search_dirs] == ["/opt/a", "/opt/b", "/opt/c"]


def test_musl_version_from_apk_database(tmp_path: Path) -> None:
    write(tmp_path / "lib/ld-musl-aarch64.so.1", "x")
    write(tmp_path / "lib/apk/db/installed",
          "C:Q1abc\nP:musl-utils\nV:9.9.9-r1\n\nC:Q1def\nP:musl\nV:1.2.4_git20230717-r4\nA:aarch64\n\n")
    t = target_from_tree(DirectoryTree(tmp_path), "m")
    assert t.machine == "aarch64" and t.docker_arch == "arm64"
    assert t.libc_version == "1.2.4_git20230717"


def _extract(archive: Path, dest: Path) -> Path:
    dest.mkdir()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(dest)], check=True)
    return dest


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_real_alpine_root(tmp_path: Path, machine: str) -> None:
    _elf_reader()
    archive = SHARED_ROOTFS / f"alpine-3.20.3-{machine}.tar.gz"
    if not archive.is_file():
        pytest.skip("shared alpine root (../shared/rootfs) is absent")
    root = _extract(archive, tmp_path / "alpine")
    t = target_from_tree(DirectoryTree(root), "alpine-dir")
    assert t.machine == machine and t.libc is Libc.MUSL
    assert t.loaders == (f"/lib/ld-musl-{machine}.so.1",)
    assert t.libc_version == "1.2.5"  # alpine 3.20.3 ships musl 1.2.5 (shared/rootfs/README.md)
    assert tuple(d.path for d in t.search_dirs) == ("/lib", "/usr/local/lib", "/usr/lib")
    assert all(d.source == "musl built-in" for d in t.search_dirs)
    lib = t.files.library("/usr/lib/libssl.so.3")  # a symlink into /lib
    assert lib is not None and lib.soname == "libssl.so.3" and "OPENSSL_3.0.0" in lib.version_definitions
    assert t.files.is_executable("/bin/sh")


@pytest.mark.skipif(not (SHARED_ROOTFS / "busybox-latest-musl-amd64.tar.gz").is_file(),
                    reason="shared busybox root (../shared/rootfs) is absent")
def test_real_busybox_musl_root_has_no_loader(tmp_path: Path) -> None:
    _elf_reader()
    root = _extract(SHARED_ROOTFS / "busybox-latest-musl-amd64.tar.gz", tmp_path / "bb")
    t = target_from_tree(DirectoryTree(root), "bb")
    assert t.machine == "x86_64" and t.loaders == () and t.libc is Libc.NONE


@given(st.lists(st.lists(st.integers(0, 5), max_size=4), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_ld_so_conf_any_include_graph_terminates_without_repeats(tmp_path_factory: pytest.TempPathFactory,
                                                                  graph: list[list[int]]) -> None:
    """Files 0..n include each other arbitrarily (cycles, self-includes, missing files): every reachable
    file's directory is listed once, in depth-first include order."""
    root = tmp_path_factory.mktemp("conf")
    for i, includes in enumerate(graph):
        lines = [f"include /etc/c{j}.conf" for j in includes] + [f"/opt/d{i}"]
        name = "ld.so.conf" if i == 0 else f"c{i}.conf"
        write(root / "etc" / name, "\n".join(lines) + "\n")
    expected: list[str] = []
    seen: set[int] = set()

    def visit(i: int) -> None:
        if i in seen or i >= len(graph):
            return
        seen.add(i)
        for j in graph[i]:
            visit(j if j != 0 else len(graph))  # c0.conf does not exist: file 0 is ld.so.conf
        expected.append(f"/opt/d{i}")

    visit(0)
    assert [d.path for d in parse_ld_so_conf(DirectoryTree(root))] == expected


class _CountingTree:
    """A root held in memory (a DirectoryTree of 100,000 files takes longer to make than to read),
    counting how often each directory is listed."""

    def __init__(self, files: dict[str, bytes], dirs: dict[str, tuple[str, ...]]) -> None:
        self._files = files
        self._dirs = dirs
        self.listed: dict[str, int] = {}

    @property
    def name(self) -> str:
        return "memory"

    def lstat(self, path: str) -> TreeEntry | None:
        if path in self._dirs:
            return TreeEntry(EntryKind.DIRECTORY, 0o755, 0)
        if path in self._files:
            return TreeEntry(EntryKind.FILE, 0o644, len(self._files[path]))
        return None

    def listdir(self, path: str) -> tuple[str, ...]:
        self.listed[path] = self.listed.get(path, 0) + 1
        return self._dirs.get(path, ())

    def read(self, path: str) -> bytes:
        return self._files[path]


def test_ld_so_conf_include_globs_are_expanded_once_over_a_huge_directory() -> None:
    """30,000 include lines over a 100,000-file directory: each pattern is matched once and the
    directory listed once (it was listed again for every line: 19 s a line)."""
    names = tuple(sorted([f"f{i:06d}.txt" for i in range(100_000)] + ["x86.conf"]))
    lines = ["include /etc/ld.so.conf.d/*.conf"] * 20_000
    lines += [f"include /etc/ld.so.conf.d/q{i}*.conf" for i in range(10_000)] + ["/opt/last"]
    files = {"/etc/ld.so.conf": "\n".join(lines).encode(), "/etc/ld.so.conf.d/x86.conf": b"/opt/lib\n"}
    dirs = {"/": ("etc",), "/etc": ("ld.so.conf", "ld.so.conf.d"), "/etc/ld.so.conf.d": names}
    tree = _CountingTree(files, dirs)
    assert [d.path for d in parse_ld_so_conf(tree)] == ["/opt/lib", "/opt/last"]
    assert tree.listed["/etc/ld.so.conf.d"] == 1


def test_a_huge_path_keeps_only_its_entries_that_are_directories(tmp_path: Path) -> None:
    """A config PATH of 20,000 entries (issue 12.5: each `#!/usr/bin/env` script walked all of them):
    entries naming no directory can hold no program, so only the others are kept, in order."""
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "opt" / "tools").mkdir(parents=True)
    path_env = tuple(f"/nowhere/{i}" for i in range(10_000)) + ("/opt/tools",) + tuple(
        f"/gone{i}" for i in range(10_000)) + ("/usr/bin", "/opt/tools/../tools")
    target = target_from_tree(DirectoryTree(tmp_path), "huge", path_env=path_env, machine_hint="x86_64")
    assert target.path_env == ("/opt/tools", "/usr/bin", "/opt/tools/../tools")
    source = next(s for s in target.sources if s.fact == "path_env")
    assert "20000 of its 20003 entries name no directory here" in source.where
    short = target_from_tree(DirectoryTree(tmp_path), "short", path_env=("/nowhere", "/usr/bin"),
                             machine_hint="x86_64")
    assert short.path_env == ("/nowhere", "/usr/bin")  # an ordinary PATH is shown as the image sets it

"""scan_paths over directories, image archives and wheels: what is found, in which order, and the
verdicts an image gets against itself (checked against a real chroot where we can)."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from linkcheck.image.archive import open_image_tree
from linkcheck.image.rootfs import target_from_tree
from linkcheck.image.target import load_target
from linkcheck.image.tree import DirectoryTree, EntryKind
from linkcheck.model import FileFormat, Outcome
from linkcheck.scan import ScanResult, scan_paths, walk_files

from conftest import FIXTURE_BIN, SHARED_ROOTFS, needs_root

ALPINE = SHARED_ROOTFS / "alpine-3.20.3-x86_64.tar.gz"
BUSYBOX_OCI = SHARED_ROOTFS / "busybox-1.38.0-glibc-amd64-oci"
needs_alpine = pytest.mark.skipif(not ALPINE.is_file(), reason="shared alpine rootfs tarball absent")


def copy_fixture(name: str, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE_BIN / name, dest)
    dest.chmod(0o755)
    return dest


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    copy_fixture("c-glibc-dynamic", root / "bin" / "hello")
    copy_fixture("c-musl-dynamic", root / "bin" / "hello-musl")
    copy_fixture("go-static", root / "bin" / "go")
    copy_fixture("script-sh", root / "bin" / "run.sh")
    copy_fixture("libhello-glibc.so", root / "lib" / "libhello.so")
    copy_fixture("not-elf.txt", root / "share" / "readme.txt")
    (root / "share" / "data.bin").write_bytes(b"\x00" * 100)
    os.symlink("hello", root / "bin" / "hello-link")  # a link to a file: not listed again
    os.symlink(str(FIXTURE_BIN), root / "outside")  # a link to a directory out of the tree: not entered
    return root


def test_walk_does_not_follow_symlinks(project: Path) -> None:
    files = walk_files(str(project))
    assert files == sorted(files)
    assert "bin/hello-link" not in files
    assert not any(f.startswith("outside") for f in files)
    assert "share/readme.txt" in files


def test_directory_scan_finds_elf_and_scripts_only(project: Path) -> None:
    results = list(scan_paths([str(project)], target=None, jobs=1))
    shown = [r.path for r in results]
    assert shown == sorted(shown)
    assert [os.path.relpath(p, project) for p in shown] == [
        "bin/go", "bin/hello", "bin/hello-musl", "bin/run.sh", "lib/libhello.so"]
    assert all(r.error is None and r.analysis is not None and r.verdicts == () for r in results)
    assert all(r.runs is None for r in results)


def test_results_do_not_depend_on_jobs(project: Path) -> None:
    target = target_from_tree(DirectoryTree("/"), "host")
    one = [r.to_dict() for r in scan_paths([str(project)], target=target, jobs=1)]
    two = [r.to_dict() for r in scan_paths([str(project)], target=target, jobs=2)]
    assert one == two
    json.dumps(one)  # JSON-lines friendly


def test_many_files_in_parallel_keep_their_order(tmp_path: Path) -> None:
    # More files than one chunk, so two workers really share the work.
    data = (FIXTURE_BIN / "script-sh").read_bytes()
    for i in range(700):
        (tmp_path / f"s{i:04d}.sh").write_bytes(data)
    seen: list[tuple[int, int]] = []
    results = list(scan_paths([str(tmp_path)], jobs=2,
                              progress=lambda done, total: seen.append((done, total))))
    assert [r.path for r in results] == [str(tmp_path / f"s{i:04d}.sh") for i in range(700)]
    assert seen[-1] == (700, 700)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_unreadable_input_is_one_error_result(tmp_path: Path) -> None:
    results = list(scan_paths([str(tmp_path / "absent")], jobs=1))
    assert len(results) == 1 and results[0].error is not None and results[0].analysis is None
    assert "\n" not in results[0].error


def test_directory_against_host_target(project: Path) -> None:
    target = target_from_tree(DirectoryTree("/"), "host")
    by_name = {os.path.relpath(r.path, project): r for r in scan_paths([str(project)], target=target, jobs=1)}
    assert by_name["bin/go"].outcome is Outcome.RUNS
    # musl's loader is not part of a Debian root unless the musl package is installed.
    musl_here = os.path.exists("/lib/ld-musl-x86_64.so.1")
    assert (by_name["bin/hello-musl"].outcome is Outcome.RUNS) == musl_here


# -- images -------------------------------------------------------------------------------------


def layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), 0o755
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def docker_save(path: Path, layers: list[bytes]) -> Path:
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}}).encode()
    members = {"config.json": config}
    for i, data in enumerate(layers):
        members[f"{i}/layer.tar"] = data
    members["manifest.json"] = json.dumps(
        [{"Config": "config.json", "Layers": [f"{i}/layer.tar" for i in range(len(layers))]}]).encode()
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def alpine_with_glibc_program(tmp_path: Path) -> Path:
    base = gzip.decompress(ALPINE.read_bytes())
    app = layer({"app/hello": (FIXTURE_BIN / "c-glibc-dynamic").read_bytes(),
                 "app/hello-musl": (FIXTURE_BIN / "c-musl-dynamic").read_bytes()})
    return docker_save(tmp_path / "alpine-app.tar", [base, app])


def by_member(results: list[ScanResult]) -> dict[str, ScanResult]:
    return {r.member: r for r in results if r.member is not None}


@needs_alpine
def test_glibc_program_in_alpine_image_is_missing_its_interpreter(tmp_path: Path) -> None:
    archive = alpine_with_glibc_program(tmp_path)
    results = by_member(list(scan_paths([str(archive)], jobs=2)))
    hello = results["/app/hello"]
    assert hello.path == f"{archive}!/app/hello" and hello.container == str(archive)
    assert hello.outcome is Outcome.MISSING_INTERPRETER
    assert hello.verdicts[0].problems[0].subject == "/lib64/ld-linux-x86-64.so.2"
    assert results["/app/hello-musl"].outcome is Outcome.RUNS
    assert results["/bin/busybox"].outcome is Outcome.RUNS


def flatten(archive: Path, dest: Path) -> None:
    """Unpack an image's merged tree into ``dest`` (inside tmp_path): files, directories and symlinks."""
    with open_image_tree(str(archive)) as tree:
        for path in tree.paths():
            entry = tree.lstat(path)
            assert entry is not None
            host = dest / path.lstrip("/")
            if entry.kind is EntryKind.DIRECTORY:
                host.mkdir(parents=True, exist_ok=True)
            elif entry.kind is EntryKind.SYMLINK and entry.link is not None:
                host.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(entry.link, host)
            elif entry.kind is EntryKind.FILE:
                host.parent.mkdir(parents=True, exist_ok=True)
                host.write_bytes(bytes(tree.read(path)))
                host.chmod(entry.mode)


def run_in_chroot(root: Path, program: str) -> subprocess.CompletedProcess[bytes]:
    def enter() -> None:
        os.chroot(root)
        os.chdir("/")

    return subprocess.run([program], preexec_fn=enter, capture_output=True, timeout=30, check=False,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})


@needs_root
@needs_alpine
def test_chroot_of_the_flattened_image_agrees(tmp_path: Path) -> None:
    archive = alpine_with_glibc_program(tmp_path)
    root = tmp_path / "root"
    flatten(archive, root)
    with pytest.raises(FileNotFoundError):  # execve: ENOENT, for the missing interpreter
        run_in_chroot(root, "/app/hello")
    ran = run_in_chroot(root, "/app/hello-musl")
    assert ran.returncode == 0, ran.stderr
    results = by_member(list(scan_paths([str(archive)], jobs=1)))
    assert results["/app/hello"].outcome is Outcome.MISSING_INTERPRETER
    assert results["/app/hello-musl"].outcome is Outcome.RUNS


@needs_alpine
def test_missing_library_in_image(tmp_path: Path) -> None:
    base = gzip.decompress(ALPINE.read_bytes())
    # c-needs-missing needs a library no image has.
    archive = docker_save(tmp_path / "img.tar", [base, layer(
        {"app/needs": (FIXTURE_BIN / "c-needs-missing").read_bytes()})])
    results = by_member(list(scan_paths([str(archive)], jobs=1)))
    assert results["/app/needs"].runs is False


@pytest.mark.skipif(not BUSYBOX_OCI.is_dir(), reason="shared busybox:glibc OCI layout absent")
def test_real_busybox_glibc_image_runs_its_busybox() -> None:
    results = by_member(list(scan_paths([str(BUSYBOX_OCI)], jobs=2)))
    assert results["/bin/busybox"].outcome is Outcome.RUNS, results["/bin/busybox"].verdicts[0].explanation
    assert results["/bin/sh"].outcome is Outcome.RUNS


def test_scratch_image_with_a_static_program(tmp_path: Path) -> None:
    archive = docker_save(tmp_path / "scratch.tar", [layer(
        {"app": (FIXTURE_BIN / "go-static").read_bytes(),
         "hello": (FIXTURE_BIN / "c-glibc-dynamic").read_bytes()})])
    results = by_member(list(scan_paths([str(archive)], jobs=1)))
    assert results["/app"].outcome is Outcome.RUNS
    assert results["/hello"].outcome is Outcome.MISSING_INTERPRETER


def test_wheel_in_a_scan(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-cp311-cp311-musllinux_1_2_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("demo/_ext.so", (FIXTURE_BIN / "libhello-glibc.so").read_bytes())
        zf.writestr("demo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: cp311-cp311-musllinux_1_2_x86_64\n")
    results = list(scan_paths([str(wheel)], jobs=1))
    assert [r.member for r in results] == [None, "demo/_ext.so"]  # the wheel itself, then its module
    assert results[0].analysis is not None and results[0].analysis.format is FileFormat.WHEEL
    assert any("musllinux" in n.message for n in results[1].notes)


def test_hard_links_in_an_image_each_get_a_result(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        data = (FIXTURE_BIN / "go-static").read_bytes()
        info = tarfile.TarInfo("bin/app")
        info.size, info.mode = len(data), 0o755
        tf.addfile(info, io.BytesIO(data))
        for name in ("bin/app2", "bin/app3"):
            link = tarfile.TarInfo(name)
            link.type, link.linkname, link.mode = tarfile.LNKTYPE, "bin/app", 0o755
            tf.addfile(link)
    archive = docker_save(tmp_path / "img.tar", [buf.getvalue()])
    results = list(scan_paths([str(archive)], jobs=1))
    assert [r.member for r in results] == ["/bin/app", "/bin/app2", "/bin/app3"]
    assert [r.analysis.path for r in results if r.analysis] == ["/bin/app", "/bin/app2", "/bin/app3"]
    assert all(r.outcome is Outcome.RUNS for r in results)


def test_platform_picks_the_image_from_an_index(tmp_path: Path) -> None:
    from test_archive import oci_dir

    root = oci_dir(tmp_path / "oci", [layer({"app": (FIXTURE_BIN / "go-static-arm64").read_bytes()})],
                   archs=("amd64", "arm64"))
    arm = list(scan_paths([str(root)], jobs=1, platform="linux/arm64"))
    assert [(r.member, r.outcome) for r in arm] == [("/app", Outcome.RUNS)]
    amd = list(scan_paths([str(root)], jobs=1, platform="linux/amd64"))
    assert [(r.member, r.outcome) for r in amd] == [("/app", Outcome.WRONG_ARCHITECTURE)]


def test_stopping_early_ends_the_workers(tmp_path: Path) -> None:
    import multiprocessing

    data = (FIXTURE_BIN / "script-sh").read_bytes()
    for i in range(1000):
        (tmp_path / f"s{i:04d}.sh").write_bytes(data)
    scan = scan_paths([str(tmp_path)], jobs=2)
    first = next(scan)
    assert first.path == str(tmp_path / "s0000.sh")
    scan.close()  # the workers may still be busy (or already done): either way none is left behind
    assert multiprocessing.active_children() == []


def test_origin_libraries_elsewhere_in_the_scanned_tree_are_found(tmp_path: Path) -> None:
    """A program in bin/ with RUNPATH $ORIGIN/../lib finds lib/ of the same tree, since the whole tree is
    copied together (a bundled Python's libpython, a relocatable install)."""
    from linkcheck.image.target import load_target

    from elfwriter import ElfSpec, write

    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    spec = ElfSpec(interp="/lib64/ld-linux-x86-64.so.2", needed=("libfixture.so", "libc.so.6"),
                   runpath="$ORIGIN/../lib", pie=True)
    (tmp_path / "bin" / "prog").write_bytes(write(spec))
    target = load_target("debian:bookworm-slim", platform="amd64")
    [alone] = list(scan_paths([str(tmp_path / "bin")], target=target, jobs=1))
    assert alone.outcome is Outcome.MISSING_LIBRARY  # bin/ copied alone: ../lib is not there
    shutil.copy(FIXTURE_BIN / "lib" / "libfixture.so", tmp_path / "lib" / "libfixture.so")
    results = {Path(r.path).name: r for r in scan_paths([str(tmp_path)], target=target, jobs=1)}
    assert results["prog"].outcome is Outcome.RUNS
    loaded = {lib.name: lib.path for lib in results["prog"].verdicts[0].loaded}
    assert loaded["libfixture.so"] == "/app/lib/libfixture.so"


def test_a_scan_without_target_decodes_no_symbol_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Facts only: the symbol tables (the costly part of a library) are never decoded, in text or JSON."""
    from linkcheck.facts import elf
    from linkcheck.report import Run

    for name in ("c-glibc-dynamic", "libhello-glibc.so", "cxx-glibc"):
        shutil.copy(FIXTURE_BIN / name, tmp_path / name)
    decoded: list[str] = []
    real = elf._SymbolTable.decode

    real_names = elf._SymbolTable.export_names

    def counting(self: Any, exports: bool = True) -> Any:
        decoded.append("decoded")
        return real(self, exports)

    def counting_names(self: Any) -> Any:
        decoded.append("export names")
        return real_names(self)

    monkeypatch.setattr(elf._SymbolTable, "decode", counting)
    monkeypatch.setattr(elf._SymbolTable, "export_names", counting_names)
    results = list(Run(jobs=1).check(tmp_path))
    assert len(results) == 3
    for checked in results:
        assert checked.result.analysis is not None
        checked.result.analysis.to_dict()  # what --json and --jsonl print
    assert decoded == []
    with_target = list(Run([load_target("/")], jobs=1).check(tmp_path))  # this machine, read as a root
    assert len(with_target) == 3 and decoded  # the check reads them: the counter sees a real decode

"""analyze(path): every fixture against the facts its build recipe fixed, and inputs that are not files."""

from __future__ import annotations

import os
import shutil
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from linkcheck.errors import FormatError, InputError, LinkcheckError, NotFoundError
from linkcheck.facts.reader import analyze, analyze_bytes
from linkcheck.model import (
    ElfFacts,
    ExecError,
    FileFormat,
    GoBuildInfo,
    JavaFacts,
    Language,
    Linkage,
    ScriptFacts,
    version_key,
)

from conftest import FIXTURE_BIN, MANIFEST, load_manifest

GIB = 1 << 30


def manifest_cases() -> list[Any]:
    if not MANIFEST.exists():
        return [pytest.param("", {}, marks=pytest.mark.skip(reason="fixtures/manifest.json not built"))]
    return [pytest.param(name, entry, id=name) for name, entry in sorted(load_manifest().items())]


def highest(version_needs: Any, prefix: str) -> str | None:
    keys = [(version_key(v, prefix), v) for need in version_needs for v in need.versions]
    known = [(k, v) for k, v in keys if k is not None]
    return max(known)[1][len(prefix):] if known else None


@pytest.mark.parametrize(("name", "entry"), manifest_cases())
def test_fixture_matches_manifest(name: str, entry: dict[str, Any]) -> None:
    path = FIXTURE_BIN.parent / entry["path"]
    if entry.get("format") == "elf" and "machine" not in entry:
        # A damaged ELF (truncated-elf): the recipe fixes no facts, only that it cannot be read; the
        # kernel refuses it (tests/test_fixtures_manifest.py runs it), so the analysis says so.
        damaged = analyze(path)
        assert damaged.elf is None and damaged.kernel_refusal is not None
        assert damaged.kernel_refusal.error is ExecError.ENOEXEC
        return
    a = analyze(path)
    e, script, java = a.elf, a.script, a.java

    # A fact asked of a file that has no such facts reads as a value no manifest holds.
    def of_elf(get: Callable[[ElfFacts], object]) -> Callable[[], object]:
        return lambda: "no ELF facts" if e is None else get(e)

    def of_go(get: Callable[[GoBuildInfo], object]) -> Callable[[], object]:
        return of_elf(lambda f: "no Go build info" if f.toolchain.go is None else get(f.toolchain.go))

    def of_script(get: Callable[[ScriptFacts], object]) -> Callable[[], object]:
        return lambda: "no script facts" if script is None else get(script)

    def of_java(get: Callable[[JavaFacts], object]) -> Callable[[], object]:
        return lambda: "no Java facts" if java is None else get(java)

    checks: dict[str, Callable[[], object]] = {
        "format": lambda: a.format.value,
        "linkage": lambda: a.linkage.value,
        "machine": of_elf(lambda f: f.machine),
        "docker_arch": of_elf(lambda f: f.docker_arch),
        "elf_class": of_elf(lambda f: f.elf_class),
        "endianness": of_elf(lambda f: f.endianness),
        "elf_type": of_elf(lambda f: f.elf_type.value),
        "pie": of_elf(lambda f: f.pie),
        "libc": of_elf(lambda f: f.libc.value),
        "interpreter": of_elf(lambda f: f.interpreter),
        "needed": of_elf(lambda f: list(f.needed)),
        "soname": of_elf(lambda f: f.soname),
        "rpath": of_elf(lambda f: list(f.rpath)),
        "runpath": of_elf(lambda f: list(f.runpath)),
        "language": of_elf(lambda f: f.toolchain.language.value),
        "go_cgo_enabled": of_go(lambda g: g.cgo_enabled),
        "go_tags": of_go(lambda g: list(g.tags)),
        "min_glibc": of_elf(lambda f: f.min_glibc),
        "min_glibcxx": of_elf(lambda f: highest(f.version_needs, "GLIBCXX_")),
        "script_interpreter": of_script(lambda sc: sc.interpreter),
        "script_argument": of_script(lambda sc: sc.argument),
        "script_program": of_script(lambda sc: sc.program),
        "script_crlf": of_script(lambda sc: sc.crlf),
        "java_release": of_java(lambda j: j.java_release),
        "java_main_class": of_java(lambda j: j.main_class),
    }
    wrong = {}
    for key, get in checks.items():
        if key in entry:
            got = get()
            if got != entry[key]:
                wrong[key] = (got, entry[key])
    if "needed_includes" in entry:
        needed = e.needed if e is not None else ()
        missing = set(entry["needed_includes"]) - set(needed)
        if missing:
            wrong["needed_includes"] = (list(needed), entry["needed_includes"])
    assert wrong == {}, f"{name}: (linkcheck, manifest) per key"
    assert a.path == str(path) and a.size == path.stat().st_size
    assert a.description and "\n" not in a.description


def fixture(name: str) -> Path:
    path = FIXTURE_BIN / name
    if not path.exists():
        pytest.skip(f"fixture {name} not built")
    return path


# ----------------------------------------------------------------------------------------------
# Inputs that are not regular files
# ----------------------------------------------------------------------------------------------


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(NotFoundError, match=f"^{missing}: no such file"):
        analyze(missing)


def test_missing_directory_in_path(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        analyze(tmp_path / "nodir" / "file")


def test_path_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotFoundError, match="not a directory"):
        analyze(tmp_path / "f" / "g")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"^{tmp_path}: is a directory$"):
        analyze(tmp_path)


def test_fifo_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Opening a FIFO for reading would wait for a writer; O_NONBLOCK and the fstat check refuse it.
    with pytest.raises(InputError, match="FIFO"):
        analyze(fifo)


def test_socket(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
        with pytest.raises(InputError, match="socket|no such device"):
            analyze(path)


def test_character_device() -> None:
    with pytest.raises(InputError, match="character device"):
        analyze("/dev/null")


def test_symlink_loop(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(InputError, match="symlink loop"):
        analyze(tmp_path / "a")


def test_dangling_symlink(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "gone")
    with pytest.raises(NotFoundError):
        analyze(tmp_path / "a")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"\x7fELF")
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        analyze(path)


def test_symlink_to_a_file_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"#!/bin/sh\n")
    (tmp_path / "link").symlink_to("real")
    a = analyze(tmp_path / "link")
    assert a.format is FileFormat.SCRIPT and a.path == str(tmp_path / "link")


def test_sparse_gigabyte_of_zeros_is_data(tmp_path: Path) -> None:
    path = tmp_path / "big"
    with path.open("wb") as f:
        f.truncate(GIB)
    a = analyze(path)
    assert a.format is FileFormat.DATA and a.size == GIB


def test_sparse_gigabyte_with_bad_elf_headers(tmp_path: Path) -> None:
    # An ELF identification whose program header table lies past the end of 1 GB of zeros.
    path = tmp_path / "big"
    head = bytearray(64)
    head[:7] = b"\x7fELF\x02\x01\x01"
    struct.pack_into("<HHIQQQIHHHHHH", head, 16, 2, 62, 1, 0x401000, 2 * GIB, 0, 0, 64, 56, 3, 64, 0, 0)
    with path.open("wb") as f:
        f.write(head)
        f.truncate(GIB)
    refused = analyze(path).kernel_refusal  # read from the header alone: the zeros are never read
    assert refused is not None and refused.error is ExecError.ENOEXEC
    assert "program header table" in refused.reason


def test_sparse_gigabyte_starting_with_a_real_elf(tmp_path: Path) -> None:
    src = fixture("c-glibc-dynamic")
    path = tmp_path / "big"
    shutil.copyfile(src, path)
    with path.open("r+b") as f:
        f.truncate(GIB)
    a = analyze(path)
    small = analyze(src)
    assert a.size == GIB
    assert a.elf is not None and small.elf is not None
    assert a.elf.interpreter == small.elf.interpreter and a.elf.needed == small.elf.needed
    assert a.elf.min_glibc == small.elf.min_glibc


# ----------------------------------------------------------------------------------------------
# Formats told from the first bytes
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"", FileFormat.EMPTY),
        (b"#!/bin/sh\n", FileFormat.SCRIPT),
        (b"echo hi\n", FileFormat.TEXT),
        (b"caf\xc3\xa9\n", FileFormat.TEXT),
        (b"\x00\x01\x02\x03", FileFormat.DATA),
        (b"\xff\xfe\xfd", FileFormat.DATA),
        (b"MZ\x90\x00" + bytes(60), FileFormat.PE),
        (b"\xcf\xfa\xed\xfe" + bytes(28), FileFormat.MACH_O),
        (b"\xfe\xed\xfa\xce" + bytes(28), FileFormat.MACH_O),
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x02" + bytes(40), FileFormat.MACH_O),  # fat, 2 architectures
        (b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + bytes(40), FileFormat.JAVA_CLASS),  # class, major 52
    ],
)
def test_format_from_first_bytes(head: bytes, fmt: FileFormat) -> None:
    a = analyze_bytes(head, "member")
    assert a.format is fmt and a.size == len(head)
    assert a.linkage is (Linkage.SCRIPT if fmt is FileFormat.SCRIPT else Linkage.NOT_APPLICABLE)


def test_wheel_is_not_opened(tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    path.write_bytes(b"PK\x03\x04" + b"\xff" * 100)  # not even a valid zip: wheels are read elsewhere
    assert analyze(path).format is FileFormat.WHEEL


def test_plain_zip_is_data(tmp_path: Path) -> None:
    import zipfile

    path = tmp_path / "a.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hi")
    assert analyze(path).format is FileFormat.DATA


def test_broken_jar_is_an_archive_error(tmp_path: Path) -> None:
    path = tmp_path / "app.jar"
    path.write_bytes(b"PK\x03\x04" + b"\xff" * 100)
    with pytest.raises(FormatError, match=f"^{path}: "):
        analyze(path)


def test_analyze_bytes_matches_analyze() -> None:
    src = fixture("c-glibc-dynamic")
    from_file, from_bytes = analyze(src), analyze_bytes(src.read_bytes(), str(src))
    assert from_file == from_bytes


def test_only_linkcheck_errors_escape(tmp_path: Path) -> None:
    # Every prefix of a real ELF file: a result or a LinkcheckError, with the path in one line.
    src = fixture("c-glibc-dynamic").read_bytes()
    path = tmp_path / "cut"
    for cut in (5, 16, 40, 64, 100, 300, 1000, 4096, len(src) // 2, len(src) - 1):
        path.write_bytes(src[:cut])
        try:
            analyze(path)
        except LinkcheckError as exc:
            assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)


# ----------------------------------------------------------------------------------------------
# Descriptions
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("c-glibc-dynamic", ("ELF 64-bit LSB x86_64 PIE executable", "dynamically linked (glibc)",
                             "interpreter /lib64/ld-linux-x86-64.so.2")),
        ("c-glibc-static-pie", ("static-pie executable", "statically linked")),
        ("c-musl-static", ("x86_64 executable", "statically linked")),
        ("go-static-s390x", ("ELF 64-bit MSB s390x executable", "statically linked", "Go 1.")),
        ("libhello-musl.so", ("shared object", "(musl)", "soname libhello-musl.so")),
        ("libnolibc.so", ("shared object", "needs no libc")),
    ],
)
def test_description(name: str, words: tuple[str, ...]) -> None:
    desc = analyze(fixture(name)).description
    for w in words:
        assert w in desc


def test_go_build_info_read_without_section_headers(tmp_path: Path) -> None:
    """A Go binary with its section headers removed still yields its build info (found by scanning)."""
    src = fixture("go-static").read_bytes()
    stripped = bytearray(src)
    struct.pack_into("<Q", stripped, 0x28, 0)
    struct.pack_into("<HHH", stripped, 0x3A, 0, 0, 0)
    path = tmp_path / "go-nosections"
    path.write_bytes(bytes(stripped))
    a, b = analyze(fixture("go-static")), analyze(path)
    assert b.elf is not None and a.elf is not None and not b.elf.has_section_headers
    assert b.elf.toolchain.language is Language.GO
    assert b.elf.toolchain.go == a.elf.toolchain.go and a.elf.toolchain.go is not None


def test_a_procfs_file_is_read_not_stated() -> None:
    """procfs says size 0 for /proc/self/maps, which has content: it is not "an empty file"."""
    result = analyze("/proc/self/maps")
    assert result.format is not FileFormat.EMPTY and result.size > 0
    assert analyze("/proc/sys/kernel/ostype").size == len(Path("/proc/sys/kernel/ostype").read_bytes())

"""analyze(path): open a file safely, tell its format from its first bytes, and read its facts.

Nothing is executed. ELF files are mapped read-only and only the pages the reader touches are read, so
a huge (or sparse) file costs no more than a small one. Only LinkcheckError subclasses leave this module,
each with the path in its one-line message.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import stat
import struct
from typing import IO

from linkcheck.errors import (
    ArchiveError,
    FormatError,
    InputError,
    LinkcheckError,
    MalformedElfError,
    NotFoundError,
)
from linkcheck.facts.elf import ELF_MAGIC, parse_elf
from linkcheck.facts.java import is_class_file, is_fat_macho, parse_class, parse_jar
from linkcheck.facts.kernel import exec_refusal
from linkcheck.facts.mapping import stable_bytes
from linkcheck.facts.script import parse_shebang
from linkcheck.model import Analysis, ElfFacts, ElfType, FileFormat, Libc, Linkage

HEAD_SIZE = 4096
SMALL_FILE = 1 << 16  # ELF files up to this size are read whole; larger ones are mapped
_MACHO_MAGICS = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_JAR_SUFFIXES = (".jar", ".war", ".ear")


def analyze(path: str | os.PathLike[str]) -> Analysis:
    """Facts about the file at ``path``. Raises NotFoundError, InputError or FormatError."""
    shown = os.fspath(path)
    try:
        fd = os.open(shown, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _open_error(shown, exc) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{shown}: is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{shown}: not a regular file ({_kind(st.st_mode)})")
        size = st.st_size
        if size == 0:
            # procfs and sysfs say 0 for files that have content (/proc/self/maps): read, don't stat.
            return analyze_bytes(_read_unsized(fd, shown), shown)
        if size <= SMALL_FILE:
            # One read is cheaper than mapping and unmapping a small file.
            whole = os.pread(fd, SMALL_FILE, 0)
            if whole[:4] == ELF_MAGIC:
                return _elf_analysis(whole, shown, size)
            head = whole[:HEAD_SIZE]
        else:
            head = os.pread(fd, HEAD_SIZE, 0)
        if head[:4] == ELF_MAGIC:
            # Mapped so that a truncation while it is parsed cannot SIGBUS the process.
            with stable_bytes(fd, size, shown) as data:
                return _elf_analysis(data, shown, size)
        if head[:4] in _ZIP_MAGICS and not shown.endswith(".whl"):
            with os.fdopen(os.dup(fd), "rb") as f:
                return _zip(shown, size, f)
        return _other(shown, head, size)
    except LinkcheckError:
        raise
    except OSError as exc:
        raise InputError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


_UNSIZED_LIMIT = 16 << 20


def _read_unsized(fd: int, shown: str) -> bytes:
    parts: list[bytes] = []
    total = 0
    while chunk := os.read(fd, 1 << 16):
        parts.append(chunk)
        total += len(chunk)
        if total > _UNSIZED_LIMIT:
            raise InputError(f"{shown}: says it is empty but holds more than {_UNSIZED_LIMIT} bytes")
    return b"".join(parts)


def analyze_bytes(data: bytes | mmap.mmap, name: str) -> Analysis:
    """Facts about a file held in memory or mapped (for example a member of an archive); ``name`` names it."""
    size = len(data)
    if size == 0:
        return Analysis(name, FileFormat.EMPTY, "empty file", 0)
    head = data[:HEAD_SIZE]
    if head[:4] == ELF_MAGIC:
        return _elf_analysis(data, name, size)
    if head[:4] in _ZIP_MAGICS and not name.endswith(".whl"):
        return _zip(name, size, io.BytesIO(data))
    return _other(name, head, size)


def _elf_analysis(data: bytes | mmap.mmap, name: str, size: int) -> Analysis:
    """An ELF file's Analysis, with the kernel's refusal when execve would refuse it. A file too broken
    to read is an Analysis without facts when the kernel refuses it too (it gets a verdict: exec format
    error); otherwise MalformedElfError."""
    try:
        facts = _parse_elf(data, name)
    except MalformedElfError:
        refusal = exec_refusal(data)
        if refusal is None:
            raise
        why = f"ELF file the kernel refuses ({refusal.error.strerror}): {refusal.reason}"
        return Analysis(name, FileFormat.ELF, why, size, kernel_refusal=refusal)
    refusal = exec_refusal(data)
    desc = describe_elf(facts)
    if refusal is not None and facts.elf_type in (ElfType.EXEC, ElfType.DYN):
        desc += f"; the kernel refuses it ({refusal.error.strerror}): {refusal.reason}"
    return Analysis(name, FileFormat.ELF, desc, size, elf=facts, kernel_refusal=refusal)


def _parse_elf(data: bytes | mmap.mmap, name: str) -> ElfFacts:
    """parse_elf, with a last guard: a reader bug on a strange file must still give the promised
    one-line FormatError naming the file (the fuzz tests call parse_elf directly and see such bugs)."""
    try:
        return parse_elf(data, name)
    except LinkcheckError:
        raise
    except (struct.error, ValueError, IndexError, OverflowError, UnicodeError) as exc:
        raise MalformedElfError(f"{name}: unreadable ELF ({type(exc).__name__}: {exc})") from exc


def _open_error(path: str, exc: OSError) -> LinkcheckError:
    if exc.errno == errno.ENOENT:
        return NotFoundError(f"{path}: no such file or directory")
    if exc.errno == errno.ELOOP:
        return InputError(f"{path}: symlink loop")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return InputError(f"{path}: permission denied")
    if exc.errno == errno.ENOTDIR:
        return NotFoundError(f"{path}: a part of the path is not a directory")
    if exc.errno == errno.ENAMETOOLONG:
        return InputError(f"{path}: file name too long")
    return InputError(f"{path}: cannot open ({exc.strerror or exc})")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "not a regular file"


def _zip(name: str, size: int, f: IO[bytes]) -> Analysis:
    try:
        facts = parse_jar(f, name)
    except ArchiveError:
        if name.lower().endswith(_JAR_SUFFIXES):
            raise
        return Analysis(name, FileFormat.DATA, "Zip archive data (not readable as a jar)", size)
    is_jar = name.lower().endswith(_JAR_SUFFIXES) or facts.main_class is not None or facts.classes_read > 0
    if not is_jar:
        return Analysis(name, FileFormat.DATA, "Zip archive data", size)
    if facts.class_major:
        desc = f"Java archive, classes need Java {facts.java_release} (class version {facts.class_major})"
    else:
        desc = "Java archive without classes"
    if facts.main_class:
        desc += f", Main-Class {facts.main_class}"
    return Analysis(name, FileFormat.JAR, desc, size, java=facts)


def _other(name: str, head: bytes, size: int) -> Analysis:
    if head[:2] == b"#!":
        script = parse_shebang(head)
        desc = "script, no interpreter"
        if script.interpreter:
            desc = f"script, interpreter '{script.interpreter}'"
        if script.argument is not None:
            desc += f" with argument '{script.argument}'"
        if script.crlf:
            desc += ", CRLF line endings"
        return Analysis(name, FileFormat.SCRIPT, desc, size, script=script)
    if head[:4] in _ZIP_MAGICS and name.endswith(".whl"):
        return Analysis(name, FileFormat.WHEEL, "Python wheel (zip archive)", size)
    if is_class_file(head):
        java = parse_class(head, name)
        desc = f"Java class file, version {java.class_major} (Java {java.java_release})"
        return Analysis(name, FileFormat.JAVA_CLASS, desc, size, java=java)
    if is_fat_macho(head):
        return Analysis(name, FileFormat.MACH_O, "Mach-O universal binary (macOS)", size)
    if head[:4] in _MACHO_MAGICS:
        return Analysis(name, FileFormat.MACH_O, "Mach-O binary (macOS)", size)
    if head[:2] == b"MZ":
        return Analysis(name, FileFormat.PE, _describe_pe(head), size)
    if head[:4] == b"\xca\xfe\xba\xbe":
        raise FormatError(f"{name}: starts like a Java class or Mach-O universal binary but is neither")
    if _looks_like_text(head):
        return Analysis(name, FileFormat.TEXT, "text without a #! line", size)
    return Analysis(name, FileFormat.DATA, "data", size)


def _describe_pe(head: bytes) -> str:
    if len(head) >= 0x40:
        pe_at = int.from_bytes(head[0x3C:0x40], "little")
        if head[pe_at : pe_at + 4] == b"PE\0\0":
            return "PE executable (Windows)"
    return "MS-DOS executable"


def _looks_like_text(head: bytes) -> bool:
    if b"\0" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut where we stopped reading is still text.
        return len(head) >= HEAD_SIZE and exc.reason == "unexpected end of data"
    return True


_TYPE_WORDS = {
    ElfType.EXEC: "executable",
    ElfType.REL: "relocatable object",
    ElfType.CORE: "core dump",
    ElfType.OTHER: "file of unknown type",
}


def describe_elf(e: ElfFacts) -> str:
    """One line: "ELF 64-bit LSB x86_64 PIE executable, dynamically linked (glibc), interpreter ..."."""
    order = "LSB" if e.endianness == "little" else "MSB"
    if e.linkage is Linkage.DEBUG_INFO:
        whose = f"build ID {e.build_id}" if e.build_id else "a program or library"
        return f"ELF {e.elf_class}-bit {order} {e.machine} debug info for {whose} (no code in the file)"
    if e.elf_type is ElfType.DYN:
        kind = "PIE executable" if e.pie else "shared object"
        if e.linkage is Linkage.STATIC_PIE:
            kind = "static-pie executable"
    else:
        kind = _TYPE_WORDS[e.elf_type]
    text = f"ELF {e.elf_class}-bit {order} {e.machine} {kind}"
    link = e.linkage
    if link is Linkage.STATIC or link is Linkage.STATIC_PIE:
        text += ", statically linked"
    elif link is Linkage.NO_LIBC and e.libc is not Libc.NONE:
        text += f", part of {e.libc.value} (needs no other library)"
    elif link is Linkage.NO_LIBC:
        text += ", needs no libc"
    elif link is Linkage.UNKNOWN_DYNAMIC:
        text += ", dynamically linked (libc unknown)"
    elif link is not Linkage.OBJECT:
        text += f", dynamically linked ({e.libc.value})"
    if e.interpreter:
        text += f", interpreter {e.interpreter}"
    elif e.soname:
        text += f", soname {e.soname}"
    if e.toolchain.go is not None:
        text += f", Go {e.toolchain.go.go_version.removeprefix('go')}"
    elif e.toolchain.language.value not in ("unknown", "c"):
        text += f", {e.toolchain.language.value}"
    return text

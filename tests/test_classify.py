"""classify(): facts -> (libc, linkage, evidence). Named after the rule each case pins."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from linkcheck.facts.classify import ElfEvidence, classify, libc_of_needs
from linkcheck.facts.elf import parse_elf
from linkcheck.model import ElfType, Libc, Linkage, VersionNeed

from conftest import FIXTURE_BIN

GLIBC_LOADER = "/lib64/ld-linux-x86-64.so.2"


def run(
    elf_type: ElfType = ElfType.DYN,
    interpreter: str | None = None,
    needed: tuple[str, ...] = (),
    soname: str | None = None,
    version_needs: tuple[VersionNeed, ...] = (),
    pie_flag: bool = False,
    entry: int = 0,
    android: bool = False,
    debug_tag: bool = False,
) -> tuple[Libc, Linkage, str]:
    evidence = ElfEvidence(elf_type, interpreter, needed, soname, version_needs, pie_flag, entry, android,
                           debug_tag)
    return classify(evidence)


def test_object_files_are_not_programs() -> None:
    for t in (ElfType.REL, ElfType.CORE, ElfType.OTHER):
        assert run(t)[1] is Linkage.OBJECT


@pytest.mark.parametrize(
    ("interp", "libc", "linkage"),
    [
        (GLIBC_LOADER, Libc.GLIBC, Linkage.GLIBC_DYNAMIC),
        ("/lib/ld-linux-aarch64.so.1", Libc.GLIBC, Linkage.GLIBC_DYNAMIC),
        ("/lib64/ld64.so.2", Libc.GLIBC, Linkage.GLIBC_DYNAMIC),
        ("/nix/store/abc-glibc-2.38/lib/ld-linux-x86-64.so.2", Libc.GLIBC, Linkage.GLIBC_DYNAMIC),
        ("/lib/ld-musl-x86_64.so.1", Libc.MUSL, Linkage.MUSL_DYNAMIC),
        ("/lib/ld-musl-armhf.so.1", Libc.MUSL, Linkage.MUSL_DYNAMIC),
        ("/lib/ld-uClibc.so.0", Libc.UCLIBC, Linkage.UCLIBC_DYNAMIC),
        ("/system/bin/linker64", Libc.BIONIC, Linkage.BIONIC_DYNAMIC),
    ],
)
def test_interpreter_decides(interp: str, libc: Libc, linkage: Linkage) -> None:
    got = run(interpreter=interp, needed=("libc.so.6",))  # the interpreter wins over what is needed
    assert got == (libc, linkage, f"PT_INTERP {interp}")


def test_unknown_interpreter_falls_back_to_needs() -> None:
    libc, linkage, why = run(interpreter="/opt/ld.so", needed=("libc.so.6",))
    assert (libc, linkage) == (Libc.GLIBC, Linkage.GLIBC_DYNAMIC)
    assert "DT_NEEDED libc.so.6" in why and "/opt/ld.so is not a known loader" in why


def test_unknown_interpreter_and_unknown_needs() -> None:
    assert run(interpreter="/opt/ld.so", needed=("libfoo.so",))[:2] == (Libc.UNKNOWN, Linkage.UNKNOWN_DYNAMIC)


def test_static_executable() -> None:
    assert run(ElfType.EXEC, entry=0x401000)[:2] == (Libc.NONE, Linkage.STATIC)


def test_static_pie_by_df_1_pie() -> None:
    libc, linkage, why = run(pie_flag=True, entry=0x1040)
    assert (libc, linkage) == (Libc.NONE, Linkage.STATIC_PIE) and "DF_1_PIE" in why


def test_static_pie_without_df_1_pie_by_dt_debug() -> None:
    assert run(entry=0x1040, debug_tag=True)[1] is Linkage.STATIC_PIE


def test_library_with_entry_point_and_no_soname_is_still_a_library() -> None:
    # gcc -shared -nostdlib -Wl,-e,main: an entry point, no SONAME, no DT_DEBUG.
    assert run(entry=0x1000)[:2] == (Libc.NONE, Linkage.NO_LIBC)


def test_library_with_soname_and_no_needs() -> None:
    assert run(soname="libnolibc.so")[:2] == (Libc.NONE, Linkage.NO_LIBC)


@pytest.mark.parametrize(
    ("soname", "libc"),
    [
        ("libc.musl-x86_64.so.1", Libc.MUSL),  # Alpine's /lib/ld-musl-x86_64.so.1
        ("ld-linux-x86-64.so.2", Libc.GLIBC),  # glibc's loader
    ],
)
def test_the_c_library_itself_needs_nothing_but_is_named(soname: str, libc: Libc) -> None:
    got_libc, linkage, why = run(soname=soname, entry=0x1000)
    assert (got_libc, linkage) == (libc, Linkage.NO_LIBC)
    assert why == f"SONAME {soname}: the {libc.value} C library itself"


@pytest.mark.parametrize(
    ("needed", "libc"),
    [
        (("libc.so.6",), Libc.GLIBC),
        (("libm.so.6",), Libc.GLIBC),
        (("libfoo.so", "libpthread.so.0"), Libc.GLIBC),
        (("libc.so",), Libc.MUSL),
        (("libc.musl-x86_64.so.1",), Libc.MUSL),
        (("libc.musl-aarch64.so.1",), Libc.MUSL),
        (("libc.so.0",), Libc.UCLIBC),
        (("libfoo.so",), Libc.UNKNOWN),
    ],
)
def test_shared_library_classified_by_what_it_needs(needed: tuple[str, ...], libc: Libc) -> None:
    got_libc, linkage, why = run(needed=needed, soname="libx.so.1")
    assert got_libc is libc
    if libc is not Libc.UNKNOWN:
        assert why.startswith("DT_NEEDED ")
        assert linkage.value == f"{libc.value}-dynamic"
    else:
        assert linkage is Linkage.UNKNOWN_DYNAMIC


def test_android_library_needing_libc_so_is_bionic() -> None:
    assert run(needed=("libc.so", "liblog.so"), android=True)[:2] == (Libc.BIONIC, Linkage.BIONIC_DYNAMIC)


def test_glibc_version_need_decides_before_names() -> None:
    needs = (VersionNeed("libfoo.so.1", ("GLIBC_2.17",)),)
    libc, _linkage, why = run(needed=("libfoo.so.1",), version_needs=needs)
    assert libc is Libc.GLIBC and why == "version need GLIBC_2.17 from libfoo.so.1"


def test_glibc_private_alone_is_not_evidence() -> None:
    assert libc_of_needs(("libfoo.so",), (VersionNeed("libfoo.so", ("GLIBC_PRIVATE",)),)) is None


def _fixture(name: str) -> bytes:
    path = FIXTURE_BIN / name
    if not path.exists():
        pytest.skip(f"fixture {name} not built")
    return Path(path).read_bytes()


def test_real_static_pie_without_its_pie_flag() -> None:
    """gcc -static-pie output with DT_FLAGS_1 cleared (as older linkers wrote it) is still static-pie."""
    data = bytearray(_fixture("c-glibc-static-pie"))
    facts = parse_elf(bytes(data), "x")
    assert facts.linkage is Linkage.STATIC_PIE and "DF_1_PIE" in facts.linkage_evidence
    # Find PT_DYNAMIC and zero the DT_FLAGS_1 value.
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phnum, = struct.unpack_from("<H", data, 0x38)
    for i in range(phnum):
        p_type, _f, p_offset, _v, _p, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        if p_type == 2:
            for at in range(p_offset, p_offset + p_filesz, 16):
                if struct.unpack_from("<q", data, at)[0] == 0x6FFFFFFB:
                    struct.pack_into("<Q", data, at + 8, 0)
    cleared = parse_elf(bytes(data), "x")
    assert cleared.linkage is Linkage.STATIC_PIE and "DT_DEBUG" in cleared.linkage_evidence
    assert cleared.pie


def test_real_leaf_library() -> None:
    facts = parse_elf(_fixture("libnolibc.so"), "x")
    assert (facts.libc, facts.linkage, facts.pie) == (Libc.NONE, Linkage.NO_LIBC, False)


# ----------------------------------------------------------------------------------------------
# Other systems' programs (issue 11): EI_OSABI, their loaders' paths and their ELF notes decide, and
# Linux's own loader paths that look alike (glibc's /lib/ld.so.1 on PowerPC and MIPS) do not.
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("evidence", "system"), [
    (ElfEvidence(ElfType.EXEC, "/libexec/ld-elf.so.1", ("libc.so.7",), osabi=9), "FreeBSD"),
    (ElfEvidence(ElfType.EXEC, None, (), osabi=9), "FreeBSD"),  # static: EI_OSABI alone
    (ElfEvidence(ElfType.DYN, "/usr/libexec/ld.elf_so", ("libc.so.12",)), "NetBSD"),
    (ElfEvidence(ElfType.DYN, None, ("libc.so.12",), note_owners=frozenset({"NetBSD"})), "NetBSD"),
    (ElfEvidence(ElfType.DYN, "/usr/libexec/ld.so", ("libc.so.97.1",)), "OpenBSD"),
    (ElfEvidence(ElfType.EXEC, "/usr/lib/amd64/ld.so.1", ("libc.so.1",)), "Solaris"),
    (ElfEvidence(ElfType.EXEC, "/usr/lib/ld.so.1", ("libc.so.1",), osabi=6), "Solaris"),
])
def test_another_systems_program_is_not_linux(evidence: ElfEvidence, system: str) -> None:
    libc, linkage, why = classify(evidence)
    assert linkage is Linkage.NOT_LINUX and libc is Libc.UNKNOWN and system in why


def test_linux_loaders_named_like_solaris_ones_stay_glibc() -> None:
    for interp in ("/lib/ld.so.1", "/lib64/ld.so.1"):  # glibc on 32-bit PowerPC, MIPS
        assert classify(ElfEvidence(ElfType.EXEC, interp, ("libc.so.6",)))[1] is Linkage.GLIBC_DYNAMIC
    android = classify(ElfEvidence(ElfType.DYN, "/system/bin/linker64", ("libc.so",)))
    assert android[:2] == (Libc.BIONIC, Linkage.BIONIC_DYNAMIC)


def test_a_freebsd_program_fails_on_linux_as_linux_says(tmp_path: Path) -> None:
    """Read from a real program whose PT_INTERP is FreeBSD's loader: the verdict's message is the one a
    real execve gives here (ENOENT: Linux starts the loader the file names, whoever it is for)."""
    import errno
    import os
    import struct

    from linkcheck.facts.reader import analyze
    from linkcheck.verdict.checks import check

    from factories import glibc_target

    data = bytearray((FIXTURE_BIN / "c-glibc-dynamic").read_bytes())
    data[7] = 9  # EI_OSABI FreeBSD
    phoff, = struct.unpack_from("<Q", data, 32)
    for i in range(struct.unpack_from("<H", data, 56)[0]):
        at = phoff + 56 * i
        if struct.unpack_from("<I", data, at)[0] == 3:
            off, size = struct.unpack_from("<Q", data, at + 8)[0], struct.unpack_from("<Q", data, at + 32)[0]
            data[off : off + size] = b"/libexec/ld-elf.so.1".ljust(size, b"\0")
    path = tmp_path / "prog"
    path.write_bytes(bytes(data))
    path.chmod(0o755)
    assert not os.path.exists("/libexec/ld-elf.so.1")
    with pytest.raises(OSError) as real:
        os.execv(path, [str(path)])  # fails before replacing this process
    assert real.value.errno == errno.ENOENT
    analysis = analyze(path)
    assert analysis.elf is not None and analysis.elf.linkage is Linkage.NOT_LINUX
    verdict = check(analysis, glibc_target())
    assert not verdict.runs and verdict.message == "exec /app/prog: no such file or directory"

"""Facts read from an ELF file -> its libc and linkage, with the evidence that decided. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from linkcheck.facts.arch import libc_of_interpreter
from linkcheck.model import ElfType, Libc, Linkage, VersionNeed

_LINKAGE_OF = {
    Libc.GLIBC: Linkage.GLIBC_DYNAMIC,
    Libc.MUSL: Linkage.MUSL_DYNAMIC,
    Libc.UCLIBC: Linkage.UCLIBC_DYNAMIC,
    Libc.BIONIC: Linkage.BIONIC_DYNAMIC,
    Libc.UNKNOWN: Linkage.UNKNOWN_DYNAMIC,
}

# Libraries only glibc ships under these names (musl folds them into libc.so and never records them).
_GLIBC_SONAMES = frozenset({
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libresolv.so.2",
    "libutil.so.1", "libanl.so.1", "libcrypt.so.1", "libnsl.so.1", "libmvec.so.1",
    "libc.so.6.1", "libm.so.6.1",  # alpha, ia64
})
_UCLIBC_SONAMES = frozenset({"libc.so.0", "libm.so.0", "libdl.so.0", "libpthread.so.0.9.30"})


def libc_of_needs(needed: tuple[str, ...], version_needs: tuple[VersionNeed, ...],
                  android: bool = False) -> tuple[Libc, str] | None:
    """The libc that a list of DT_NEEDED names and version needs points to, with the deciding fact;
    None when nothing names a libc. ``android``: the file carries an Android note (bionic's libc is
    called libc.so, like musl's)."""
    for need in version_needs:
        for version in need.versions:
            if version.startswith("GLIBC_") and version != "GLIBC_PRIVATE":
                return Libc.GLIBC, f"version need {version} from {need.library}"
    for name in needed:
        base = name.rsplit("/", 1)[-1]
        if base in _GLIBC_SONAMES or base.startswith("ld-linux"):
            return Libc.GLIBC, f"DT_NEEDED {name}"
        # Alpine names musl's libc libc.musl-<arch>.so.1; its loader is ld-musl-<arch>.so.1.
        if base.startswith(("libc.musl-", "ld-musl-")) and base.endswith(".so.1"):
            return Libc.MUSL, f"DT_NEEDED {name}"
        if base in _UCLIBC_SONAMES or base.startswith("ld-uClibc"):
            return Libc.UCLIBC, f"DT_NEEDED {name}"
        if base == "libc.so":
            if android:
                return Libc.BIONIC, f"DT_NEEDED {name} and an Android note"
            return Libc.MUSL, f"DT_NEEDED {name}"
    return None


# Other systems' ELF programs: EI_OSABI values (gABI) and their loaders' PT_INTERP paths. Linux
# programs carry EI_OSABI 0 (System V) or 3 (GNU); NetBSD, OpenBSD and often Solaris ones carry 0 too,
# so the interpreter or the system's ELF note decides for them.
_OSABI_NAMES = {1: "HP-UX", 2: "NetBSD", 6: "Solaris", 7: "AIX", 8: "IRIX", 9: "FreeBSD", 10: "Tru64",
                12: "OpenBSD"}
_FOREIGN_LOADERS = {
    "/libexec/ld-elf.so.1": "FreeBSD", "/libexec/ld-elf32.so.1": "FreeBSD",
    "/usr/libexec/ld.elf_so": "NetBSD", "/usr/libexec/ld.so": "OpenBSD",
    "/usr/lib/ld.so.1": "Solaris", "/usr/lib/amd64/ld.so.1": "Solaris", "/usr/lib/64/ld.so.1": "Solaris",
    "/usr/lib/sparcv9/ld.so.1": "Solaris",
}
_FOREIGN_NOTES = ("FreeBSD", "NetBSD", "OpenBSD")


@dataclass(frozen=True, slots=True)
class ElfEvidence:
    """What the reader found that decides an ELF file's libc and linkage."""

    elf_type: ElfType
    interpreter: str | None = None
    needed: tuple[str, ...] = ()
    soname: str | None = None
    version_needs: tuple[VersionNeed, ...] = ()
    pie_flag: bool = False  # DF_1_PIE in DT_FLAGS_1
    entry: int = 0  # e_entry
    android: bool = False  # an Android note
    debug_tag: bool = False  # the dynamic segment has DT_DEBUG
    osabi: int = 0  # EI_OSABI
    note_owners: frozenset[str] = frozenset()  # owners of the file's ELF notes ("GNU", "FreeBSD" ...)
    code_absent: bool = False  # an executable PT_LOAD with no bytes in the file (a debug-info file)


def foreign_system(ev: ElfEvidence) -> tuple[str, str] | None:
    """(system name, deciding fact) for another operating system's ELF file, else None."""
    if ev.osabi in _OSABI_NAMES:
        return _OSABI_NAMES[ev.osabi], f"EI_OSABI {ev.osabi} ({_OSABI_NAMES[ev.osabi]})"
    if ev.interpreter in _FOREIGN_LOADERS:
        system = _FOREIGN_LOADERS[ev.interpreter]
        return system, f"PT_INTERP {ev.interpreter} ({system}'s loader)"
    for owner in _FOREIGN_NOTES:
        if owner in ev.note_owners:
            return owner, f"a {owner} ELF note"
    return None


def classify(ev: ElfEvidence) -> tuple[Libc, Linkage, str]:
    """(libc, linkage, evidence) for an ELF file.

    The order follows what the kernel looks at: the file type, then whose system the file is for, then
    PT_INTERP, then (for files without one) what the file needs.
    """
    elf_type, interpreter, needed, soname = ev.elf_type, ev.interpreter, ev.needed, ev.soname
    version_needs, pie_flag, entry, android, debug_tag = (ev.version_needs, ev.pie_flag, ev.entry, ev.android,
                                                          ev.debug_tag)
    if elf_type in (ElfType.REL, ElfType.CORE, ElfType.OTHER):
        return Libc.UNKNOWN, Linkage.OBJECT, f"ELF type {elf_type.value}: not a program the kernel runs"
    if ev.code_absent:
        # objcopy --only-keep-debug keeps the headers and notes and makes every loaded section NOBITS.
        return (Libc.UNKNOWN, Linkage.DEBUG_INFO,
                "an executable PT_LOAD with no bytes in the file: separate debug information")

    foreign = foreign_system(ev)
    if foreign is not None:
        return Libc.UNKNOWN, Linkage.NOT_LINUX, f"{foreign[1]}: a {foreign[0]} program, not a Linux one"

    if interpreter is not None:
        libc = libc_of_interpreter(interpreter)
        if libc is not Libc.UNKNOWN:
            return libc, _LINKAGE_OF[libc], f"PT_INTERP {interpreter}"
        by_needs = libc_of_needs(needed, version_needs, android)
        if by_needs is not None:
            libc, why = by_needs
            return libc, _LINKAGE_OF[libc], f"{why} (PT_INTERP {interpreter} is not a known loader)"
        return Libc.UNKNOWN, Linkage.UNKNOWN_DYNAMIC, f"PT_INTERP {interpreter} is not a known loader"

    if not needed:
        if elf_type is ElfType.EXEC:
            return Libc.NONE, Linkage.STATIC, "no PT_INTERP and no DT_NEEDED"
        # ET_DYN with nothing to load: a static-pie executable relocates itself; a shared library
        # needing nothing is a leaf library. Linkers mark PIE executables with DF_1_PIE (binutils
        # >= 2.26, lld); older ones still give executables, never -shared libraries, a DT_DEBUG
        # entry. An entry point alone decides nothing: "-shared -e f" libraries have one too.
        if pie_flag:
            return Libc.NONE, Linkage.STATIC_PIE, "ET_DYN with DF_1_PIE, no PT_INTERP, no DT_NEEDED"
        if debug_tag and entry != 0 and soname is None:
            why = "ET_DYN with DT_DEBUG, an entry point and no SONAME, no PT_INTERP, no DT_NEEDED"
            return Libc.NONE, Linkage.STATIC_PIE, why
        # The C library (or its loader) itself needs nothing either: say whose it is.
        own = libc_of_needs((soname,), ()) if soname else None
        if own is not None:
            return own[0], Linkage.NO_LIBC, f"SONAME {soname}: the {own[0].value} C library itself"
        return Libc.NONE, Linkage.NO_LIBC, "shared object with no DT_NEEDED"

    by_needs = libc_of_needs(needed, version_needs, android)
    if by_needs is not None:
        libc, why = by_needs
        return libc, _LINKAGE_OF[libc], why
    return Libc.UNKNOWN, Linkage.UNKNOWN_DYNAMIC, "no DT_NEEDED names a known libc: " + ", ".join(needed)

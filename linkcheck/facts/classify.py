"""Facts read from an ELF file -> its libc and linkage, with the evidence that decided. Pure: no I/O."""

from __future__ import annotations

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


def classify(
    elf_type: ElfType,
    interpreter: str | None,
    needed: tuple[str, ...],
    soname: str | None,
    version_needs: tuple[VersionNeed, ...],
    pie_flag: bool,
    entry: int,
    android: bool = False,
    debug_tag: bool = False,
) -> tuple[Libc, Linkage, str]:
    """(libc, linkage, evidence) for an ELF file.

    ``pie_flag`` is DF_1_PIE from DT_FLAGS_1; ``entry`` is e_entry; ``android``: an Android note;
    ``debug_tag``: the dynamic segment has DT_DEBUG. The order follows what the kernel looks at: the
    file type, then PT_INTERP, then (for files without one) what the file needs.
    """
    if elf_type in (ElfType.REL, ElfType.CORE, ElfType.OTHER):
        return Libc.UNKNOWN, Linkage.OBJECT, f"ELF type {elf_type.value}: not a program the kernel runs"

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

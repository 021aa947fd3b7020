"""It starts, then breaks: a file's runtime needs judged against an image (pure: no I/O).

Each need names the code that reads something (Go's standard library, OpenSSL, the C library, the
loader for ``dlopen``); that code decides which paths it looks at, and the need is met when the image
has any of them. What the image has comes from ``Target.runtime_files`` (measured for built-in
profiles, probed for directories and archives); when that is unknown, only ``dlopen`` needs (judged
from the image's libraries) give findings. Words are made by ``runtime_words``.

Not findings, on purpose (real runs in tests/test_runtime_real.py decide): a missing /etc/hosts or
/etc/resolv.conf (Docker and Kubernetes mount both into every container), a missing
/etc/nsswitch.conf (Go and glibc then fall back to files, then DNS), and glibc's NSS modules for a
static glibc >= 2.34 program (files and dns are built into it).
"""

from __future__ import annotations

import posixpath

from linkcheck.image import probes
from linkcheck.model import (
    Confidence,
    ElfFacts,
    Libc,
    NeedKind,
    NeedReader,
    RuntimeFinding,
    RuntimeNeed,
    RuntimeNeeds,
    Target,
)

# Go's crypto/x509 on Linux: its bundle files, then its directories (root_linux.go).
_GO_CA = (*probes.CA_FILES[:6], "/etc/ssl/certs", "/etc/pki/tls/certs")
# OpenSSL reads OPENSSLDIR/cert.pem and OPENSSLDIR/certs; OPENSSLDIR when the file does not say:
# Debian's and Alpine's builds, by the image's C library.
_OPENSSLDIR_BY_LIBC = {Libc.GLIBC: "/usr/lib/ssl", Libc.MUSL: "/etc/ssl"}
# rustls-native-certs (through openssl-probe) tries a long list of directories and names; every CA
# path linkcheck probes is among them.
_ANY_CA = (*probes.CA_FILES, *probes.CA_DIRS)


def runtime_findings(needs: RuntimeNeeds, elf: ElfFacts, target: Target) -> tuple[RuntimeFinding, ...]:
    """The needs ``target`` does not meet, in the order they were read."""
    out: list[RuntimeFinding] = []
    for need in needs.needs:
        finding = _judge(need, elf, target)
        if finding is not None:
            out.append(finding)
    return tuple(out)


def _judge(need: RuntimeNeed, elf: ElfFacts, target: Target) -> RuntimeFinding | None:
    if need.kind is NeedKind.DLOPEN:
        return _dlopen(need, elf, target)
    have = target.runtime_files
    if have is None:
        return None
    looked = _paths_read(need, target)
    if not looked or any(p in have for p in looked):
        return None
    return RuntimeFinding(need.kind, need.reader, need.confidence, need.evidence, looked, need.subject)


def _paths_read(need: RuntimeNeed, target: Target) -> tuple[str, ...]:
    """Where the need's reader looks; () when linkcheck cannot judge those paths."""
    kind = need.kind
    if kind is NeedKind.CA_CERTIFICATES:
        if need.reader is NeedReader.GO:
            return _GO_CA
        if need.reader is NeedReader.OPENSSL:
            base = need.subject or _OPENSSLDIR_BY_LIBC.get(target.libc)
            if base is None:
                return ()
            paths = (posixpath.join(base, "cert.pem"), posixpath.join(base, "certs"))
            # Only a directory whose files linkcheck probes can be judged (a vendored
            # OPENSSLDIR such as /usr/local/ssl is not).
            return paths if all(p in probes.PROBE_PATHS for p in paths) else ()
        return _ANY_CA
    if kind is NeedKind.TIME_ZONES:
        return probes.ZONEINFO_DIRS
    if kind is NeedKind.USERS:
        return ("/etc/passwd",)
    if kind is NeedKind.TEMP_DIR:
        return (probes.TEMP_DIR,)
    return ()


def _dlopen(need: RuntimeNeed, elf: ElfFacts, target: Target) -> RuntimeFinding | None:
    """A library opened by name: looked up as the loader looks up a needed library, in the image's
    search directories. A program with RPATH/RUNPATH is not judged (its own directories may hold it)."""
    name = need.subject
    if name is None or elf.rpath or elf.runpath or not target.loaders:
        return None
    looked: list[str] = []
    for d in target.search_dirs:
        path = posixpath.join(d.path, name)
        if path in looked:
            continue
        looked.append(path)
        lib = target.files.library(path)
        if lib is not None and lib.machine == elf.machine and lib.elf_class == elf.elf_class:
            return None
    return RuntimeFinding(need.kind, need.reader, Confidence.LOW, need.evidence, tuple(looked), name)

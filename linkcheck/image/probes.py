"""The paths programs read from an image after they start, and which of them a root filesystem has.

Profiles list the present ones under ``runtime_files`` (measured by ``scripts/measure_rootfs.py`` from
real roots); directory and archive targets are probed here through their ``Tree``. A file probe counts
when the path resolves, inside the root, to a regular file (a dangling symlink such as Debian's
/usr/lib/ssl/cert.pem without ca-certificates does not); a directory probe when it resolves to a
directory with at least one entry (an empty /usr/share/zoneinfo serves no zone). Compiled locales are
listed: each directory with entries in /usr/lib/locale (``/usr/lib/locale/C.utf8``), since a program's
``LANG`` may name any of them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from linkcheck.image.tree import EntryKind, Tree, resolve


class ProbeKind(str, enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"  # a directory with entries (or any, with empty_ok)


@dataclass(frozen=True, slots=True)
class Probe:
    path: str
    kind: ProbeKind
    empty_ok: bool = False  # /tmp serves when empty


# CA bundles: Go's crypto/x509 list for Linux (root_linux.go), OpenSSL's default file under Debian's
# and Alpine's OPENSSLDIR; and the certificate directories both read.
CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine (ca-certificates)
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # CentOS, RHEL 7
    "/etc/ssl/cert.pem",  # Alpine (OPENSSLDIR /etc/ssl)
    "/usr/lib/ssl/cert.pem",  # Debian's OPENSSLDIR /usr/lib/ssl, a symlink into /etc/ssl/certs
)
CA_DIRS = ("/etc/ssl/certs", "/etc/pki/tls/certs", "/usr/lib/ssl/certs")
# Where Go's time package looks for zoneinfo on Unix (zoneinfo_unix.go), besides $ZONEINFO and the
# zip in its GOROOT, which no image has.
ZONEINFO_DIRS = ("/usr/share/zoneinfo", "/usr/share/lib/zoneinfo", "/usr/lib/locale/TZ")
USER_FILES = ("/etc/passwd", "/etc/group")
TEMP_DIR = "/tmp"
# Recorded, not judged. (/etc/hosts and /etc/resolv.conf are not probed at all: a container runtime
# bind-mounts both into every container, whatever the image has.)
OTHER_FILES = ("/etc/nsswitch.conf",)
# glibc's compiled locales: one archive (whose names linkcheck does not read), or one directory per
# locale (Debian's libc-bin ships C.utf8; bullseye's was C.UTF-8).
LOCALE_DIR = "/usr/lib/locale"
LOCALE_ARCHIVE = "/usr/lib/locale/locale-archive"

PROBES: tuple[Probe, ...] = (
    *(Probe(p, ProbeKind.FILE) for p in CA_FILES),
    *(Probe(p, ProbeKind.DIRECTORY) for p in CA_DIRS),
    *(Probe(p, ProbeKind.DIRECTORY) for p in ZONEINFO_DIRS),
    *(Probe(p, ProbeKind.FILE) for p in USER_FILES),
    Probe(TEMP_DIR, ProbeKind.DIRECTORY, empty_ok=True),
    *(Probe(p, ProbeKind.FILE) for p in OTHER_FILES),
    Probe(LOCALE_ARCHIVE, ProbeKind.FILE),
)
PROBE_PATHS = frozenset(p.path for p in PROBES)


def is_probed(path: str) -> bool:
    """Whether ``path`` may be among the paths ``probe_tree`` gives (a fixed probe or a locale)."""
    if path in PROBE_PATHS:
        return True
    parent, _, name = path.rpartition("/")
    return parent == LOCALE_DIR and name not in ("", ".", "..")


def probe_tree(tree: Tree) -> frozenset[str]:
    """The probe paths ``tree`` has, as described above."""
    present: set[str] = set()
    for probe in PROBES:
        found = resolve(tree, probe.path)
        if found is None:
            continue
        path, entry = found
        if probe.kind is ProbeKind.FILE:
            if entry.kind is EntryKind.FILE:
                present.add(probe.path)
        elif entry.kind is EntryKind.DIRECTORY and (probe.empty_ok or tree.listdir(path)):
            present.add(probe.path)
    found = resolve(tree, LOCALE_DIR)
    if found is not None and found[1].kind is EntryKind.DIRECTORY:
        for name in tree.listdir(found[0]):
            path = f"{LOCALE_DIR}/{name}"
            locale = resolve(tree, path)
            if locale is not None and locale[1].kind is EntryKind.DIRECTORY and tree.listdir(locale[0]):
                present.add(path)
    return frozenset(present)

"""It starts, then breaks: a file's runtime needs judged against an image (pure: no I/O).

Each need names the code that reads something (Go's standard library, OpenSSL, the C library, the
loader for ``dlopen``); that code decides which paths it looks at, and the need is met when the image
has any of them. What the image has comes from ``Target.runtime_files`` (measured for built-in
profiles, probed for directories and archives); when that is unknown, only ``dlopen`` needs (judged
from the image's libraries) give findings. Words are made by ``runtime_words``.

Not findings, on purpose (real runs in tests/test_runtime_real.py decide): a missing /etc/hosts or
/etc/resolv.conf (Docker and Kubernetes mount both into every container), a missing
/etc/nsswitch.conf (Go and glibc then fall back to files, then DNS), and glibc's NSS modules for a
static glibc >= 2.34 program (files and dns are built into it); a locale on musl (its setlocale
accepts any name and keeps UTF-8).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

from linkcheck.image import probes
from linkcheck.model import (
    Confidence,
    ElfFacts,
    EnvVar,
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


# The OPENSSLDIRs whose paths can be judged (both OPENSSLDIR/cert.pem and OPENSSLDIR/certs are probed):
# the only subjects that change where a need looks (``_paths_read``).
_JUDGED_OPENSSLDIRS = tuple(sorted(
    posixpath.dirname(p) for p in probes.PROBE_PATHS
    if p.endswith("/cert.pem") and posixpath.join(posixpath.dirname(p), "certs") in probes.PROBE_PATHS))


def kinds_judged(targets: Iterable[Target]) -> frozenset[NeedKind]:
    """The kinds of need that can give a finding on any of ``targets``: a need of another kind is met
    there whatever the file's evidence, so the evidence need not be read (``facts.needs`` takes these
    kinds). A target that has a CA bundle, zoneinfo, /etc/passwd and /tmp is failed only by dlopen."""
    out: set[NeedKind] = set()
    for target in targets:
        if target.loaders:
            out.add(NeedKind.DLOPEN)  # judged from the image's libraries (``_dlopen``)
        for kind in NeedKind:
            if kind is NeedKind.DLOPEN or kind in out:
                continue
            if any(_judge_in(RuntimeNeed(kind, reader, (), subject=subject), target) is not None
                   for reader in NeedReader for subject in (None, *_JUDGED_OPENSSLDIRS)):
                out.add(kind)
    return frozenset(out)


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
    return _judge_in(need, target)


def _judge_in(need: RuntimeNeed, target: Target) -> RuntimeFinding | None:
    """A need other than dlopen: judged from the target alone (and the need's subject, only as an
    OPENSSLDIR: ``kinds_judged`` relies on it)."""
    if need.kind is NeedKind.LOCALE:
        return _locale(need, target)
    if need.kind is NeedKind.DNS:
        return _dns(need, target)
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
    looked = dlopen_misses(name, target, elf.machine, elf.elf_class)
    if not looked:
        return None
    return RuntimeFinding(need.kind, need.reader, Confidence.LOW, need.evidence, looked, name)


def dlopen_misses(name: str, target: Target, machine: str, elf_class: int | None = None) -> tuple[str, ...]:
    """The paths dlopen(``name``) looks at in ``target``'s search directories when none holds a library
    for ``machine`` (and ``elf_class``, when given); () when one does."""
    looked: list[str] = []
    for d in target.search_dirs:
        path = posixpath.join(d.path, name)
        if path in looked:
            continue
        looked.append(path)
        lib = target.files.library(path)
        if lib is not None and lib.machine == machine and elf_class in (None, lib.elf_class):
            return ()
    return tuple(looked)


# setlocale(LC_ALL, ""): each category takes LC_ALL, else its own variable, else LANG (glibc).
_LOCALE_CATEGORIES = ("LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES",
                      "LC_PAPER", "LC_NAME", "LC_ADDRESS", "LC_TELEPHONE", "LC_MEASUREMENT",
                      "LC_IDENTIFICATION")
_BUILT_IN_LOCALES = ("C", "POSIX")


def _locale(need: RuntimeNeed, target: Target) -> RuntimeFinding | None:
    """glibc's setlocale fails (and the program stays in the C locale) when a name the environment
    asks for is neither in the locale archive nor a directory of /usr/lib/locale. musl's accepts any
    name (real runs: alpine and a musl root), so only glibc images are judged; an image with an archive
    is not (its names are not read), nor one whose environment sets LOCPATH."""
    have = target.runtime_files
    if (target.libc is not Libc.GLIBC or have is None or probes.LOCALE_ARCHIVE in have
            or target.getenv("LOCPATH") is not None):
        return None
    compiled = [_locale_parts(name) for parent, _, name in (p.rpartition("/") for p in have)
                if parent == probes.LOCALE_DIR and name != "locale-archive"]
    for var in _locales_asked(target):
        name = var.value
        if name in _BUILT_IN_LOCALES or "/" in name:
            continue
        asked = _locale_parts(name)
        if any(_serves(c, asked) for c in compiled):
            continue
        dirs = dict.fromkeys((f"{probes.LOCALE_DIR}/{name}", f"{probes.LOCALE_DIR}/{_normal_name(name)}"))
        return RuntimeFinding(NeedKind.LOCALE, need.reader, need.confidence,
                              (*need.evidence, f"{var.name}={name} ({var.origin})"),
                              (probes.LOCALE_ARCHIVE, *dirs), name)
    return None


def _locales_asked(target: Target) -> list[EnvVar]:
    """The variables whose values setlocale(LC_ALL, "") loads: LC_ALL alone when set, else LANG and
    every LC_* set (empty values do not count)."""
    every = target.getenv("LC_ALL")
    if every is not None and every.value:
        return [every]
    found = (target.getenv(n) for n in ("LANG", *_LOCALE_CATEGORIES))
    return [v for v in found if v is not None and v.value]


def _locale_parts(name: str) -> tuple[str, str | None, str | None, str | None]:
    """language_TERRITORY.codeset@modifier, the codeset normalized as glibc does."""
    rest, _, modifier = name.partition("@")
    rest, dot, codeset = rest.partition(".")
    language, underscore, territory = rest.partition("_")
    return (language, territory if underscore else None, _normal_codeset(codeset) if dot else None,
            modifier or None)


def _serves(compiled: tuple[str, str | None, str | None, str | None],
            asked: tuple[str, str | None, str | None, str | None]) -> bool:
    """Whether glibc may take the compiled locale for the one asked: the same name, or a less specific
    one (it tries those too; one without a codeset is counted, though glibc rejects it when its
    codeset differs)."""
    pairs = zip(compiled[1:], asked[1:], strict=True)
    return compiled[0] == asked[0] and all(c is None or c == a for c, a in pairs)


def _normal_codeset(codeset: str) -> str:
    """glibc's normalization: letters and digits, lower case; "iso" before a codeset of digits only."""
    kept = "".join(ch.lower() for ch in codeset if ch.isascii() and ch.isalnum())
    return "iso" + kept if kept.isdigit() else kept


def _normal_name(name: str) -> str:
    rest, at, modifier = name.partition("@")
    base, dot, codeset = rest.partition(".")
    return base + (("." + _normal_codeset(codeset)) if dot else "") + (at + modifier)


def _dns(need: RuntimeNeed, target: Target) -> RuntimeFinding | None:
    """A note on musl images: its resolver differs from glibc's (real runs in tests/test_runtime_real.py;
    musl's src/network/lookup_name.c and res_msend.c). The subject carries musl's version, which decides
    whether truncated answers are retried over TCP (1.2.4 and later)."""
    if target.libc is not Libc.MUSL:
        return None
    subject = f"musl {target.libc_version}" if target.libc_version else "musl (version unknown)"
    return RuntimeFinding(NeedKind.DNS, need.reader, Confidence.LOW, need.evidence, (), subject)


def musl_retries_over_tcp(version: str | None) -> bool | None:
    """Whether musl ``version`` asks again over TCP when a UDP answer is truncated (1.2.4 and later);
    None when the version is unknown."""
    numbers = re.match(r"(\d+)\.(\d+)\.(\d+)", version or "")
    if numbers is None:
        return None
    return tuple(int(n) for n in numbers.groups()) >= (1, 2, 4)  # "1.2.4_git20230717" is 1.2.4

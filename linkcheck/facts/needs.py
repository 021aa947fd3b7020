"""What a program will look for in the image after it starts, read from the file (never run).

Read only when a verdict asks for it (never by ``analyze``), only for the kinds of need asked for (a
target that has CA certificates, time zones, users and /tmp can only be failed by ``dlopen`` needs:
``linkcheck.verdict.runtime.kinds_judged``), and bounded: a regular-expression or substring search over
at most ``SCAN_LIMIT`` (Go) or ``STRING_SCAN_LIMIT`` bytes of the file, each a C-speed pass.

* Go: function names in the runtime's function table (pclntab), which survives ``-s -w`` stripping
  because the runtime itself needs it for stack traces. Its header (Go >= 1.16) gives the name table's
  bounds; a linked-in function is one the linker's dead-code pass kept, i.e. reachable from main.
* C, C++, Rust linked dynamically: the imported symbols (``getpwnam``, ``mkstemp``, ``dlopen``,
  ``SSL_CTX_set_default_verify_paths`` ...), and for ``dlopen`` the library names in the file's
  strings.
* Static glibc programs: glibc's NSS loader leaves its module-name format in the file; static programs'
  mkstemp templates ("tmp.XXXXXX") are C strings.
* Rust: crate names in the file's strings (rustls-native-certs, webpki-roots, a vendored OPENSSLDIR).
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from collections.abc import Collection, Iterable

from linkcheck.errors import LinkcheckError
from linkcheck.facts.elf import Buffer
from linkcheck.facts.mapping import stable_bytes
from linkcheck.model import (
    Confidence,
    ElfFacts,
    Language,
    Linkage,
    NeedKind,
    NeedReader,
    RuntimeNeed,
    RuntimeNeeds,
)

# Bytes of a file searched at most: a Go program's function table can lie far into a big binary; a C
# program's strings are in its read-only data near the start. Every page searched is a page read (and
# resident while mapped), so the string search is kept short.
SCAN_LIMIT = 256 << 20
STRING_SCAN_LIMIT = 32 << 20
_MAX_PCLN_CANDIDATES = 16

# Go functions whose presence means the program reads the file system for that need.
_GO_CA = ("crypto/x509.loadSystemRoots",)
_GO_CA_EMBEDDED = "golang.org/x/crypto/x509roots/fallback."
_GO_TZ = ("time.LoadLocation",)
_GO_TZ_EMBEDDED = "time/tzdata."
_GO_USERS = ("os/user.lookupUser", "os/user.lookupUserId", "os/user.lookupGroup", "os/user.lookupGroupId",
             "os/user.listGroups")
_GO_TEMP = ("os.CreateTemp", "os.MkdirTemp", "io/ioutil.TempFile", "io/ioutil.TempDir")

# C library functions (imports of a dynamically linked program).
_C_USERS = ("getpwnam", "getpwnam_r", "getpwuid", "getpwuid_r", "getgrnam", "getgrnam_r", "getgrgid",
            "getgrgid_r", "getpwent", "getgrent", "getgrouplist", "initgroups")
_C_TEMP = ("mkstemp", "mkstemp64", "mkostemp", "mkostemp64", "mkstemps", "mkdtemp", "tmpfile", "tmpfile64",
           "tempnam", "tmpnam")
_OPENSSL_DEFAULT_PATHS = ("SSL_CTX_set_default_verify_paths", "X509_STORE_set_default_paths")
_DLOPEN = ("dlopen", "dlmopen")
# setlocale(LC_ALL, "") reads LC_ALL/LC_*/LANG. Not read from static glibc programs: every one carries
# glibc's locale loader (a static "hello world" holds "/usr/lib/locale/locale-archive"), so nothing
# left in a stripped one tells whether it calls setlocale. Go and Rust's std never call it.
_C_LOCALE = ("setlocale",)
# Name resolution through the C library's resolver (judged only on musl images: a note).
_C_RESOLVE = ("getaddrinfo", "gethostbyname", "gethostbyname2", "gethostbyname_r", "gethostbyname2_r",
              "res_query", "res_search", "res_nquery", "res_nsearch")

# Static glibc: the NSS module loader's file-name format (glibc >= 2.33 "libnss_%s.so%s").
_GLIBC_NSS_FORMAT = re.compile(rb"\0libnss_%s\.so")
_RUST_NATIVE_CERTS = re.compile(rb"rustls-native-certs-\d")
_RUST_EMBEDDED_ROOTS = re.compile(rb"webpki-roots-\d")
_OPENSSLDIR = re.compile(rb'OPENSSLDIR: "([^"\0]{1,200})"')
# A C string naming a shared library: "libz.so.1", "libssl.so.3", "libcuda.so.1", "libfoo.so".
_LIBRARY_NAME = re.compile(
    rb"\0(lib[A-Za-z0-9_+-]{1,64}(?:\.[A-Za-z0-9_+-]{1,32}){0,3}\.so(?:\.[0-9]{1,6}){0,4})\0")
_MAX_LIBRARY_NAMES = 32
# A mkstemp-style template as a C string: what a stripped static program keeps of mkstemp, and what a
# program with its own mkstemp (coreutils' mktemp, gnulib's gen_tempname) holds. It names /tmp when it
# starts with /tmp/, or when the file holds "/tmp" (P_tmpdir, the default of TMPDIR) and the template
# is relative or built from a format ("tmp.XXXXXX", glibc's own "%.*s/%.*sXXXXXX"); "CuXXXXXX" (cp's
# backup, made beside its target) and "%s.XXXXXXXXXXX" without "/tmp" in the file do not.
_TEMP_TEMPLATE = re.compile(rb"\0([\x20-\x7e]{0,120}XXXXXX)\0")
_TMP_STRING = b"\0/tmp\0"
_PASSWD_STRING = b"\0/etc/passwd\0"
_MAX_TEMPLATES = 3
# Names a program may hold as a string without loading them itself: the C library and its loader.
_NOT_DLOPENED = re.compile(r"^lib(c|m|dl|pthread|rt|util|resolv|nsl|anl|gcc_s|stdc\+\+|nss_[a-z]+)\.so(\.|$)"
                           r"|^libc\.musl-")

# Go pclntab header magics (1.16/1.17, 1.18/1.19, 1.20+) -> the field before funcnameOffset. The
# header's fields after the 8-byte magic are pointer-sized: nfunc, nfiles, [textStart,]
# funcnameOffset, cuOffset, ... (runtime/symtab.go pcHeader).
_PCLN_MAGICS = {0xFFFFFFFA: 1, 0xFFFFFFF0: 2, 0xFFFFFFF1: 2}
_Data = bytes | bytearray | mmap.mmap
ALL_KINDS: frozenset[NeedKind] = frozenset(NeedKind)


def read_needs(path: str | os.PathLike[str], elf: ElfFacts,
               kinds: Collection[NeedKind] = ALL_KINDS) -> RuntimeNeeds:
    """The needs of the ELF file at ``path`` (whose facts are ``elf``), of the ``kinds`` asked for. An
    unreadable file gives no needs and a warning, never an exception."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return RuntimeNeeds(warnings=(f"runtime needs not read: {exc.strerror or exc}",))
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return RuntimeNeeds()
        # Under a read lease or copied: a truncation meanwhile must not SIGBUS the process.
        with stable_bytes(fd, size, os.fspath(path)) as data:
            return needs_of(data, elf, kinds)
    except (OSError, ValueError) as exc:
        return RuntimeNeeds(warnings=(f"runtime needs not read: {exc}",))
    except LinkcheckError as exc:
        return RuntimeNeeds(warnings=(f"runtime needs not read: {exc.message}",))
    finally:
        os.close(fd)


def needs_of(data: Buffer, elf: ElfFacts, kinds: Collection[NeedKind] = ALL_KINDS) -> RuntimeNeeds:
    """The needs of an ELF file held in ``data`` (bytes or a mapping), whose facts are ``elf``, of the
    ``kinds`` asked for: the evidence of the others is not searched for."""
    buf: _Data = bytes(data) if isinstance(data, memoryview) else data
    go = elf.toolchain.language is Language.GO
    if go and not any(k in kinds for k in _GO_KINDS):
        return RuntimeNeeds()  # nothing asked that Go's function table could tell: not searched
    cap = SCAN_LIMIT if go else STRING_SCAN_LIMIT
    limit = min(len(buf), cap)
    warnings = [f"runtime needs: only the first {cap >> 20} MiB were searched"] if len(buf) > limit else []
    if go:
        needs, provided, more = _go_needs(buf, limit, kinds)
    else:
        needs, provided, more = _native_needs(buf, limit, elf, kinds)
    return RuntimeNeeds(tuple(needs), tuple(provided), tuple(warnings + more))


# ------------------------------------------------------------------------------------------------
# Go
# ------------------------------------------------------------------------------------------------


def _go_names(data: _Data, limit: int) -> tuple[int, int] | None:
    """File offsets (start, end) of the Go function name table, from the pclntab header; None when
    no sound header is found (then the whole file is searched)."""
    for magic, first in _PCLN_MAGICS.items():
        for order in ("<", ">"):
            pattern = struct.pack(order + "I", magic) + b"\0\0"
            at = data.find(pattern, 0, limit)
            tried = 0
            while at >= 0 and tried < _MAX_PCLN_CANDIDATES:
                tried += 1
                found = _go_header(data, limit, at, order, first)
                if found is not None:
                    return found
                at = data.find(pattern, at + 1, limit)
    return None


def _go_header(data: _Data, limit: int, at: int, order: str, first: int) -> tuple[int, int] | None:
    if at + 8 > limit or data[at + 6] not in (1, 2, 4) or data[at + 7] not in (4, 8):
        return None
    ptr = data[at + 7]
    if at + 8 + 6 * ptr > limit:
        return None
    fmt = order + ("Q" if ptr == 8 else "I")
    fields = [struct.unpack_from(fmt, data, at + 8 + i * ptr)[0] for i in range(6)]
    nfunc, name_off, cu_off = fields[0], fields[first + 1], fields[first + 2]
    start, end = at + name_off, at + cu_off
    if 0 < nfunc < 1 << 24 and 8 < name_off < cu_off and end <= limit and \
            data.find(b"\0runtime.main\0", start - 1, end) >= 0:
        return start - 1, end
    return None


# What Go's function table can tell (Go programs are static: no dlopen).
_GO_KINDS = (NeedKind.CA_CERTIFICATES, NeedKind.TIME_ZONES, NeedKind.USERS, NeedKind.TEMP_DIR)


def _go_needs(data: _Data, limit: int, kinds: Collection[NeedKind]
              ) -> tuple[list[RuntimeNeed], list[str], list[str]]:
    table = _go_names(data, limit)
    start, end = table if table is not None else (0, limit)
    warnings = [] if table is not None else ["Go function table not found: the whole file was searched"]

    def has(name: str) -> bool:
        return data.find(b"\0" + name.encode() + b"\0", start, end) >= 0

    def has_prefix(prefix: str) -> bool:
        return data.find(b"\0" + prefix.encode(), start, end) >= 0

    def found(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(f"Go function {n}" for n in names if has(n))

    needs: list[RuntimeNeed] = []
    provided: list[str] = []
    ca = found(_GO_CA) if NeedKind.CA_CERTIFICATES in kinds else ()
    if ca and has_prefix(_GO_CA_EMBEDDED):
        provided.append(f"CA roots embedded ({_GO_CA_EMBEDDED.rstrip('.')})")
    elif ca:
        needs.append(RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.GO, ca))
    tz = found(_GO_TZ) if NeedKind.TIME_ZONES in kinds else ()
    if tz and has_prefix(_GO_TZ_EMBEDDED):
        provided.append("time zone database embedded (time/tzdata)")
    elif tz:
        needs.append(RuntimeNeed(NeedKind.TIME_ZONES, NeedReader.GO, tz))
    users = found(_GO_USERS) if NeedKind.USERS in kinds else ()
    if users:
        needs.append(RuntimeNeed(NeedKind.USERS, NeedReader.GO, users))
    temp = found(_GO_TEMP) if NeedKind.TEMP_DIR in kinds else ()
    if temp:
        needs.append(RuntimeNeed(NeedKind.TEMP_DIR, NeedReader.GO, temp))
    return needs, provided, warnings


# ------------------------------------------------------------------------------------------------
# C, C++, Rust
# ------------------------------------------------------------------------------------------------


def _native_needs(data: _Data, limit: int, elf: ElfFacts, kinds: Collection[NeedKind]
                  ) -> tuple[list[RuntimeNeed], list[str], list[str]]:
    imported = {s.name for s in elf.imports}

    def imports(names: Iterable[str]) -> tuple[str, ...]:
        return tuple(f"imports {n}" for n in names if n in imported)

    needs: list[RuntimeNeed] = []
    provided: list[str] = []
    static = elf.linkage in (Linkage.STATIC, Linkage.STATIC_PIE)
    if NeedKind.CA_CERTIFICATES in kinds:
        # OpenSSL's own libraries call their default paths for their users: the users are judged.
        own = (elf.soname or "").startswith(("libssl.", "libcrypto."))
        needs, provided = _native_ca(data, limit, elf, () if own else imports(_OPENSSL_DEFAULT_PATHS), static)
    if NeedKind.USERS in kinds:
        users = imports(_C_USERS)
        if users:
            needs.append(RuntimeNeed(NeedKind.USERS, NeedReader.LIBC, users))
        elif static and _GLIBC_NSS_FORMAT.search(data, 0, limit):
            # A stripped static glibc program keeps no symbol names: glibc's NSS code is linked in for a
            # user, group or host lookup, and nothing tells which.
            needs.append(RuntimeNeed(NeedKind.USERS, NeedReader.LIBC,
                                     ("glibc's NSS code is linked in (string libnss_%s.so)",),
                                     Confidence.LOW))
        elif static and data.find(_PASSWD_STRING, 0, limit) >= 0:
            # musl's and uClibc's getpwnam read /etc/passwd by that name (busybox:musl's whoami, id).
            needs.append(RuntimeNeed(NeedKind.USERS, NeedReader.LIBC, ('string "/etc/passwd"',),
                                     Confidence.LOW))
    if NeedKind.TEMP_DIR in kinds:
        temp = imports(_C_TEMP)
        templates = [] if temp else _temp_templates(data, limit)
        if temp:
            needs.append(RuntimeNeed(NeedKind.TEMP_DIR, NeedReader.LIBC, temp))
        elif templates:
            # Low: the template's directory is guessed, and its code path may never be taken.
            needs.append(RuntimeNeed(NeedKind.TEMP_DIR, NeedReader.LIBC,
                                     tuple(f'string "{t}" (a mkstemp template)' for t in templates),
                                     Confidence.LOW))
    locale = imports(_C_LOCALE) if NeedKind.LOCALE in kinds else ()
    if locale:
        needs.append(RuntimeNeed(NeedKind.LOCALE, NeedReader.LIBC, locale))
    # Programs only: a library's lookups are its users' (libcrypto, libapk import getaddrinfo).
    resolve = imports(_C_RESOLVE) if NeedKind.DNS in kinds and elf.interpreter is not None else ()
    if resolve:
        needs.append(RuntimeNeed(NeedKind.DNS, NeedReader.LIBC, resolve, Confidence.LOW))
    if NeedKind.DLOPEN in kinds and imports(_DLOPEN) and elf.interpreter is not None:
        # Programs only: a library's dlopen()s are mostly optional back ends it probes for (Mesa's
        # libvulkan.so.1 and libd3d12.so, libmount's libcryptsetup.so.12: measured on /usr/lib).
        needs.extend(_dlopen_needs(data, limit, elf))
    return needs, provided, []


def _native_ca(data: _Data, limit: int, elf: ElfFacts, ssl: tuple[str, ...], static: bool
               ) -> tuple[list[RuntimeNeed], list[str]]:
    """CA certificates: OpenSSL's default verify paths (``ssl``: the imports that use them), or Rust's
    rustls-native-certs. Returns (needs, what the file provides itself)."""
    needs: list[RuntimeNeed] = []
    provided: list[str] = []
    openssldir = None
    if ssl or static:  # its OPENSSLDIR, when OpenSSL is linked into the file itself
        openssldir_match = _OPENSSLDIR.search(data, 0, limit)
        openssldir = openssldir_match.group(1).decode("utf-8", "replace") if openssldir_match else None
    if ssl:
        needs.append(RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.OPENSSL, ssl, subject=openssldir))
    elif openssldir is not None and static:
        needs.append(RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.OPENSSL,
                                 (f'OpenSSL linked in (OPENSSLDIR "{openssldir}")',), Confidence.LOW,
                                 subject=openssldir))
    if elf.toolchain.language is Language.RUST and not ssl:
        if _RUST_EMBEDDED_ROOTS.search(data, 0, limit):
            provided.append("CA roots embedded (webpki-roots)")
        elif _RUST_NATIVE_CERTS.search(data, 0, limit):
            needs.append(RuntimeNeed(NeedKind.CA_CERTIFICATES, NeedReader.RUSTLS_NATIVE_CERTS,
                                     ("strings name the crate rustls-native-certs",)))
    return needs, provided


def _temp_templates(data: _Data, limit: int) -> list[str]:
    """The file's mkstemp templates that name /tmp (see _TEMP_TEMPLATE)."""
    found: list[str] = []
    pos = 0
    tmp: bool | None = None  # whether the file holds "/tmp", searched once, when first needed
    while len(found) < _MAX_TEMPLATES:
        m = _TEMP_TEMPLATE.search(data, pos, limit)
        if m is None:
            break
        pos = m.end() - 1
        template = m.group(1).decode("ascii")
        if not template.startswith("/tmp/"):
            if template.startswith("/") or "/" in template and not template.startswith("%"):
                continue
            if tmp is None:
                tmp = data.find(_TMP_STRING, 0, limit) >= 0
            if not tmp:
                continue
        found.append(template)
    return found


def _dlopen_needs(data: _Data, limit: int, elf: ElfFacts) -> list[RuntimeNeed]:
    """Library names among the file's C strings, other than those it already needs at start."""
    skip = set(elf.needed) | ({elf.soname} if elf.soname else set())
    names: list[str] = []
    pos = 0
    while len(names) < _MAX_LIBRARY_NAMES:
        m = _LIBRARY_NAME.search(data, pos, limit)
        if m is None:
            break
        pos = m.end() - 1  # the closing NUL may open the next string
        name = m.group(1).decode("ascii")
        if name not in skip and name not in names and not _NOT_DLOPENED.match(name):
            names.append(name)
    return [RuntimeNeed(NeedKind.DLOPEN, NeedReader.LIBC, ("imports dlopen", f'string "{n}"'),
                        Confidence.LOW, subject=n) for n in names]

"""Python wheels: the platform tags a wheel promises, against the extension modules it carries.

``read_wheel(path)`` reads the tags from the file name and from ``*.dist-info/WHEEL``, then every
``*.so`` / ``*.so.*`` member, in memory (never unpacked to disk; each member and the total are capped,
and a member that expands beyond a sane ratio is refused). It reports:

* a manylinux wheel is glibc-only: pip refuses it on musl (alpine), and its modules are linked against
  glibc (a module that needs no libc at all may still load; one that needs only libc.so.6 symbols musl
  also has may load too: checking against the image tells);
* a module needing a newer glibc than the manylinux tag promises (``min_glibc`` > the tag's 2.x);
* a musllinux wheel carrying glibc modules, a manylinux wheel carrying musl modules;
* an architecture in the tag that the modules do not have; compiled modules under a pure ("any") tag.

Libraries the wheel ships (auditwheel's ``PKG.libs/``) are analysed too and serve as $ORIGIN / RPATH
candidates when the modules are checked against a ``target``: the wheel is seen as unpacked at
``/site-packages`` in the target.
"""

from __future__ import annotations

import enum
import errno
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from linkcheck.errors import ArchiveError, LinkcheckError
from linkcheck.facts.arch import normalize_arch
from linkcheck.image.tree import Buffer, EntryKind, TreeEntry, normalize
from linkcheck.model import Analysis, Libc, Linkage, Severity, Target, Verdict, glibc_version_key

MAX_MEMBER_BYTES = 512 << 20  # one extension module or bundled library
MAX_TOTAL_BYTES = 4 << 30  # all the modules of one wheel
MAX_RATIO = 200  # uncompressed / compressed for one member (once past 1 MiB)
MAX_METADATA_BYTES = 1 << 20
INSTALL_ROOT = "/site-packages"

# Legacy manylinux names -> the glibc they promise (PEP 513, 571, 599).
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(.+)$")
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_(.+)$")
_LEGACY = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(.+)$")
_SO = re.compile(r"\.so(\.[0-9A-Za-z_]+)*$")


class PlatformKind(str, enum.Enum):
    MANYLINUX = "manylinux"
    MUSLLINUX = "musllinux"
    LINUX = "linux"  # linux_x86_64: built on some Linux, promises nothing (PyPI refuses these)
    ANY = "any"  # pure Python
    OTHER = "other"  # macOS, Windows ...


@dataclass(frozen=True, slots=True)
class PlatformTag:
    text: str  # "manylinux_2_17_x86_64"
    kind: PlatformKind
    libc: Libc | None  # glibc for manylinux, musl for musllinux
    libc_version: tuple[int, int] | None  # (2, 17); (1, 2) for musllinux_1_2
    machine: str | None  # uname -m style, as ElfFacts.machine ("x86_64", "aarch64", "armhf" ...)

    @property
    def version_text(self) -> str | None:
        return None if self.libc_version is None else f"{self.libc_version[0]}.{self.libc_version[1]}"


@dataclass(frozen=True, slots=True)
class WheelFinding:
    # "glibc-only", "glibc-newer-than-tag", "libc-mismatch", "arch-mismatch", "compiled-in-pure",
    # "runtime-load" (Python code loading a library by name that the image lacks)
    kind: str
    severity: Severity
    message: str  # one line
    member: str | None = None  # the module concerned; None for the wheel as a whole


@dataclass(frozen=True, slots=True)
class WheelModule:
    member: str  # path inside the wheel: "pkg/_ext.cpython-311-x86_64-linux-gnu.so"
    bundled: bool  # a library shipped in a ``*.libs/`` directory rather than an extension module
    analysis: Analysis | None
    error: str | None = None
    verdicts: tuple[Verdict, ...] = ()


@dataclass(frozen=True, slots=True)
class WheelReport:
    path: str
    distribution: str | None
    version: str | None
    tags: tuple[str, ...]  # "cp311-cp311-manylinux_2_17_x86_64", from the file name and WHEEL
    platforms: tuple[PlatformTag, ...]
    modules: tuple[WheelModule, ...]
    findings: tuple[WheelFinding, ...]

    @property
    def promised_glibc(self) -> tuple[int, int] | None:
        """The oldest glibc any manylinux tag promises to load on (the wheel claims them all)."""
        versions = [p.libc_version for p in self.platforms
                    if p.kind is PlatformKind.MANYLINUX and p.libc_version]
        return min(versions) if versions else None

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings) and not any(
            m.error for m in self.modules) and all(v.runs for m in self.modules for v in m.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "distribution": self.distribution,
            "version": self.version,
            "tags": list(self.tags),
            "platforms": [
                {"tag": p.text, "kind": p.kind.value, "libc": p.libc.value if p.libc else None,
                 "libc_version": p.version_text, "machine": p.machine}
                for p in self.platforms
            ],
            "modules": [
                {"member": m.member, "bundled": m.bundled, "error": m.error,
                 "analysis": m.analysis.to_dict() if m.analysis else None,
                 "verdicts": [v.to_dict() for v in m.verdicts]}
                for m in self.modules
            ],
            "findings": [
                {"kind": f.kind, "severity": f.severity.value, "message": f.message, "member": f.member}
                for f in self.findings
            ],
            "ok": self.ok,
        }


# ---------------------------------------------------------------------------------------------
# Tags
# ---------------------------------------------------------------------------------------------


def parse_platform_tag(tag: str) -> PlatformTag:
    """One platform tag ("manylinux_2_28_x86_64", "manylinux2014_aarch64", "musllinux_1_2_aarch64",
    "linux_x86_64", "any", "macosx_11_0_arm64" ...) -> what it promises."""
    m = _MANYLINUX.match(tag)
    if m:
        return PlatformTag(tag, PlatformKind.MANYLINUX, Libc.GLIBC, (int(m[1]), int(m[2])), _machine(m[3]))
    m = _LEGACY.match(tag)
    if m:
        return PlatformTag(tag, PlatformKind.MANYLINUX, Libc.GLIBC, _LEGACY_MANYLINUX[m[1]], _machine(m[2]))
    m = _MUSLLINUX.match(tag)
    if m:
        return PlatformTag(tag, PlatformKind.MUSLLINUX, Libc.MUSL, (int(m[1]), int(m[2])), _machine(m[3]))
    if tag.startswith("linux_"):
        return PlatformTag(tag, PlatformKind.LINUX, None, None, _machine(tag[len("linux_") :]))
    if tag == "any":
        return PlatformTag(tag, PlatformKind.ANY, None, None, None)
    return PlatformTag(tag, PlatformKind.OTHER, None, None, None)


def _machine(arch: str) -> str | None:
    if arch == "armv7l":
        return "armhf"
    try:
        return normalize_arch(arch)
    except LinkcheckError:
        return None


def tags_from_filename(filename: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """(distribution, version, expanded tags "py-abi-platform") from a wheel's file name (PEP 427)."""
    base = posixpath.basename(filename)
    if not base.endswith(".whl"):
        return None, None, ()
    parts = base[: -len(".whl")].split("-")
    if len(parts) not in (5, 6):
        return None, None, ()
    py, abi, plat = parts[-3:]
    tags = tuple(f"{p}-{a}-{pl}" for p in py.split(".") for a in abi.split(".") for pl in plat.split("."))
    return parts[0], parts[1], tags


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_wheel(path: str, *, target: Target | None = None) -> WheelReport:
    """Read the wheel at ``path`` (see the module's docstring). With ``target``, each module is also
    checked against it. Raises ArchiveError for a file that is not a readable wheel."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _read(path, zf, target)
    except LinkcheckError:
        raise
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError
            ) as exc:
        raise ArchiveError(f"{path}: not a readable wheel ({exc})") from None


def _read(path: str, zf: zipfile.ZipFile, target: Target | None) -> WheelReport:
    dist, version, name_tags = tags_from_filename(path)
    infos = [i for i in zf.infolist() if not i.is_dir()]
    meta_tags = _wheel_metadata_tags(zf, infos)
    tags = tuple(dict.fromkeys(name_tags + meta_tags))
    platforms = tuple(parse_platform_tag(p) for p in dict.fromkeys(t.split("-")[-1] for t in tags))
    findings: list[WheelFinding] = []
    if name_tags and meta_tags and set(name_tags) != set(meta_tags):
        findings.append(WheelFinding("tag-disagreement", Severity.WARNING,
                                     f"the file name's tags ({', '.join(name_tags)}) differ from WHEEL's "
                                     f"({', '.join(meta_tags)})"))
    modules = _read_modules(path, zf, infos)
    if target is not None:
        modules = _check_modules(zf, infos, modules, target)
    findings += _judge(platforms, modules)
    if target is not None:
        findings += _installable(path, platforms, target)
        findings += _interpreter_accepts(path, tags, target)
        findings += _runtime_loads(zf, infos, modules, target)
    return WheelReport(path, dist, version, tags, platforms, tuple(modules), tuple(findings))


# Python code loading a shared library by a literal name: ctypes.CDLL("libyaml-0.so.2"),
# ctypes.cdll.LoadLibrary(...), ctypes.PyDLL/CDLL subclasses, cffi's ffi.dlopen(...).
_PY_LOAD = re.compile(
    r"""\b(CDLL|PyDLL|LoadLibrary|dlopen)\(\s*(?:r|b)?["'](lib[\w.+-]{1,80}\.so(?:\.[\w]+)*)["']""")
MAX_SOURCE_BYTES = 4 << 20  # one .py file read for its library loads


def _runtime_loads(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], modules: list[WheelModule],
                   target: Target) -> list[WheelFinding]:
    """Libraries the wheel's Python code loads by name at run time that neither the wheel bundles nor
    the image has where its loader looks (the lookup is dlopen's; low confidence: the code path may
    never run, and is not read from a literal name built at run time)."""
    from linkcheck.verdict.runtime import dlopen_misses

    if not target.loaders:
        return []
    shipped = {posixpath.basename(m.member) for m in modules}
    out: list[WheelFinding] = []
    for info in sorted(infos, key=lambda i: i.filename):
        if not info.filename.endswith(".py") or info.file_size > MAX_SOURCE_BYTES:
            continue
        try:
            text = zf.read(info).decode("utf-8", "replace")
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError):
            continue
        for call, name in dict.fromkeys((m.group(1), m.group(2)) for m in _PY_LOAD.finditer(text)):
            if name in shipped:
                continue
            looked = dlopen_misses(name, target, target.machine)
            if looked:
                where = ", ".join(looked[:3]) + (" ..." if len(looked) > 3 else "")
                out.append(WheelFinding(
                    "runtime-load", Severity.NOTE,
                    f"{info.filename} may load {name} at run time ({call}(\"{name}\")), which "
                    f"{target.name} has nowhere its loader looks ({where}): OSError: {name}: cannot open "
                    "shared object file: No such file or directory"))  # the wheel's: no module said it
    return out


def _wheel_metadata_tags(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> tuple[str, ...]:
    for info in infos:
        parts = info.filename.split("/")
        if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "WHEEL":
            if info.file_size > MAX_METADATA_BYTES:
                raise ArchiveError(f"{info.filename}: WHEEL metadata too large")
            text = zf.read(info).decode("utf-8", "replace")
            out = []
            for line in text.splitlines():
                key, _, value = line.partition(":")
                if key.strip().lower() == "tag" and value.strip():
                    out.append(value.strip())
            return tuple(out)
    return ()


def _is_module(name: str) -> bool:
    return _SO.search(posixpath.basename(name)) is not None


def _read_member(path: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{path}!{info.filename}: {info.file_size} bytes, larger than linkcheck reads")
    if info.file_size > (1 << 20) and info.file_size > MAX_RATIO * max(info.compress_size, 1):
        raise ArchiveError(f"{path}!{info.filename}: expands more than {MAX_RATIO}:1 (a zip bomb?)")
    with zf.open(info) as f:
        data = f.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ArchiveError(f"{path}!{info.filename}: its size differs from the one the zip declares")
    return data


def _read_modules(path: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[WheelModule]:
    from linkcheck.facts.reader import analyze_bytes

    modules: list[WheelModule] = []
    total = 0
    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename
        if not _is_module(name) or ".." in name.split("/"):
            continue
        bundled = any(part.endswith(".libs") for part in name.split("/")[:-1])
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise ArchiveError(f"{path}: modules total more than {MAX_TOTAL_BYTES} bytes")
        try:
            data = _read_member(path, zf, info)
            analysis = analyze_bytes(data, name)
        except LinkcheckError as exc:
            modules.append(WheelModule(name, bundled, None, exc.message))
            continue
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
            modules.append(WheelModule(name, bundled, None, f"{path}!{name}: cannot be read ({exc})"))
            continue
        modules.append(WheelModule(name, bundled, analysis))
    return modules


def _judge(platforms: tuple[PlatformTag, ...], modules: list[WheelModule]) -> list[WheelFinding]:
    out: list[WheelFinding] = []
    elf_modules = [(m, m.analysis.elf) for m in modules if m.analysis is not None and m.analysis.elf]
    many = [p for p in platforms if p.kind is PlatformKind.MANYLINUX]
    musl = [p for p in platforms if p.kind is PlatformKind.MUSLLINUX]
    if many:
        glibc_needed = [m.member for m, e in elf_modules if e.libc is Libc.GLIBC]
        no_libc = [m.member for m, e in elf_modules if e.libc is Libc.NONE or e.linkage is Linkage.NO_LIBC]
        detail = (f"{len(glibc_needed)} of its {len(elf_modules)} modules are linked against glibc (whether "
                  "one loads under musl depends on the libraries and symbols it uses: check it against the "
                  "image)" if glibc_needed
                  else "its modules need no glibc-specific library, so they may still load on musl")
        out.append(WheelFinding(
            "glibc-only", Severity.NOTE if not glibc_needed else Severity.WARNING,
            f"manylinux wheel: for glibc images only; pip on alpine (musl) will not install it, and {detail}"
            + (f"; libc-free: {', '.join(no_libc)}" if no_libc and glibc_needed else "")))
        promised = min(p.libc_version for p in many if p.libc_version)
        for m, e in elf_modules:
            needed = e.min_glibc
            key = glibc_version_key(f"GLIBC_{needed}") if needed else None
            if key is not None and key[:2] > promised:
                symbols = e.symbols_needing(f"GLIBC_{needed}")
                which = f" ({', '.join(symbols[:5])})" if symbols else ""
                out.append(WheelFinding(
                    "glibc-newer-than-tag", Severity.ERROR,
                    f"{m.member} needs GLIBC_{needed}{which}, newer than the {promised[0]}.{promised[1]} "
                    f"its manylinux tag promises", m.member))
        for m, e in elf_modules:
            if e.libc is Libc.MUSL:
                out.append(WheelFinding("libc-mismatch", Severity.ERROR,
                                        f"{m.member} is linked against musl, but the wheel is tagged "
                                        "manylinux (glibc)", m.member))
    if musl:
        for m, e in elf_modules:
            if e.libc is Libc.GLIBC:
                out.append(WheelFinding("libc-mismatch", Severity.ERROR,
                                        f"{m.member} is linked against glibc ({e.linkage_evidence}), but the "
                                        "wheel is tagged musllinux: it will not load on alpine", m.member))
    tagged_machines = {p.machine for p in platforms if p.machine is not None}
    if tagged_machines:
        for m, e in elf_modules:
            if e.machine not in tagged_machines:
                out.append(WheelFinding(
                    "arch-mismatch", Severity.ERROR,
                    f"{m.member} is {e.machine}, but the wheel is tagged for "
                    f"{', '.join(sorted(tagged_machines))}",
                    m.member))
    if elf_modules and platforms and all(p.kind is PlatformKind.ANY for p in platforms):
        out.append(WheelFinding("compiled-in-pure", Severity.ERROR,
                                f"the wheel is tagged 'any' but carries {len(elf_modules)} compiled "
                                "module(s)"))
    return out


def _installable(path: str, platforms: tuple[PlatformTag, ...], target: Target) -> list[WheelFinding]:
    """Whether pip in the target would take the wheel at all, by its platform tags (as pip's tag list
    does: manylinux_X_Y only on glibc >= X.Y, musllinux_X_Y only on musl >= X.Y, the machine must
    match, linux_* and any always). An image without a libc runs no Python: nothing to say."""
    if not platforms or target.libc not in (Libc.GLIBC, Libc.MUSL):
        return []
    have = _release(target.libc_version)
    for p in platforms:
        if p.kind in (PlatformKind.ANY, PlatformKind.LINUX) and p.machine in (None, target.machine):
            return []
        if p.libc is target.libc and p.machine == target.machine and (
                have is None or p.libc_version is None or p.libc_version <= have):
            return []
    libc = f"{target.libc.value} {target.libc_version or ''}".strip()
    tags = ", ".join(p.text for p in platforms)
    from linkcheck.verdict.python_words import not_supported_wheel

    return [WheelFinding("not-installable", Severity.ERROR,
                         f"pip on {target.name} ({libc}, {target.machine}) will not install it: none of "
                         f"its platform tags ({tags}) is one pip accepts there; pip says "
                         f"'{not_supported_wheel(posixpath.basename(path))}'")]


def _interpreter_accepts(path: str, tags: tuple[str, ...], target: Target) -> list[WheelFinding]:
    """Whether the image's Python accepts any of the wheel's interpreter/ABI tags, as pip's tag list
    does: cp3X-cp3X for its own version, cp3Y-abi3 for Y up to its own, py3/py3X-none for any; refused
    in pip's own words."""
    from linkcheck.model import RuntimeKind
    from linkcheck.verdict.python_words import not_supported_wheel

    python = target.runtime(RuntimeKind.PYTHON)
    if python is None or python.release == 0 or not tags:
        return []
    minor = python.release
    for tag in tags:
        interp, abi, _plat = (tag.split("-") + ["", "", ""])[:3]
        m = re.fullmatch(r"cp3(\d+)", interp)
        if interp in ("py3", f"py3{minor}") or (m and abi == "none" and int(m[1]) <= minor):
            return []
        own = m is not None and int(m[1]) == minor and abi.startswith(f"cp3{minor}")
        if own or (m is not None and abi == "abi3" and int(m[1]) <= minor):
            return []
    shown = ", ".join(dict.fromkeys(t.rsplit("-", 1)[0] for t in tags))
    return [WheelFinding("not-installable", Severity.ERROR,
                         f"pip on {target.name} will not install it: its python is {python.version}, the "
                         f"wheel is for {shown}; pip says '{not_supported_wheel(posixpath.basename(path))}'")]


def _release(version: str | None) -> tuple[int, int] | None:
    parts = (version or "").split(".")
    if len(parts) < 2 or not parts[0].isdigit():
        return None
    minor = "".join(ch for ch in parts[1] if ch.isdigit())  # "2_git20230717"-style suffixes
    return (int(parts[0]), int(minor)) if minor else None


# ---------------------------------------------------------------------------------------------
# Checking against a target, with the wheel's own files as $ORIGIN candidates
# ---------------------------------------------------------------------------------------------


class WheelTree:
    """The wheel's members as a ``Tree`` rooted at ``INSTALL_ROOT`` (as if installed there). Only shared
    objects are readable (bounded); other members are listed."""

    def __init__(self, name: str, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
        self._name = name
        self._zf = zf
        self._files: dict[str, zipfile.ZipInfo] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        for info in infos:
            if ".." in info.filename.split("/"):
                continue
            path = normalize(f"{INSTALL_ROOT}/{info.filename}")
            self._files[path] = info
            child = path
            while child != "/":
                parent = posixpath.dirname(child)
                self._children.setdefault(parent, set()).add(posixpath.basename(child))
                child = parent

    @property
    def name(self) -> str:
        return self._name

    def lstat(self, path: str) -> TreeEntry | None:
        key = normalize(path)
        info = self._files.get(key)
        if info is not None:
            mode = (info.external_attr >> 16) & 0o7777 or 0o644
            return TreeEntry(EntryKind.FILE, mode, info.file_size)
        if key in self._children:
            return TreeEntry(EntryKind.DIRECTORY, 0o755, 0)
        return None

    def listdir(self, path: str) -> tuple[str, ...]:
        return tuple(sorted(self._children.get(normalize(path), ())))

    def read(self, path: str) -> Buffer:
        info = self._files.get(normalize(path))
        if info is None or not _is_module(info.filename):
            raise OSError(errno.ENOENT, "not a shared object in the wheel", path)
        try:
            return _read_member(self._name, self._zf, info)
        except LinkcheckError as exc:
            raise OSError(errno.EFBIG, exc.message, path) from None


def _check_modules(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], modules: list[WheelModule],
                   target: Target) -> list[WheelModule]:
    from linkcheck.image.rootfs import TreeFiles
    from linkcheck.verdict.checks import check

    origin = TreeFiles(WheelTree(zf.filename or "wheel", zf, infos))
    out = []
    for m in modules:
        if m.analysis is None or m.analysis.elf is None:
            out.append(m)
            continue
        install_dir = posixpath.dirname(normalize(f"{INSTALL_ROOT}/{m.member}"))
        try:
            verdict = check(m.analysis, target, origin_files=origin, install_dir=install_dir)
        except LinkcheckError as exc:
            out.append(WheelModule(m.member, m.bundled, m.analysis, exc.message))
            continue
        out.append(WheelModule(m.member, m.bundled, m.analysis, None, (verdict,)))
    return out

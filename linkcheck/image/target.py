"""Targets: the built-in image profiles (data files), a root filesystem directory, or an image archive.

A built-in profile is one JSON file per image family in ``linkcheck/image/profiles/`` (written by
``scripts/measure_rootfs.py`` from real roots and researched facts). Each file is validated strictly when
loaded (an unknown key, a missing key or a wrong type is a TargetError naming the file and the key) and
turned into frozen ``Target`` objects whose ``files`` answer from the profile: the loaders, the libraries
(soname, paths, version definitions; no symbol lists) and the programs on PATH.

Profile file format (``"format": "linkcheck-profiles/1"``)::

    {"format", "family", "description", "images": [
        {"name", "aliases": [..], "description", "platforms": [
            {"docker_arch", "machine", "elf_class", "libc", "libc_version", "loaders": [..],
             "search_dirs": [{"path", "source"}], "libraries": [{"soname", "paths": [..], "versions": [..]}],
             "programs": [..], "path_env": [..], "size_bytes", "notes": [..], "runtime_files": [..],
             "sources": {FACT: {"how", "where", "date"}}}]}]}

``runtime_files`` (optional; unknown when absent) lists which of ``linkcheck.image.probes``' paths the
image has: CA bundles, zoneinfo, /etc/passwd, /tmp ...; when present, its source is required too.

Every fact (``FACTS``) has a source whose ``how`` is "measured", "documented" or "inferred".
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import itertools
import json
import os
import posixpath
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, overload

from linkcheck.errors import LinkcheckError, TargetError, UsageError
from linkcheck.facts.arch import host_machine, platform_machine
from linkcheck.image.probes import is_probed
from linkcheck.image.profiles import read_json
from linkcheck.image.reference import (
    DOCKER_HUB,
    DOCKER_HUB_ENV,
    ImageReference,
    RegistryOptions,
    has_registry_prefix,
    looks_like_registry_host,
    parse_reference,
)
from linkcheck.image.tree import normalize
from linkcheck.model import (
    CatalogueImage,
    EnvOrigin,
    EnvVar,
    FileKind,
    FileView,
    Libc,
    LibraryFile,
    SearchDir,
    SearchSource,
    Source,
    SourceHow,
    Target,
    version_key,
)

if TYPE_CHECKING:
    from linkcheck.image.archive import ImageTree

PROFILE_FORMAT = "linkcheck-profiles/1"
# The facts every platform entry states, each with a source.
FACTS = ("machine", "libc", "libc_version", "loaders", "search_dirs", "libraries", "programs", "path_env",
         "size_bytes")
SOURCE_KINDS = (SourceHow.MEASURED, SourceHow.DOCUMENTED, SourceHow.INFERRED)  # what profiles may state
# The order families are listed in (``linkcheck targets``); unknown files follow, sorted.
FAMILY_ORDER = ("scratch", "busybox", "alpine", "debian", "ubuntu", "distroless")


# ------------------------------------------------------------------------------------------------
# Files of a profile
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileFiles:
    """``TargetFiles`` answered from a profile: the loaders, libraries and programs it lists exist
    (loaders and programs are executable); every other path does not."""

    libraries: Mapping[str, LibraryFile]
    executables: frozenset[str]

    def exists(self, path: str) -> bool:
        p = normalize(path)
        return p in self.libraries or p in self.executables

    def is_executable(self, path: str) -> bool:
        return normalize(path) in self.executables

    def view(self, path: str) -> FileView | None:
        # A profile lists regular files (measured in the real image), not their bytes.
        return FileView(FileKind.REGULAR, self.is_executable(path)) if self.exists(path) else None

    def library(self, path: str) -> LibraryFile | None:
        return self.libraries.get(normalize(path))


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    """One built-in image, for ``linkcheck targets``."""

    name: str
    aliases: tuple[str, ...]
    architectures: tuple[str, ...]  # Docker names: amd64, arm64
    libc: Libc
    libc_version: str | None
    size_bytes: int | None  # of the amd64 image when there is one, else the first listed
    description: str
    sources: tuple[Source, ...] = field(default=())
    family: str = ""  # "debian", "eclipse-temurin" ...: listings group images by it
    runtime: str | None = None  # "java 17.0.20+8" for a runtime image

    def describe(self) -> str:
        """One line for people: name, aliases, architectures, libc, size, how its facts are known."""
        libc = self.libc.value if self.libc_version is None else f"{self.libc.value} {self.libc_version}"
        if self.libc is Libc.NONE:
            libc = "no libc"
        size = "size ?" if self.size_bytes is None else f"{self.size_bytes / 1e6:.1f} MB"
        hows = sorted({s.how.value for s in self.sources})
        aliases = f" ({', '.join(self.aliases)})" if self.aliases else ""
        runtime = f"{self.runtime}, " if self.runtime else ""
        return (f"{self.name}{aliases}: {runtime}{','.join(self.architectures)}, {libc}, {size}; "
                f"facts {'/'.join(hows)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "architectures": list(self.architectures),
            "libc": self.libc.value,
            "libc_version": self.libc_version,
            "size_bytes": self.size_bytes,
            "description": self.description,
            "family": self.family,
            "runtime": self.runtime,
            "sources": [{"fact": s.fact, "how": s.how.value, "where": s.where, "date": s.date}
                        for s in self.sources],
        }


@dataclass(frozen=True, slots=True)
class ProfileImage:
    name: str
    aliases: tuple[str, ...]
    description: str
    family: str
    targets: tuple[Target, ...]  # one per platform, in file order (only the machine asked, if one was)
    architectures: tuple[str, ...] = ()  # docker_arch of every platform in the file


# ------------------------------------------------------------------------------------------------
# Strict validation
# ------------------------------------------------------------------------------------------------


class _Checker:
    """Type checks that name the file and the key path on failure."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, where: str, problem: str) -> TargetError:
        return TargetError(f"profile {self.filename}: {where}: {problem}")

    def obj(self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
            ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {type(value).__name__}")
        for key in value:
            if key not in required and key not in optional:
                raise self.fail(f"{where}.{key}", "unknown key")
        for key in required:
            if key not in value:
                raise self.fail(f"{where}.{key}", "missing")
        return value

    def string(self, value: Any, where: str, *, nullable: bool = False) -> str | None:
        if value is None and nullable:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(where, f"expected a non-empty string, got {json.dumps(value)[:40]}")
        return value

    def text(self, value: Any, where: str) -> str:
        s = self.string(value, where)
        assert s is not None
        return s

    def path(self, value: Any, where: str) -> str:
        s = self.text(value, where)
        if not _is_normal_path(s):
            raise self.fail(where, f"expected a normalised absolute path, got {s!r}")
        return s

    def strings(self, value: Any, where: str, *, paths: bool = False) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {type(value).__name__}")
        # Profiles hold thousands of names: checked at C speed, a location built only for the bad one.
        if set(map(type, value)) <= {str} and "" not in value and (not paths or _all_normal(value)):
            return tuple(value)
        for i, v in enumerate(value):
            if paths:
                self.path(v, f"{where}[{i}]")
            self.text(v, f"{where}[{i}]")
        return tuple(value)

    def integer(self, value: Any, where: str, *, nullable: bool = False) -> int | None:
        if value is None and nullable:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise self.fail(where, f"expected a non-negative integer, got {json.dumps(value)[:40]}")
        return value

    def listing(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {type(value).__name__}")
        return value


def _all_normal(paths: list[str]) -> bool:
    """``_is_normal_path`` of every one of many paths, at C speed: the NUL joining them is in no pattern
    looked for, so no match spans two paths."""
    rest = [p for p in paths if p != "/"] if "/" in paths else paths
    joined = "\0".join(rest)
    return (all(map(str.startswith, rest, itertools.repeat("/")))
            and not any(map(str.endswith, rest, itertools.repeat(("/", "/.", "/.."))))
            and "//" not in joined and "/./" not in joined and "/../" not in joined)


def _is_normal_path(path: str) -> bool:
    """``normalize(path) == path``, without building the normalised path (profiles hold thousands)."""
    if path == "/":
        return True
    return (path.startswith("/") and not path.endswith(("/", "/.", "/.."))
            and "//" not in path and "/./" not in path and "/../" not in path)


_PLATFORM_KEYS = ("docker_arch", "machine", "elf_class", "libc", "libc_version", "loaders", "search_dirs",
                  "libraries", "programs", "path_env", "size_bytes", "sources")


def _parse_platform(c: _Checker, raw: Any, where: str, image: dict[str, Any]) -> Target:
    p = c.obj(raw, where, _PLATFORM_KEYS, ("notes", "runtime_files"))
    machine = c.text(p["machine"], f"{where}.machine")
    docker_arch = c.text(p["docker_arch"], f"{where}.docker_arch")
    elf_class = c.integer(p["elf_class"], f"{where}.elf_class")
    if elf_class not in (32, 64):
        raise c.fail(f"{where}.elf_class", f"expected 32 or 64, got {elf_class}")
    libc_text = c.text(p["libc"], f"{where}.libc")
    allowed = ("glibc", "musl", "uclibc", "none")
    if libc_text not in allowed:
        raise c.fail(f"{where}.libc", f"expected one of {', '.join(allowed)}, got {libc_text!r}")
    libc = Libc(libc_text)
    libc_version = c.string(p["libc_version"], f"{where}.libc_version", nullable=True)
    loaders = c.strings(p["loaders"], f"{where}.loaders", paths=True)
    search: list[SearchDir] = []
    for i, d in enumerate(c.listing(p["search_dirs"], f"{where}.search_dirs")):
        dw = f"{where}.search_dirs[{i}]"
        d = c.obj(d, dw, ("path", "source"))
        source = c.text(d["source"], f"{dw}.source")
        search.append(SearchDir(c.path(d["path"], f"{dw}.path"), source, search_dir_kind(source)))
    libraries: dict[str, LibraryFile] = {}
    for i, lib in enumerate(c.listing(p["libraries"], f"{where}.libraries")):
        lw = f"{where}.libraries[{i}]"
        lib = c.obj(lib, lw, ("soname", "paths", "versions"))
        soname = c.text(lib["soname"], f"{lw}.soname")
        versions = c.strings(lib["versions"], f"{lw}.versions")
        lib_paths = c.strings(lib["paths"], f"{lw}.paths", paths=True)
        if not lib_paths:
            raise c.fail(f"{lw}.paths", "expected at least one path")
        for path in lib_paths:
            if path in libraries:
                raise c.fail(f"{lw}.paths", f"{path} is listed twice")
            libraries[path] = LibraryFile(path=path, soname=soname, machine=machine, elf_class=elf_class,
                                          version_definitions=versions, exports=None)
    measured = _musl_symbols().get((libc_version or "", machine)) if libc is Libc.MUSL else None
    if measured is not None:
        # Profiles list no symbols; musl's own (its loader is its libc) are measured separately.
        for path, known in libraries.items():
            if (known.soname or "").startswith("libc.musl-"):
                libraries[path] = replace(known, exports=measured[0])
    programs = c.strings(p["programs"], f"{where}.programs", paths=True)
    path_env = c.strings(p["path_env"], f"{where}.path_env", paths=True)
    size = c.integer(p["size_bytes"], f"{where}.size_bytes", nullable=True)
    if "notes" in p:
        c.strings(p["notes"], f"{where}.notes")
    runtime_files: frozenset[str] | None = None
    optional_facts: tuple[str, ...] = ()
    if "runtime_files" in p:
        present = c.strings(p["runtime_files"], f"{where}.runtime_files", paths=True)
        for i, path in enumerate(present):
            if not is_probed(path):
                raise c.fail(f"{where}.runtime_files[{i}]", f"{path} is not a path linkcheck probes")
        runtime_files = frozenset(present)
        optional_facts = ("runtime_files",)
    raw_sources = c.obj(p["sources"], f"{where}.sources", FACTS + optional_facts)
    sources: list[Source] = []
    for fact in FACTS + optional_facts:
        sw = f"{where}.sources.{fact}"
        s = c.obj(raw_sources[fact], sw, ("how", "where", "date"))
        how_text = c.text(s["how"], f"{sw}.how")
        how = next((k for k in SOURCE_KINDS if k.value == how_text), None)
        if how is None:
            raise c.fail(f"{sw}.how", f"expected one of {', '.join(k.value for k in SOURCE_KINDS)}, "
                         f"got {how_text!r}")
        date = c.string(s["date"], f"{sw}.date", nullable=True)
        if date is not None and not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", date):
            raise c.fail(f"{sw}.date", f"expected an ISO date, got {date!r}")
        sources.append(Source(fact, how, c.text(s["where"], f"{sw}.where"), date))
    if measured is not None:
        sources.append(measured[1])
    executables = frozenset(loaders) | frozenset(programs)
    description = str(image["description"])
    return Target(
        name=str(image["name"]),
        machine=machine,
        docker_arch=docker_arch,
        libc=libc,
        libc_version=libc_version,
        loaders=loaders,
        search_dirs=tuple(search),
        path_env=path_env,
        files=ProfileFiles(libraries, executables),
        size_bytes=size,
        description=description,
        sources=tuple(sources),
        aliases=tuple(image["aliases"]),
        runtime_files=runtime_files,
    )


def search_dir_kind(source: str) -> SearchSource:
    """A profile's directories say where they come from in words: "ld.so.conf (FILE)", "ld.so.cache"
    and "musl path file (FILE)" are configured; anything else ("default (...)", "musl built-in") is
    the loader's own list."""
    text = source.lower()
    if text.startswith(("ld.so.conf", "ld.so.cache", "musl path file")) or text.endswith(".path)"):
        return SearchSource.LD_SO_CONF
    return SearchSource.DEFAULT


@functools.lru_cache(maxsize=1)
def _musl_symbols() -> dict[tuple[str, str], tuple[frozenset[str], Source]]:
    """(musl version, machine) -> the symbols its loader defines, with their source: package data
    written by scripts/measure_musl_symbols.py from real roots, read once per process."""
    doc = read_json(os.path.join(os.path.dirname(__file__), "musl_symbols.json"), "musl_symbols.json")
    out = {}
    for version, machines in doc["versions"].items():
        for machine, entry in machines.items():
            s = entry["source"]
            out[(version, machine)] = (frozenset(entry["symbols"]),
                                       Source("musl_symbols", SourceHow(s["how"]), s["where"], s["date"]))
    return out


def parse_profile(data: Any, filename: str, machine: str | None = None) -> tuple[ProfileImage, ...]:
    """Validate one family's profile data and build its targets. Raises TargetError (one line).

    With ``machine``, only the platforms for that machine are validated and built: a command naming one
    target pays for one platform (the test suite validates every platform of every built-in file)."""
    c = _Checker(filename)
    top = c.obj(data, "(top)", ("format", "family", "description", "images"))
    if top["format"] != PROFILE_FORMAT:
        raise c.fail("format", f"expected {PROFILE_FORMAT!r}, got {json.dumps(top['format'])[:40]}")
    family = c.text(top["family"], "family")
    c.text(top["description"], "description")
    images: list[ProfileImage] = []
    for i, raw in enumerate(c.listing(top["images"], "images")):
        where = f"images[{i}]"
        image = c.obj(raw, where, ("name", "aliases", "description", "platforms"))
        name = c.text(image["name"], f"{where}.name")
        aliases = c.strings(image["aliases"], f"{where}.aliases")
        c.text(image["description"], f"{where}.description")
        platforms = c.listing(image["platforms"], f"{where}.platforms")
        if not platforms:
            raise c.fail(f"{where}.platforms", "expected at least one platform")
        machines = [p.get("machine") if isinstance(p, dict) else None for p in platforms]
        if len(set(machines)) != len(machines):
            raise c.fail(f"{where}.platforms", "a machine is listed twice")
        targets = tuple(_parse_platform(c, p, f"{where}.platforms[{j}]", image)
                        for j, p in enumerate(platforms) if machine is None or machines[j] == machine)
        architectures = tuple(str(p.get("docker_arch")) for p in platforms if isinstance(p, dict))
        images.append(ProfileImage(name, aliases, image["description"], family, targets, architectures))
    return tuple(images)


def load_profile_file(path: str | os.PathLike[str]) -> tuple[Target, ...]:
    """Every target (image x platform) of one profile file. Raises TargetError naming the file."""
    filename = os.fspath(path)
    data = read_json(filename, f"profile {filename}")
    return tuple(t for image in parse_profile(data, filename) for t in image.targets)


INDEX_FILE = "index.json"  # every image name and alias -> its family file, so one name parses one file
INDEX_FORMAT = "linkcheck-profile-index/1"


# The package's own data directory, read as plain files: importlib.resources would cost the command's
# start-up more than the file it reads (the package is installed unzipped, as pip installs it).
PROFILES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "profiles")


def _profile_text(filename: str) -> Any:
    return read_json(os.path.join(PROFILES_DIR, filename), f"profile {filename}")


@functools.lru_cache(maxsize=1)
def _families() -> tuple[str, ...]:
    """The built-in family files, in listing order (FAMILY_ORDER first, then the others sorted)."""
    names = sorted(e[: -len(".json")] for e in os.listdir(PROFILES_DIR)
                   if e.endswith(".json") and e != INDEX_FILE)
    order = {fam: i for i, fam in enumerate(FAMILY_ORDER)}
    return tuple(sorted(names, key=lambda n: (order.get(n, len(order)), n)))


@functools.cache
def _family_images(family: str, machine: str | None = None) -> tuple[ProfileImage, ...]:
    """One family's images (with ``machine``: only their platforms for it), parsed and validated once per
    process: the package's own data files do not change while it runs."""
    return parse_profile(_family_data(family), f"{family}.json", machine)


@functools.cache
def _family_data(family: str) -> Any:
    return _profile_text(f"{family}.json")


@functools.lru_cache(maxsize=1)
def _name_index() -> dict[str, str]:
    """Lower-case image name or alias -> family, from the index file (``scripts/make_profile_index.py``
    writes it; a test keeps it equal to what the family files say)."""
    data = _profile_text(INDEX_FILE)
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT or not isinstance(
            data.get("names"), dict):
        raise TargetError(f"profile {INDEX_FILE}: not a {INDEX_FORMAT} index")
    return {str(k): str(v) for k, v in data["names"].items()}


def profile_index(images: tuple[ProfileImage, ...]) -> dict[str, Any]:
    """The content of the index file for ``images``."""
    return {"format": INDEX_FORMAT,
            "names": {key.lower(): image.family for image in images for key in (image.name, *image.aliases)}}


@functools.lru_cache(maxsize=1)
def _builtin_images() -> tuple[ProfileImage, ...]:
    """Every built-in image, every family parsed (the matrix, the listing); a name used twice is an error."""
    images = [image for family in _families() for image in _family_images(family)]
    seen: dict[str, str] = {}
    for image in images:
        for key in (image.name, *image.aliases):
            k = key.lower()
            if k in seen and seen[k] != image.name:
                raise TargetError(f"profile {image.family}.json: {key!r} names both {seen[k]} "
                                  f"and {image.name}")
            seen[k] = image.name
    return tuple(images)


# ------------------------------------------------------------------------------------------------
# Names and platforms
# ------------------------------------------------------------------------------------------------


def _normalize_name(name: str) -> str:
    n = name.strip().lower()
    parts = n.split("/")
    if len(parts) > 1 and parts[0] == DOCKER_HUB:
        # Docker Hub's official images are what the profiles were measured from. Any other registry host
        # in front names that registry's image, pulled from it (names like gcr.io/distroless/... are
        # profiles as they are).
        parts = parts[1:]
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    n = "/".join(parts)
    for suffix in (":latest", ":nonroot"):
        if n.endswith(suffix):
            n = n[: -len(suffix)]
    return n


# Tags more precise than a profile: the same image, a later build or point release.
_TAG_REWRITES = (
    (r"^(.+):(\d+\.\d+)\.\d+(-[a-z0-9.]+)?$", r"\1:\2\3"),  # alpine:3.20.3, busybox:1.38.0-glibc
    (r"^(debian):(\d+)\.\d+(-slim)?$", r"\1:\2\3"),  # debian:12.8-slim
    (r"^(debian|ubuntu):([a-z]+)-\d{8}(-slim)?$", r"\1:\2\3"),  # debian:bookworm-20241111-slim
)


def _find_image(name: str, machine: str | None = None) -> ProfileImage | None:
    """The built-in image ``name`` names, parsing only its family's file: with ``machine``, only its
    platform for that machine (if it has one); else every platform. A name with a digest is never one
    (a digest pins one build; the profile was measured from a build of its own), nor is one on a
    registry host other than Docker Hub, unless a profile is named so (gcr.io/distroless/...)."""
    if "@" in name or has_registry_prefix(name):
        return None
    index = _name_index()
    first, sep, _rest = name.strip().lower().partition("/")
    if sep and looks_like_registry_host(first) and first != DOCKER_HUB:
        n = name.strip().lower()
        for suffix in (":latest", ":nonroot"):
            n = n.removesuffix(suffix)
        candidates = [n]
    else:
        n = _normalize_name(name)
        # A name the index knows needs no rewriting (nor the patterns compiled, at every start-up).
        candidates = [n] if n in index else [n] + [shorter for pattern, replacement in _TAG_REWRITES
                                                   if (shorter := re.sub(pattern, replacement, n)) != n]
    for key in candidates:
        if key in index:
            for image in _family_images(index[key], machine):
                if key in (image.name.lower(), *(a.lower() for a in image.aliases)):
                    return image
    return None


def find_profile_image(name: str) -> ProfileImage | None:
    """The built-in OS image called ``name`` (or an alias), or None."""
    return _find_image(name)


def _runtime_target(name: str, platform: str | None) -> Target | None:
    """A built-in runtime image (eclipse-temurin:17-jre ...): its base OS profile with the runtime."""
    from linkcheck.image.runtimes import find_runtime_image, runtime_target

    found = find_runtime_image(name)
    if found is None:
        return None
    image, moving = found
    machine = platform_machine(platform)
    base = _find_image(image.base, machine)
    if base is None:
        raise TargetError(f"runtime profile for {image.name}: its base {image.base!r} is not a built-in "
                          "image")
    base_target = _select(base, machine)
    if base_target.docker_arch not in image.architectures:
        raise TargetError(f"{image.name}: no built-in profile for {machine} (profiles exist for "
                          f"{', '.join(image.architectures)})")
    return runtime_target(image, base_target, moving)


def _select(image: ProfileImage, machine: str) -> Target:
    for t in image.targets:
        if t.machine == machine:
            return t
    have = ", ".join(image.architectures)
    raise TargetError(f"{image.name}: no built-in profile for {machine} (profiles exist for {have})")


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..") or text.endswith(
        (".tar", ".tar.gz", ".tgz", ".oci"))


def load_target(name_or_path: str, platform: str | None = None, *,
                registry: RegistryOptions | None = None) -> Target:
    """A built-in image by name ("alpine:3.20", "slim", "distroless/cc" ...), a root filesystem directory,
    an image archive file, or an image in a registry by reference ("ghcr.io/owner/app:1",
    "localhost:5000/base@sha256:...", "docker://alpine:3.20").

    ``platform`` ("linux/arm64", "arm64", "aarch64") picks the built-in profile's architecture, or the
    image of a registry's multi-platform index; the default is this host's, as ``docker run NAME`` would
    pick. For a directory or archive the architecture is read from its files, and a ``platform`` that
    disagrees is an error. A name that is both a built-in image and a directory here means the image;
    write "./name" for the directory. ``docker://`` (skopeo's transport prefix) pulls from the registry
    even a name that has built-in data. ``registry`` says how registries are reached (cache, --offline,
    insecure hosts); see ``linkcheck.image.registry``.
    """
    text = name_or_path
    if has_registry_prefix(text):
        return _registry_target(text, platform, registry)
    if text.strip() and not _looks_like_path(text):
        machine = platform_machine(platform)
        builtin = _find_image(text, machine)
        if builtin is not None:
            return _select(builtin, machine)
    if text.strip() and not _looks_like_path(text) and not os.path.isdir(os.path.expanduser(text)):
        runtime = _runtime_target(text, platform)
        if runtime is not None:
            return runtime
    path = os.path.expanduser(text)
    if os.path.isdir(path) and os.path.isfile(os.path.join(path, "index.json")) and os.path.isfile(
            os.path.join(path, "oci-layout")):
        target = _archive_target(path, text, platform)  # an OCI image layout directory
    elif os.path.isdir(path):
        from linkcheck.image.rootfs import target_from_tree
        from linkcheck.image.tree import DirectoryTree

        target = target_from_tree(DirectoryTree(path), text, machine_hint=_fallback_machine(platform))
    elif os.path.isfile(path):
        target = _archive_target(path, text, platform)
    elif os.path.lexists(path):
        raise TargetError(f"{text}: {_why_unusable(path)}")
    else:
        if _looks_like_path(text):
            raise TargetError(f"{text}: no such directory or image archive")
        ref = _as_reference(text)
        if ref is not None and (not ref.is_docker_hub or "@" in text or os.environ.get(DOCKER_HUB_ENV)):
            return _registry_target(text, platform, registry)
        hub = (f" (to pull it from Docker Hub, set {DOCKER_HUB_ENV} to its registry host or a mirror)"
               if ref is not None else "")
        raise TargetError(f"unknown target {text!r}: not a built-in image, directory or archive{_hint(text)}"
                          f"{hub}")
    if platform is not None and platform_machine(platform) != target.machine:
        raise TargetError(f"{text}: its files are for {target.machine}, not {platform}")
    return target


def _hint(text: str) -> str:
    """Built-in names close to ``text`` within the same repository (a typo: "alpne:3.20"), never another
    image that merely shares a tag ("python:3.12-slim" is not "debian:12-slim"); else how to go on."""
    import difflib

    asked = _normalize_name(text)
    repository = asked.split(":", 1)[0]
    names = [n for image in _builtin_images() for n in (image.name, *image.aliases)]
    close = [n for n in difflib.get_close_matches(asked, names, n=8, cutoff=0.5)
             if difflib.SequenceMatcher(None, n.split(":", 1)[0], repository).ratio() >= 0.75][:4]
    if close:
        return f"; did you mean {', '.join(close)}?"
    return ("; `linkcheck --list-targets` lists the built-in images, and any image can be checked as an "
            "archive: docker save IMAGE -o image.tar, then --target image.tar")


def _why_unusable(path: str) -> str:
    """Why a path that exists is neither a directory nor a file: a dangling link, a loop of links ..."""
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if exc.errno == errno.ENOENT:
            return f"a symbolic link to {os.readlink(path)!r}, which does not exist"
        return f"cannot be read ({exc.strerror or exc})"
    return "not a directory or an image archive"


def _archive_target(path: str, name: str, platform: str | None) -> Target:
    """An image archive (``docker save``, OCI layout directory or tar, root filesystem tarball), read
    through ``linkcheck.image.archive`` without unpacking it."""
    from linkcheck.image.archive import open_image_tree

    try:
        tree = open_image_tree(path, platform)
    except LinkcheckError:
        raise
    except OSError as e:
        raise TargetError(f"{name}: cannot be read: {e.strerror or e}") from None
    try:
        target = image_target(tree, name, platform)
    except BaseException:
        tree.close()
        raise
    # The tree lives as long as the target's files hold it; its decompressed layers are in a nameless
    # file that goes with it (or with the process): nothing to clean up on disk.
    return target


def parse_env(assignments: Sequence[str], origin: EnvOrigin = EnvOrigin.OPTION,
              host_env: Mapping[str, str] | None = None) -> tuple[EnvVar, ...]:
    """Variables as ``docker run -e`` reads them: ``KEY=VALUE``; a bare ``KEY`` (``--env`` only) takes
    its value from ``host_env`` (default: this process's environment) and is left out when it has none.
    A missing KEY is a usage error."""
    out: list[EnvVar] = []
    for text in assignments:
        name, sep, value = text.partition("=")
        if not name:
            if origin is EnvOrigin.IMAGE_CONFIG:
                continue  # not a variable: the runtime ignores it
            raise UsageError(f"--env {text!r}: expected KEY=VALUE")
        if not sep:
            if origin is EnvOrigin.IMAGE_CONFIG:
                continue
            from_host = (os.environ if host_env is None else host_env).get(name)
            if from_host is None:
                continue
            value = from_host
        out.append(EnvVar(name, value, origin))
    return tuple(out)


def with_env(target: Target, variables: Sequence[EnvVar]) -> Target:
    """``target`` with ``variables`` set after its own (a later one of a name wins, as in the runtime).
    PATH also becomes the target's ``path_env``."""
    if not variables:
        return target
    out = replace(target, env=target.env + tuple(variables))
    path = out.getenv("PATH")
    if path is not None:
        out = replace(out, path_env=tuple(p for p in path.value.split(":") if p))
    return out


def image_target(tree: ImageTree, name: str, platform: str | None = None) -> Target:
    """The target an opened image is (the one place a target is built from an image): its files say
    what it has (loaders, ld.so.conf, libraries), its config its environment (PATH, LD_LIBRARY_PATH ...).
    Its platform is what its files are built for, else ``platform``, else the config's, else this
    machine's, as ``docker run`` would run it: an image with nothing but a static program (``scratch``)
    is a valid target."""
    from linkcheck.image.rootfs import target_from_tree

    target = target_from_tree(tree, name, path_env=tree.path_env, machine_hint=_fallback_machine(
        platform, tree.architecture, tree.variant))
    return with_env(target, parse_env(tree.config.env, EnvOrigin.IMAGE_CONFIG))


def _fallback_machine(platform: str | None, architecture: str | None = None, variant: str | None = None
                      ) -> str:
    """The machine of a root whose files do not tell: ``platform``, else an image config's
    architecture, else this host's."""
    if platform is not None:
        return platform_machine(platform)
    if architecture:
        for text in (f"{architecture}/{variant}" if variant else architecture, architecture):
            try:
                return platform_machine(text)
            except LinkcheckError:
                continue
    return host_machine()


def _as_reference(text: str) -> ImageReference | None:
    try:
        return parse_reference(text)
    except TargetError:
        return None


def _registry_target(text: str, platform: str | None, options: RegistryOptions | None) -> Target:
    """The image ``text`` names, pulled from its registry or read from the cache, judged from its files
    by the same layer index and root-filesystem reader as an image archive."""
    from linkcheck.image.registry import open_pulled_tree, pull_image

    ref = parse_reference(text)
    pulled = pull_image(ref, platform, options or RegistryOptions())
    tree = open_pulled_tree(pulled, text, options.cache_dir if options else None)
    try:
        target = image_target(tree, text, platform)
    except BaseException:
        tree.close()
        raise
    weakref.finalize(target.files, tree.close)
    how = "the cache" if pulled.from_cache else f"the registry {ref.host}"
    where = f"{ref} (manifest {pulled.manifest_digest})"
    return dataclasses.replace(
        target,
        description=f"image {where}, read from {how}",
        sources=(Source("image", SourceHow.READ_FROM_CACHE if pulled.from_cache
                        else SourceHow.READ_FROM_REGISTRY, where),
                 *target.sources),
    )


def pulled_from(target: Target) -> str | None:
    """For a target pulled by reference: which image it is and whether the registry or the cache was
    read ("image HOST/REPO:TAG (manifest sha256:...), read from the cache"); None for any other target."""
    if target.sources and target.sources[0].fact == "image":
        return target.description
    return None


def builtin_targets(machine: str | None = None) -> tuple[Target, ...]:
    """Every built-in image that has a profile for ``machine`` (default: this host's), in listing order."""
    try:
        m = platform_machine(machine)
    except LinkcheckError:  # a machine no profile is for ("unknown-4711", "vax")
        return ()
    return tuple(t for family in _families() for image in _family_images(family, m) for t in image.targets)


class BuiltinCatalogue(Sequence[CatalogueImage]):
    """The built-in images for one machine (every machine: None) as a catalogue, read only when a fix
    first looks into it (most verdicts suggest no image, and reading every profile would cost a short
    check its start-up). Fixes only suggest images of the target's machine, so a check passes that one."""

    def __init__(self, machine: str | None = None) -> None:
        self.machine = machine

    def _items(self) -> tuple[CatalogueImage, ...]:
        return builtin_catalogue(self.machine)

    def __len__(self) -> int:
        return len(self._items())

    @overload
    def __getitem__(self, index: int) -> CatalogueImage: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[CatalogueImage, ...]: ...

    def __getitem__(self, index: int | slice) -> CatalogueImage | tuple[CatalogueImage, ...]:
        return self._items()[index]


@functools.cache
def builtin_catalogue(machine: str | None = None) -> tuple[CatalogueImage, ...]:
    """Every built-in image on every platform (with ``machine``: its platform for that machine only, the
    profiles a matrix for it has parsed already), with what fixes choose by (cached like the profiles)."""
    images = _builtin_images() if machine is None else tuple(
        image for family in _families() for image in _family_images(family, machine))
    out = []
    for image in images:
        for t in image.targets:
            glibcxx = None
            for d in t.search_dirs:
                lib = t.files.library(posixpath.join(d.path, "libstdc++.so.6"))
                if lib is not None:
                    nodes = [v for v in lib.version_definitions if version_key(v, "GLIBCXX_") is not None]
                    glibcxx = max(nodes, key=lambda v: version_key(v, "GLIBCXX_") or (), default=None)
                    break
            out.append(CatalogueImage(t.name, t.machine, t.libc, t.libc_version, glibcxx))
    return tuple(out)


def list_profiles() -> tuple[ProfileInfo, ...]:
    """The built-in images, for ``linkcheck targets``."""
    out: list[ProfileInfo] = []
    for image in _builtin_images():
        first = next((t for t in image.targets if t.docker_arch == "amd64"), image.targets[0])
        out.append(ProfileInfo(
            name=image.name,
            aliases=image.aliases,
            architectures=tuple(t.docker_arch for t in image.targets),
            libc=first.libc,
            libc_version=first.libc_version,
            size_bytes=first.size_bytes,
            description=image.description,
            sources=first.sources,
            family=image.family,
        ))
    from linkcheck.image.runtimes import all_runtime_images

    for rt in all_runtime_images():
        base = _find_image(rt.base)
        if base is None:
            raise TargetError(f"runtime profile for {rt.name}: its base {rt.base!r} is not a built-in image")
        first = next((t for t in base.targets if t.docker_arch == "amd64"), base.targets[0])
        out.append(ProfileInfo(
            name=rt.name,
            aliases=rt.aliases + tuple(f"{m.tag} as of {m.date}" for m in rt.moving_tags),
            architectures=rt.architectures,
            libc=first.libc,
            libc_version=first.libc_version,
            size_bytes=rt.size_bytes,
            description=f"{rt.description} (on {rt.base})",
            sources=rt.sources,
            family=rt.family,
            runtime=f"{rt.runtime.kind.value} {rt.runtime.version}",
        ))
    return tuple(out)

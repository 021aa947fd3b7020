"""Language runtimes in images: read from a root filesystem, or from the built-in runtime profiles.

From a tree (a directory or image archive target): ``java`` is looked up on the image's PATH as a shell
would, its symlinks followed inside the tree (Debian: /usr/bin/java -> /etc/alternatives/java ->
/usr/lib/jvm/java-17-openjdk-amd64/bin/java), and the version read from the JDK/JRE's ``release`` file
beside it (JAVA_VERSION="17.0.19"), which every OpenJDK build since 9, and Temurin's 8, writes.

Built in: runtime images (``eclipse-temurin:17-jre-noble`` ...) are data files in
``linkcheck/image/runtime_profiles/``, one per family. Each image names the OS profile it builds on
(``ubuntu:24.04``) and says what the runtime adds: its version, where it lives, PATH, size; every fact
with its source. ``index.json`` maps an image repository to its family file, so naming one image parses
one file (and the OS profiles), never all of them.

Runtime profile file format (``"format": "linkcheck-runtime-profiles/1"``)::

    {"format", "family", "description", "images": [
        {"name", "aliases": [..], "moving_tags": [{"tag", "stood_for", "date", "where"}], "base",
         "description", "architectures": [..],
         "runtime": {"kind", "version", "release", "command", "home", "vendor"},
         "path_env": [..], "programs": [..], "size_bytes",
         "sources": {FACT: {"how", "where", "date"}}}]}
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from linkcheck.errors import LinkcheckError, TargetError
from linkcheck.image.profiles import read_json
from linkcheck.image.tree import EntryKind, Tree, normalize, resolve
from linkcheck.model import (
    FileKind,
    FileView,
    Libc,
    LibraryFile,
    Runtime,
    RuntimeKind,
    Source,
    SourceHow,
    Target,
    TargetFiles,
)

RUNTIME_FORMAT = "linkcheck-runtime-profiles/1"
INDEX_FORMAT = "linkcheck-runtime-index/1"
RUNTIME_FACTS = ("base", "runtime", "path_env", "size_bytes")
MAX_RELEASE_BYTES = 64 << 10
# A plain path, as target.py's PROFILES_DIR: importlib.resources would cost ~10 ms of imports per check.
_PROFILES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runtime_profiles")


# ------------------------------------------------------------------------------------------------
# Reading a runtime from a tree
# ------------------------------------------------------------------------------------------------


def java_release_of(version: str) -> int | None:
    """"17.0.19" -> 17, "1.8.0_392" -> 8, "21" -> 21, "25-ea" -> 25; None when it is not a version."""
    m = re.match(r"(\d+)(?:\.(\d+))?", version)
    if m is None:
        return None
    first = int(m[1])
    if first == 1 and m[2] is not None:
        return int(m[2])  # the 1.x scheme of Java 8 and earlier
    return first


def parse_release_file(text: str) -> dict[str, str]:
    """A JDK/JRE ``release`` file: KEY="VALUE" lines."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip().isidentifier():
            out[key.strip()] = value.strip().strip('"')
    return out


def detect_runtimes(tree: Tree, path_env: tuple[str, ...]) -> tuple[Runtime, ...]:
    """The runtimes a root filesystem has on ``path_env``."""
    found = (detect_java(tree, path_env), detect_node(tree, path_env), detect_python(tree, path_env))
    return tuple(r for r in found if r is not None)


def detect_python(tree: Tree, path_env: tuple[str, ...]) -> Runtime | None:
    """``python3`` on PATH; its version from the name its links lead to (python3 -> python3.11), which
    every CPython install (Debian's, Alpine's, the official images') names so."""
    found = _on_path(tree, "python3", path_env) or _on_path(tree, "python", path_env)
    if found is None:
        return None
    shown, real = found
    m = re.fullmatch(r"python3\.(\d+)", posixpath.basename(real))
    if m is None:
        return Runtime(RuntimeKind.PYTHON, "unknown", 0, real, source=f"{tree.name}: {shown} -> {real}")
    return Runtime(RuntimeKind.PYTHON, f"3.{m[1]}", int(m[1]), real, home=posixpath.dirname(real),
                   source=f"{tree.name}: {shown} -> {real}")


_NODE_DEFINE = re.compile(r"^#define\s+(NODE_MAJOR_VERSION|NODE_MINOR_VERSION|NODE_PATCH_VERSION|"
                          r"NODE_MODULE_VERSION)\s+(\d+)\s*$", re.M)


def detect_node(tree: Tree, path_env: tuple[str, ...]) -> Runtime | None:
    """``node`` (or Debian's ``nodejs``) on PATH. Its version and NODE_MODULE_VERSION come from the
    headers an official build installs beside it (PREFIX/include/node/node_version.h), else, for
    Debian's build, from the libnode.so.N it links (N is the module version) and dpkg's status."""
    found = _on_path(tree, "node", path_env) or _on_path(tree, "nodejs", path_env)
    if found is None:
        return None
    shown, real = found
    prefix = posixpath.dirname(posixpath.dirname(real))
    header = posixpath.join(prefix, "include/node/node_version.h")
    text = _small_text(tree, header, 1 << 20)
    if text is not None:
        defines = dict(_NODE_DEFINE.findall(text))
        major = defines.get("NODE_MAJOR_VERSION")
        if major is not None:
            version = ".".join(defines.get(k, "0") for k in ("NODE_MAJOR_VERSION", "NODE_MINOR_VERSION",
                                                             "NODE_PATCH_VERSION"))
            abi = defines.get("NODE_MODULE_VERSION")
            return Runtime(RuntimeKind.NODE, version, int(major), real, home=prefix,
                           source=f"{tree.name}: {shown} -> {real}; {header}",
                           abi=int(abi) if abi else None)
    abi_from_lib = _libnode_abi(tree, real)
    packaged = _dpkg_version(tree, "nodejs")
    release = int(packaged.split(".")[0]) if packaged and packaged.split(".")[0].isdigit() else 0
    where = f"{tree.name}: {shown} -> {real}"
    if abi_from_lib is not None:
        where += f"; it links libnode.so.{abi_from_lib}"
    if packaged is not None:
        where += "; /var/lib/dpkg/status (nodejs)"
    return Runtime(RuntimeKind.NODE, packaged or "unknown", release, real, home=prefix, source=where,
                   abi=abi_from_lib)


def _libnode_abi(tree: Tree, node: str) -> int | None:
    from linkcheck.facts.reader import analyze_bytes

    found = resolve(tree, node)
    if found is None or found[1].size > (1 << 30):
        return None
    try:
        buf = tree.read(found[0])
    except OSError:
        return None
    try:
        elf = analyze_bytes(bytes(buf[: 1 << 30]), node).elf
    except LinkcheckError:  # an unreadable node tells nothing
        return None
    finally:
        close = getattr(buf, "close", None)
        if close is not None:
            close()
    for name in elf.needed if elf is not None else ():
        m = re.fullmatch(r"libnode\.so\.(\d+)", name)
        if m:
            return int(m[1])
    return None


def _dpkg_version(tree: Tree, package: str) -> str | None:
    """The upstream version of an installed Debian package ("18.19.0" of "18.19.0+dfsg-6~deb12u2")."""
    text = _small_text(tree, "/var/lib/dpkg/status", 64 << 20)
    if text is None:
        return None
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if fields.get("Package") == package and "installed" in fields.get("Status", ""):
            version = fields.get("Version", "")
            version = version.split(":", 1)[-1]
            return re.split(r"[+~-]", version, maxsplit=1)[0] or None
    return None


def _on_path(tree: Tree, name: str, path_env: tuple[str, ...]) -> tuple[str, str] | None:
    """(the PATH entry as found, the file it leads to) for the first executable ``name`` on PATH."""
    for directory in path_env:
        candidate = normalize(f"{directory}/{name}")
        found = resolve(tree, candidate)
        if found is None:
            continue
        real, entry = found
        if entry.kind is EntryKind.FILE and entry.mode & 0o111:
            return candidate, real
    return None


def detect_java(tree: Tree, path_env: tuple[str, ...]) -> Runtime | None:
    """``java`` on PATH, with its version from the ``release`` file of the JDK/JRE it belongs to. A
    ``java`` without a readable ``release`` gets release 0: the version is unknown."""
    found = _on_path(tree, "java", path_env)
    if found is None:
        return None
    shown, real = found
    bindir = posixpath.dirname(real)
    home = posixpath.dirname(bindir)
    # JDK 8 puts the JRE in $JAVA_HOME/jre, its release file one level up.
    for candidate in (home, posixpath.dirname(home)):
        text = _small_text(tree, posixpath.join(candidate, "release"))
        if text is None:
            continue
        fields = parse_release_file(text)
        version = fields.get("JAVA_VERSION", "")
        release = java_release_of(version)
        if release is None:
            continue
        where = f"{tree.name}: {shown} -> {real}; {posixpath.join(candidate, 'release')}"
        return Runtime(RuntimeKind.JAVA, version, release, real, home=candidate,
                       vendor=fields.get("IMPLEMENTOR"), source=where)
    return Runtime(RuntimeKind.JAVA, "unknown", 0, real, home=home, source=(
        f"{tree.name}: {shown} -> {real}; no readable release file in {home}"))


def _small_text(tree: Tree, path: str, limit: int = MAX_RELEASE_BYTES) -> str | None:
    found = resolve(tree, path)
    if found is None or found[1].kind is not EntryKind.FILE or found[1].size > limit:
        return None
    try:
        buf = tree.read(found[0])
    except OSError:
        return None
    try:
        return bytes(buf[:limit]).decode("utf-8", "replace")
    finally:
        close = getattr(buf, "close", None)
        if close is not None:
            close()


# ------------------------------------------------------------------------------------------------
# Built-in runtime images
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuntimeFiles:
    """The base image's files, plus the runtime's programs (all executable)."""

    base: TargetFiles
    programs: frozenset[str]
    libraries: Mapping[str, LibraryFile] = dataclasses.field(default_factory=dict)

    def exists(self, path: str) -> bool:
        p = normalize(path)
        return p in self.programs or p in self.libraries or self.base.exists(path)

    def is_executable(self, path: str) -> bool:
        return normalize(path) in self.programs or self.base.is_executable(path)

    def view(self, path: str) -> FileView | None:
        p = normalize(path)
        if p in self.programs or p in self.libraries:
            return FileView(FileKind.REGULAR, p in self.programs)
        return self.base.view(path)

    def library(self, path: str) -> LibraryFile | None:
        return self.libraries.get(normalize(path)) or self.base.library(path)


@dataclass(frozen=True, slots=True)
class MovingTag:
    tag: str  # "eclipse-temurin:17-jre"
    stood_for: str  # the exact tag it stood for: "eclipse-temurin:17.0.20_8-jre-resolute"
    date: str
    where: str


@dataclass(frozen=True, slots=True)
class RuntimeImage:
    name: str
    aliases: tuple[str, ...]
    moving_tags: tuple[MovingTag, ...]
    base: str
    description: str
    family: str
    architectures: tuple[str, ...]
    runtime: Runtime
    path_env: tuple[str, ...]
    programs: tuple[str, ...]
    size_bytes: int | None
    sources: tuple[Source, ...]
    libraries: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = ()  # (soname, paths, versions)

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *(m.tag for m in self.moving_tags))


def _fail(filename: str, where: str, problem: str) -> TargetError:
    return TargetError(f"runtime profile {filename}: {where}: {problem}")


def _obj(filename: str, value: Any, where: str, keys: tuple[str, ...], optional: tuple[str, ...] = ()
         ) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(filename, where, f"expected an object, got {type(value).__name__}")
    for key in value:
        if key not in keys and key not in optional:
            raise _fail(filename, f"{where}.{key}", "unknown key")
    for key in keys:
        if key not in value:
            raise _fail(filename, f"{where}.{key}", "missing")
    return value


def _str(filename: str, value: Any, where: str, *, nullable: bool = False, path: bool = False) -> Any:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(filename, where, f"expected a non-empty string, got {json.dumps(value)[:40]}")
    if path and normalize(value) != value:
        raise _fail(filename, where, f"expected a normalised absolute path, got {value!r}")
    return value


def _strs(filename: str, value: Any, where: str, *, path: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _fail(filename, where, f"expected a list, got {type(value).__name__}")
    return tuple(_str(filename, v, f"{where}[{i}]", path=path) for i, v in enumerate(value))


def parse_runtime_profile(data: Any, filename: str) -> tuple[RuntimeImage, ...]:
    """Validate one runtime family's data. Raises TargetError (one line) naming the file and key."""
    top = _obj(filename, data, "(top)", ("format", "family", "description", "images"))
    if top["format"] != RUNTIME_FORMAT:
        raise _fail(filename, "format", f"expected {RUNTIME_FORMAT!r}")
    family = _str(filename, top["family"], "family")
    if not isinstance(top["images"], list):
        raise _fail(filename, "images", "expected a list")
    out = []
    for i, raw in enumerate(top["images"]):
        w = f"images[{i}]"
        im = _obj(filename, raw, w, ("name", "aliases", "moving_tags", "base", "description", "architectures",
                                     "runtime", "path_env", "programs", "size_bytes", "sources"),
                  ("libraries",))
        rt = _obj(filename, im["runtime"], f"{w}.runtime",
                  ("kind", "version", "release", "command", "home", "vendor"), ("abi",))
        abi = rt.get("abi")
        if abi is not None and (not isinstance(abi, int) or isinstance(abi, bool) or abi <= 0):
            raise _fail(filename, f"{w}.runtime.abi", "expected a positive integer")
        libs = []
        for j, lib in enumerate(im.get("libraries", [])):
            lw = f"{w}.libraries[{j}]"
            lib = _obj(filename, lib, lw, ("soname", "paths", "versions"))
            libs.append((_str(filename, lib["soname"], f"{lw}.soname"),
                         _strs(filename, lib["paths"], f"{lw}.paths", path=True),
                         _strs(filename, lib["versions"], f"{lw}.versions")))
        kind_text = _str(filename, rt["kind"], f"{w}.runtime.kind")
        try:
            kind = RuntimeKind(kind_text)
        except ValueError:
            raise _fail(filename, f"{w}.runtime.kind", f"unknown runtime {kind_text!r}") from None
        release = rt["release"]
        if not isinstance(release, int) or isinstance(release, bool) or release <= 0:
            raise _fail(filename, f"{w}.runtime.release", "expected a positive integer")
        moving = []
        for j, m in enumerate(im["moving_tags"] if isinstance(im["moving_tags"], list) else [None]):
            mw = f"{w}.moving_tags[{j}]"
            m = _obj(filename, m, mw, ("tag", "stood_for", "date", "where"))
            date = _str(filename, m["date"], f"{mw}.date")
            if not re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", date):
                raise _fail(filename, f"{mw}.date", f"expected an ISO date, got {date!r}")
            moving.append(MovingTag(_str(filename, m["tag"], f"{mw}.tag"),
                                    _str(filename, m["stood_for"], f"{mw}.stood_for"), date,
                                    _str(filename, m["where"], f"{mw}.where")))
        raw_sources = _obj(filename, im["sources"], f"{w}.sources", RUNTIME_FACTS)
        sources = []
        for fact in RUNTIME_FACTS:
            sw = f"{w}.sources.{fact}"
            s = _obj(filename, raw_sources[fact], sw, ("how", "where", "date"))
            how_text = _str(filename, s["how"], f"{sw}.how")
            if how_text not in ("measured", "documented", "inferred"):
                raise _fail(filename, f"{sw}.how",
                            f"expected measured, documented or inferred, got {how_text!r}")
            sources.append(Source(fact, SourceHow(how_text), _str(filename, s["where"], f"{sw}.where"),
                                  _str(filename, s["date"], f"{sw}.date", nullable=True)))
        size = im["size_bytes"]
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise _fail(filename, f"{w}.size_bytes", "expected a non-negative integer or null")
        runtime_where = sources[1]
        runtime = Runtime(kind, _str(filename, rt["version"], f"{w}.runtime.version"), release,
                          _str(filename, rt["command"], f"{w}.runtime.command", path=True),
                          home=_str(filename, rt["home"], f"{w}.runtime.home", nullable=True, path=True),
                          vendor=_str(filename, rt["vendor"], f"{w}.runtime.vendor", nullable=True),
                          source=f"{runtime_where.how.value}: {runtime_where.where}", abi=abi)
        out.append(RuntimeImage(
            name=_str(filename, im["name"], f"{w}.name"),
            aliases=_strs(filename, im["aliases"], f"{w}.aliases"),
            moving_tags=tuple(moving),
            base=_str(filename, im["base"], f"{w}.base"),
            description=_str(filename, im["description"], f"{w}.description"),
            family=family,
            architectures=_strs(filename, im["architectures"], f"{w}.architectures"),
            runtime=runtime,
            path_env=_strs(filename, im["path_env"], f"{w}.path_env", path=True),
            programs=_strs(filename, im["programs"], f"{w}.programs", path=True),
            size_bytes=size,
            sources=tuple(sources),
            libraries=tuple(libs),
        ))
    return tuple(out)


def _read_json(name: str) -> Any:
    return read_json(os.path.join(_PROFILES_DIR, name), f"runtime profile {name}")


def _index() -> Mapping[str, str]:
    """Image repository ("eclipse-temurin", "gcr.io/distroless/java17-debian12") -> family file."""
    data = _obj("index.json", _read_json("index.json"), "(top)", ("format", "repositories"))
    if data["format"] != INDEX_FORMAT or not isinstance(data["repositories"], dict):
        raise _fail("index.json", "format", f"expected {INDEX_FORMAT!r} with a repositories object")
    return {str(k).lower(): str(v) for k, v in data["repositories"].items()}


def family_files() -> tuple[str, ...]:
    return tuple(dict.fromkeys(_index().values()))


def family_images(filename: str) -> tuple[RuntimeImage, ...]:
    return parse_runtime_profile(_read_json(filename), filename)


def all_runtime_images() -> tuple[RuntimeImage, ...]:
    """Every built-in runtime image (parses every family file: for listings, not for look-ups)."""
    return tuple(im for f in family_files() for im in family_images(f))


def _repository(name: str) -> str:
    n = name.strip().lower()
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if n.startswith(prefix):
            n = n[len(prefix):]
    last = n.rsplit("/", 1)[-1]
    return n.rsplit(":", 1)[0] if ":" in last else n


def find_runtime_image(name: str) -> tuple[RuntimeImage, MovingTag | None] | None:
    """The runtime image called ``name`` (and the moving tag it was named by), parsing only its
    family's file; None when no runtime family has it."""
    filename = _index().get(_repository(name))
    if filename is None:
        return None
    wanted = name.strip().lower()
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if wanted.startswith(prefix):
            wanted = wanted[len(prefix):]
    for image in family_images(filename):
        if wanted in (n.lower() for n in (image.name, *image.aliases)):
            return image, None
        for m in image.moving_tags:
            if m.tag.lower() == wanted:
                return image, m
    return None


def runtime_target(image: RuntimeImage, base: Target, moving: MovingTag | None = None) -> Target:
    """The target an image is: its base OS profile's target, with the runtime on PATH."""
    name = image.name
    description = f"{image.description} (on {image.base})"
    if moving is not None:
        name = moving.tag
        description = (f"{moving.tag}: a moving tag, which stood for {moving.stood_for} on {moving.date} "
                       f"({moving.where}); judged as {image.name}: {description}")
    size = image.size_bytes if base.docker_arch == "amd64" else None
    arch = base.docker_arch

    def here(path: str) -> str:  # per-architecture paths: /usr/lib/jvm/java-17-openjdk-{docker_arch}
        return path.replace("{docker_arch}", arch)

    rt = image.runtime
    runtime = dataclasses.replace(rt, command=here(rt.command), home=here(rt.home) if rt.home else None)
    return dataclasses.replace(
        base,
        name=name,
        path_env=image.path_env,
        files=RuntimeFiles(base.files, frozenset((runtime.command, *map(here, image.programs))), {
            path: LibraryFile(path=path, soname=soname, machine=base.machine, elf_class=64,
                              version_definitions=versions)
            for soname, paths, versions in image.libraries for path in paths}),
        size_bytes=size,
        description=description,
        sources=base.sources + image.sources,
        aliases=image.aliases,
        runtimes=(runtime,),
    )


def libc_of_image(image: RuntimeImage) -> Libc | None:
    """The base's libc, from the OS profiles (for naming images a fix may point to)."""
    from linkcheck.image.target import find_profile_image

    base = find_profile_image(image.base)
    return None if base is None or not base.targets else base.targets[0].libc


def runtime_targets(kind: RuntimeKind, platform: str | None = None) -> tuple[Target, ...]:
    """Every built-in runtime image of ``kind`` that has a profile for ``platform`` (default: this
    machine), as targets, smallest first (``smallest_first``): the matrix a jar, class directory, wheel
    or addon is judged against when no target is named."""
    from linkcheck.image.target import find_profile_image, load_target

    ranked = []
    for image in all_runtime_images():
        if image.runtime.kind is not kind:
            continue
        try:
            target = load_target(image.name, platform)
        except TargetError:  # no profile for this machine
            continue
        base = find_profile_image(image.base)
        base_size = next((t.size_bytes for t in base.targets if t.docker_arch == target.docker_arch), None) \
            if base is not None else None
        ranked.append((smallest_first(image, target.libc, base_size), target))
    ranked.sort(key=lambda pair: pair[0])
    return tuple(target for _key, target in ranked)


def smallest_first(image: RuntimeImage, libc: Libc, base_size: int | None
                   ) -> tuple[bool, bool, int, bool, int, str]:
    """A sort key, smallest image first. Most runtime images' own sizes are not recorded, and one
    recorded size among unknown ones would rank falsely: the base decides, as a runtime adds about the
    same to any base: an Alpine (musl) base first (the measured alpine root is 7.8 MB, Debian and Ubuntu
    ones 70-120 MB), then by the base's recorded size, then a JRE before a JDK, then the older release."""
    jdk = "jdk" in image.name.lower() or "JDK" in image.description
    return (libc is not Libc.MUSL, base_size is None, base_size or 0, jdk, image.runtime.release, image.name)

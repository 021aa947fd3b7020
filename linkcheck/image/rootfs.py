"""A target read from a root filesystem: the truth of a directory, an unpacked image or an archive's layers.

Everything is read through a ``Tree`` (``linkcheck.image.tree``): paths are absolute inside the root and every
symlink is resolved inside it, so nothing outside the root is ever read, nothing is executed and nothing
is written. The facts read here are the ones the kernel and the dynamic loader act on:

* the machine: from the ELF header of the program interpreter found in the root, else of ``/bin/sh``,
  ``/bin/busybox`` or a libc;
* the loaders: the known glibc, musl and uClibc interpreter paths for that machine that resolve to a
  regular file;
* the libc and its version: glibc from the highest ``GLIBC_x.y`` version node defined by any of its
  libraries (the union: glibc 2.31's libc.so.6 stops at GLIBC_2.30, libm.so.6 defines GLIBC_2.31), else from
  ``libc-X.Y.so`` file names; musl from the apk database (``P:musl`` / ``V:``), else unknown;
* the loader's search directories, in order: glibc reads ``/etc/ld.so.cache``, which ldconfig built from
  ``/etc/ld.so.conf``; so the directories of the root's ld.so.conf (``include`` globs followed inside the
  root) count only when the root has an ld.so.cache, and then come the loader's built-in directories; musl
  reads ``/etc/ld-musl-<arch>.path`` or uses ``/lib:/usr/local/lib:/usr/lib``.

The built-in directories of a glibc loader are the ``system_dirs`` string compiled into it. Debian and
Ubuntu build glibc with ``/lib/<triplet>``, ``/usr/lib/<triplet>``, ``/lib``, ``/usr/lib`` (read from Debian
12's ld.so; ``ld.so --help`` lists the same); upstream glibc on 64-bit machines uses ``/lib64``,
``/usr/lib64``. Which one a root's loader has is read from the loader's bytes (the string is there
verbatim); when it cannot be read, the Debian list is used, since almost every glibc base image is Debian
or Ubuntu built.

``SearchDir.kind`` says whether a directory is configuration (ld.so.conf, musl's path file) or the
loader's own default; ``SearchDir.source`` says where it was read, for people.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Callable
from typing import TypeVar

from linkcheck.errors import LinkcheckError, TargetError, UnreadableError
from linkcheck.facts.arch import ABIS, Abi, abi_of
from linkcheck.image.probes import probe_tree
from linkcheck.image.tree import Buffer, DirectoryTree, EntryKind, Tree, TreeEntry, normalize, resolve
from linkcheck.model import (
    ElfFacts,
    ElfType,
    FileKind,
    FileView,
    Libc,
    LibraryFile,
    SearchDir,
    SearchSource,
    Source,
    SourceHow,
    Target,
    TargetFiles,
    glibc_version_key,
)

T = TypeVar("T")

# Docker's default PATH for a container whose image sets none (moby: oci/defaults, DefaultPathEnv).
DOCKER_DEFAULT_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# musl's built-in library path when /etc/ld-musl-<arch>.path is absent (ldso/dynlink.c).
MUSL_DEFAULT_DIRS = ("/lib", "/usr/local/lib", "/usr/lib")
# uClibc-ng's loader, without an ld.so.cache: its UCLIBC_RUNTIME_PREFIX lib and usr/lib.
UCLIBC_DEFAULT_DIRS = ("/lib", "/usr/lib")

# Bounds for reading ld.so.conf: a hostile root can include itself or glob thousands of files.
MAX_CONF_FILES = 256
MAX_CONF_DEPTH = 16
MAX_CONF_BYTES = 1 << 20
# Directory entries matched against include globs, over one ld.so.conf and all it includes: ldconfig has no
# such bound, but real configurations use a few dozen; past it (a hostile root: 30,000 include lines
# over a 100,000-file directory took minutes), further includes are not expanded.
MAX_GLOB_NAMES = 1_000_000
# A PATH longer than this keeps only its entries that are directories of the root: the lookups of
# "#!/usr/bin/env X" find the same, without walking thousands of entries per script.
PATH_ENTRIES_ALL_KEPT = 256
# A glibc loader is a few hundred KiB; a larger file is not searched for its built-in directories.
MAX_LOADER_BYTES = 16 << 20


# The glibc libraries whose version nodes together make up "the glibc version" (images.md rule 1).
_GLIBC_LIBS = ("libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1",
               "libresolv.so.2")


def _loader_candidates(abi: Abi) -> tuple[tuple[str, Libc], ...]:
    """Every path where a loader for ``abi`` is found in real images, canonical (PT_INTERP) path first."""
    out: list[tuple[str, Libc]] = []
    for canonical, libc in ((abi.glibc_loader, Libc.GLIBC), (abi.musl_loader, Libc.MUSL),
                            (abi.uclibc_loader, Libc.UCLIBC)):
        base = posixpath.basename(canonical)
        dirs = [posixpath.dirname(canonical), "/lib", "/lib64", f"/lib/{abi.triplet}", "/usr/lib",
                "/usr/lib64", f"/usr/lib/{abi.triplet}"]
        for d in dirs:
            path = f"{d}/{base}"
            if (path, libc) not in out:
                out.append((path, libc))
    return tuple(out)


def _is_regular(tree: Tree, path: str) -> tuple[str, TreeEntry] | None:
    found = resolve(tree, path)
    if found is None or found[1].kind is not EntryKind.FILE:
        return None
    return found


def _read_text(tree: Tree, path: str, limit: int = MAX_CONF_BYTES) -> str | None:
    """A small text file inside the tree (symlinks resolved inside), or None."""
    return _read_file(tree, path, lambda buf: bytes(buf[:limit]).decode("utf-8", "replace"), limit)


def _read_file(tree: Tree, path: str, use: Callable[[Buffer], T], limit: int | None = None) -> T | None:
    """``use`` applied to the content of the regular file at ``path`` (symlinks resolved inside the
    tree); None when there is none, it is larger than ``limit``, or it cannot be read or used."""
    found = _is_regular(tree, path)
    if found is None or (limit is not None and found[1].size > limit):
        return None
    try:
        buf = tree.read(found[0])
    except OSError:
        return None
    try:
        return use(buf)
    except (LinkcheckError, OSError):
        return None
    finally:
        close = getattr(buf, "close", None)
        if close is not None:
            close()


VIEW_HEAD = 4096  # an interpreter's ELF header and (as linkers lay them out) its program headers


def _head(tree: Tree, path: str, size: int) -> bytes | None:
    """The first VIEW_HEAD bytes of the regular file ``path`` (already resolved); None when unreadable."""
    read_range = getattr(tree, "read_range", None)  # an image reads the range, not the member
    try:
        if read_range is not None:
            head: bytes = read_range(path, 0, VIEW_HEAD)
            return head
        if size == 0:
            return b""
        buf = tree.read(path)
    except OSError:
        return None
    try:
        return bytes(buf[:VIEW_HEAD])
    finally:
        close = getattr(buf, "close", None)
        if close is not None:
            close()


class TreeFiles:
    """``TargetFiles`` over a ``Tree``.

    ``exists`` is true only for a path that resolves to a regular file: the kernel execs only regular
    files (EACCES otherwise) and the loader maps only regular files, so a directory, FIFO or device
    at a path is, for both, not a usable file there. Parsed libraries are cached per instance.
    """

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._libraries: dict[str, LibraryFile | None] = {}

    @property
    def tree(self) -> Tree:
        return self._tree

    def exists(self, path: str) -> bool:
        return _is_regular(self._tree, path) is not None

    def is_executable(self, path: str) -> bool:
        found = _is_regular(self._tree, path)
        return found is not None and bool(found[1].mode & 0o111)

    def view(self, path: str) -> FileView | None:
        found = resolve(self._tree, path)
        if found is None:
            return None
        where, entry = found
        executable = bool(entry.mode & 0o111)
        if entry.kind is EntryKind.DIRECTORY:
            return FileView(FileKind.DIRECTORY, executable)
        if entry.kind is not EntryKind.FILE:
            return FileView(FileKind.OTHER, executable)
        return FileView(FileKind.REGULAR, executable, entry.size, _head(self._tree, where, entry.size))

    def library(self, path: str) -> LibraryFile | None:
        key = normalize(path)
        if key not in self._libraries:
            self._libraries[key] = self._read_library(key)
        return self._libraries[key]

    def _read_library(self, path: str) -> LibraryFile | None:
        found = _is_regular(self._tree, path)
        if found is None:
            return None
        from linkcheck.facts.elf import parse_elf

        try:
            buf = self._tree.read(found[0])
        except OSError as exc:
            # There, but unreadable (an I/O error, a file too large or stored sparse in a tar): the
            # loader would read it, so what it finds cannot be told. Not "no library there".
            reason = (exc.strerror or str(exc)).lower()
            raise UnreadableError(found[0], reason) from None
        try:
            facts = parse_elf(buf)
        except LinkcheckError:
            return None  # not a loadable ELF file: the loader's own error (the search says which)
        finally:
            close = getattr(buf, "close", None)
            if close is not None:
                close()
        if facts.elf_type is not ElfType.DYN:
            return None  # the loader maps shared objects only
        names = facts.symbols.export_names()  # not one object per symbol: a library has thousands
        return LibraryFile(
            path=path,
            soname=facts.soname,
            machine=facts.machine,
            elf_class=facts.elf_class,
            needed=facts.needed,
            rpath=facts.rpath,
            runpath=facts.runpath,
            version_definitions=facts.version_definitions,
            exports=names.names,
            ifuncs=names.ifuncs,
            self_refs=facts.symbols.self_refs,
            irelative=facts.symbols.irelative,
            version_needs=facts.version_needs,
            versioned_imports=frozenset(f"{s.name}@{s.version}" for s in facts.imports if s.version),
        )


class MountedTree:
    """A host directory seen as mounted at ``mount`` inside an otherwise empty root.

    The directories above the mount point exist (empty but for the path down to it); every other path is
    absent. Reads go through a ``DirectoryTree`` of the host directory, so symlinks stay inside it.
    """

    def __init__(self, host_dir: str | os.PathLike[str], mount: str) -> None:
        self._inner = DirectoryTree(host_dir)
        self._mount = normalize(mount)

    @property
    def name(self) -> str:
        return f"{self._inner.name} (as {self._mount})"

    def _inside(self, path: str) -> str | None:
        p = normalize(path)
        if self._mount == "/":
            return p
        if p == self._mount:
            return "/"
        if p.startswith(self._mount + "/"):
            return p[len(self._mount):]
        return None

    def _above(self, path: str) -> bool:
        p = normalize(path)
        return p == "/" or self._mount.startswith(p + "/")

    def lstat(self, path: str) -> TreeEntry | None:
        inner = self._inside(path)
        if inner is not None:
            return self._inner.lstat(inner)
        if self._above(path):
            return TreeEntry(EntryKind.DIRECTORY, 0o755, 0)
        return None

    def listdir(self, path: str) -> tuple[str, ...]:
        inner = self._inside(path)
        if inner is not None:
            return self._inner.listdir(inner)
        if self._above(path):
            p = normalize(path)
            rest = self._mount[len(p):].lstrip("/")
            return (rest.split("/")[0],)
        return ()

    def read(self, path: str) -> Buffer:
        inner = self._inside(path)
        if inner is None:
            raise OSError(2, "no such file", path)
        return self._inner.read(inner)


def host_dir_files(host_dir: str, install_dir: str = "/app") -> TargetFiles:
    """The host directory a checked file sits in, seen as mounted at ``install_dir`` in the image.

    A lookup of "/app/lib/libfoo.so" reads ``<host_dir>/lib/libfoo.so``; symlinks resolve inside
    ``host_dir`` (an absolute link to "/app/x" lands on ``<host_dir>/x``); any path outside
    ``install_dir`` is not found. For libraries shipped beside a program ($ORIGIN).
    """
    return TreeFiles(MountedTree(host_dir, install_dir))


# ------------------------------------------------------------------------------------------------
# Reading the facts
# ------------------------------------------------------------------------------------------------


def _elf_machine(tree: Tree, path: str) -> tuple[str, str] | None:
    """(machine, docker_arch) from the ELF header of the file at ``path``, or None."""
    facts = _read_elf(tree, path)
    return None if facts is None else (facts.machine, facts.docker_arch)


def _read_elf(tree: Tree, path: str) -> ElfFacts | None:
    """The facts of the ELF file at ``path`` (symlinks resolved inside the tree), or None when there is no
    readable, well-formed ELF file there."""
    from linkcheck.facts.elf import parse_elf

    return _read_file(tree, path, parse_elf)


def _detect_machine(tree: Tree) -> tuple[str, str, str] | None:
    """(machine, docker_arch, evidence path), or None when no ELF file tells."""
    for abi in ABIS:
        for path, _libc in _loader_candidates(abi):
            if _is_regular(tree, path) is not None:
                read = _elf_machine(tree, path)
                if read is not None:
                    return read[0], read[1], path
                return abi.machine, abi.docker_arch, path
    probes = ["/bin/sh", "/bin/busybox", "/usr/bin/env", "/bin/env"]
    for abi in ABIS:
        probes += [f"/lib/{abi.triplet}/libc.so.6", f"/usr/lib/{abi.triplet}/libc.so.6"]
    probes += ["/lib/libc.so.6", "/usr/lib/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6"]
    for path in probes:
        read = _elf_machine(tree, path)
        if read is not None:
            return read[0], read[1], path
    return None


def _loaders(tree: Tree, abi: Abi) -> tuple[tuple[str, Libc], ...]:
    return tuple((path, flavour) for path, flavour in _loader_candidates(abi)
                 if _is_regular(tree, path) is not None)


def _loader_system_dirs(tree: Tree, loader: str | None, abi: Abi) -> tuple[tuple[str, ...], str]:
    """The glibc loader's built-in directories, and how they were learnt."""
    debian = (f"/lib/{abi.triplet}", f"/usr/lib/{abi.triplet}", "/lib", "/usr/lib")
    upstream = ("/lib64", "/usr/lib64") if abi.elf_class == 64 else ("/lib", "/usr/lib")
    found = _is_regular(tree, loader) if loader is not None else None
    if found is not None and found[1].size <= MAX_LOADER_BYTES:
        try:
            buf = tree.read(found[0])
        except OSError:
            buf = None
        if buf is not None:
            try:
                for dirs in (debian, upstream):
                    if buf.find(("\0".join(d + "/" for d in dirs) + "\0").encode()) >= 0:
                        return dirs, "glibc built-in, read from the loader"
            finally:
                close = getattr(buf, "close", None)
                if close is not None:
                    close()
    return debian, "glibc built-in, Debian multiarch build assumed"


def parse_ld_so_conf(tree: Tree, path: str = "/etc/ld.so.conf") -> tuple[SearchDir, ...]:
    """The directories ``ldconfig`` would read from ``path`` inside the tree, in order, without repeats.

    ``include`` lines take glob patterns (relative ones are relative to the including file's directory),
    matched in sorted order as glob(3) does; a file included twice (itself, or a cycle) is read once;
    comments (``#``) and ``hwcap`` lines are skipped; relative directories are ignored, as ldconfig
    warns and skips them. Every path means the root's file, never the host's.
    """
    dirs: list[SearchDir] = []
    seen_dirs: set[str] = set()
    visited: set[str] = set()
    globber = _Globber(tree)

    def read_file(conf: str, depth: int) -> None:
        if depth > MAX_CONF_DEPTH or len(visited) >= MAX_CONF_FILES:
            return
        found = _is_regular(tree, conf)
        if found is None or found[0] in visited:
            return
        visited.add(found[0])
        text = _read_text(tree, conf)
        if text is None:
            return
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if words[0] == "include" and len(words) > 1:
                for pattern in words[1:]:
                    if len(visited) >= MAX_CONF_FILES:
                        break  # nothing more would be read: do not even match
                    if not pattern.startswith("/"):
                        pattern = posixpath.join(posixpath.dirname(normalize(conf)), pattern)
                    for match in globber.glob(pattern):
                        read_file(match, depth + 1)
                continue
            if words[0] == "hwcap":
                continue
            d = line.split("=", 1)[0].strip()  # old "dir=libtype" syntax
            if not d.startswith("/"):
                continue
            d = normalize(d)
            if d not in seen_dirs:
                seen_dirs.add(d)
                dirs.append(SearchDir(d, f"ld.so.conf ({normalize(conf)})", SearchSource.LD_SO_CONF))

    read_file(path, 0)
    return tuple(dirs)


class _Globber:
    """glob(3) inside the tree: matches sorted, hidden names only for patterns starting with ".".
    Each pattern is expanded once and each directory listed once per parse (the tree does not change),
    and at most MAX_GLOB_NAMES names are matched in all."""

    def __init__(self, tree: Tree) -> None:
        self._tree = tree
        self._globs: dict[str, tuple[str, ...]] = {}
        self._listings: dict[str, tuple[str, ...]] = {}
        self._budget = MAX_GLOB_NAMES

    def glob(self, pattern: str) -> tuple[str, ...]:
        key = normalize(pattern)
        found = self._globs.get(key)
        if found is None:
            found = self._globs[key] = self._expand(key)
        return found

    def _listdir(self, base: str) -> tuple[str, ...]:
        names = self._listings.get(base)
        if names is None:
            found = resolve(self._tree, base)
            ok = found is not None and found[1].kind is EntryKind.DIRECTORY
            names = self._listings[base] = self._tree.listdir(found[0]) if found is not None and ok else ()
        return names

    def _expand(self, pattern: str) -> tuple[str, ...]:
        paths = ["/"]
        for part in (p for p in pattern.split("/") if p):
            nxt: list[str] = []
            magic = any(c in part for c in "*?[")
            for base in paths:
                if not magic:
                    nxt.append(posixpath.join(base, part))
                    continue
                names = self._listdir(base)
                if len(names) > self._budget:
                    return ()
                self._budget -= len(names)
                hidden = part.startswith(".")
                nxt.extend(posixpath.join(base, name) for name in fnmatch.filter(names, part)
                           if hidden or not name.startswith("."))
                if len(nxt) > MAX_CONF_FILES:
                    break
            paths = sorted(nxt)[:MAX_CONF_FILES]
        return tuple(p for p in paths if resolve(self._tree, p) is not None)


def _musl_dirs(tree: Tree, abi: Abi) -> tuple[SearchDir, ...]:
    conf = f"/etc/ld-musl-{abi.musl_arch}.path"
    text = _read_text(tree, conf)
    if text is None:
        return tuple(SearchDir(d, "musl built-in", SearchSource.DEFAULT) for d in MUSL_DEFAULT_DIRS)
    out: list[SearchDir] = []
    for item in text.replace("\n", ":").split(":"):
        item = item.strip()
        if item and normalize(item) not in {d.path for d in out}:
            out.append(SearchDir(normalize(item), f"musl path file ({conf})", SearchSource.LD_SO_CONF))
    return tuple(out)


def _apk_version(tree: Tree, package: str) -> str | None:
    """The upstream version of an installed apk package ("1.2.5" from "V:1.2.5-r0"), or None."""
    text = _read_text(tree, "/lib/apk/db/installed", limit=64 << 20)
    if text is None:
        return None
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if len(line) > 2 and line[1] == ":" and line[0] not in fields:
                fields[line[0]] = line[2:].strip()
        if fields.get("P") == package and "V" in fields:
            version = fields["V"]
            head, sep, tail = version.rpartition("-r")
            return head if sep and tail.isdigit() else version
    return None


def _glibc_version(tree: Tree, files: TreeFiles, dirs: tuple[SearchDir, ...], loaders: tuple[str, ...],
                   machine: str) -> tuple[str | None, str]:
    best: tuple[int, ...] | None = None
    where: list[str] = []
    candidates: list[str] = list(loaders[:1])
    for name in _GLIBC_LIBS:
        for d in dirs:
            path = posixpath.join(d.path, name)
            lib = files.library(path)
            if lib is not None and lib.machine == machine:
                candidates.append(path)
                break
    for path in candidates:
        lib = files.library(path)
        if lib is None:
            continue
        for v in lib.version_definitions:
            key = glibc_version_key(v)
            if key is not None and (best is None or key > best):
                best = key
        where.append(path)
    if best is not None:
        return ".".join(str(p) for p in best), "highest GLIBC_ version node of " + ", ".join(where)
    for d in dirs:
        found = resolve(tree, d.path)
        if found is None or found[1].kind is not EntryKind.DIRECTORY:
            continue
        for name in tree.listdir(found[0]):
            if name.startswith("libc-") and name.endswith(".so"):
                text = name[len("libc-"):-len(".so")]
                if all(p.isdigit() for p in text.split(".")):
                    return text, f"file name {d.path}/{name}"
    return None, "no glibc version node or libc-X.Y.so file found"


def target_from_tree(tree: Tree, name: str, *, path_env: tuple[str, ...] | None = None,
                     assume_ld_so_cache: bool = False, machine_hint: str | None = None) -> Target:
    """The target a root filesystem is, read from its files.

    ``assume_ld_so_cache`` counts ld.so.conf directories even without an /etc/ld.so.cache (for a root
    that was unpacked but not configured, such as a ``debootstrap --foreign`` first stage).
    ``machine_hint`` (an image config's architecture, as a machine name) is used only when no file in
    the tree tells the machine. Raises TargetError when neither does (no loader, shell or libc ELF file).
    """
    detected = _detect_machine(tree)
    where = tree.name
    if detected is None and machine_hint is not None:
        from linkcheck.facts.arch import docker_arch_of

        detected = (machine_hint, docker_arch_of(machine_hint), "")
    if detected is None:
        raise TargetError(f"{name}: cannot tell the architecture of this root filesystem "
                          "(no dynamic loader, /bin/sh, busybox or libc ELF file in it)")
    machine, docker_arch, evidence = detected
    how_machine = f"{where}: ELF header of {evidence}" if evidence else f"{where}: the image config"
    sources: list[Source] = [Source("machine", SourceHow.READ_FROM_ROOT, how_machine)]
    abi = abi_of(machine)
    found_loaders = _loaders(tree, abi) if abi is not None else ()
    loaders = tuple(path for path, _ in found_loaders)
    flavours = [flavour for _, flavour in found_loaders]
    sources.append(Source("loaders", SourceHow.READ_FROM_ROOT,
                          f"{where}: known interpreter paths for {machine}"))
    files = TreeFiles(tree)
    search: tuple[SearchDir, ...] = ()
    version: str | None = None
    libc = Libc.NONE
    if abi is not None and Libc.GLIBC in flavours:
        glibc_loaders = tuple(p for p, f in found_loaders if f is Libc.GLIBC)
        conf: tuple[SearchDir, ...] = ()
        if assume_ld_so_cache or _is_regular(tree, "/etc/ld.so.cache") is not None:
            conf = parse_ld_so_conf(tree)
        system, how = _loader_system_dirs(tree, glibc_loaders[0], abi)
        seen = {d.path for d in conf}
        search = conf + tuple(SearchDir(d, f"default ({how})", SearchSource.DEFAULT)
                              for d in system if d not in seen)
        version, vwhere = _glibc_version(tree, files, search, glibc_loaders, machine)
        libc = Libc.GLIBC
        if version is None and Libc.MUSL in flavours:
            libc = Libc.MUSL  # a glibc-named loader beside musl's, with no glibc behind it: gcompat
        else:
            sources.append(Source("search_dirs", SourceHow.READ_FROM_ROOT,
                                  f"{where}: /etc/ld.so.conf (only with /etc/ld.so.cache), then {how}"))
            sources.append(Source("libc_version", SourceHow.READ_FROM_ROOT, f"{where}: {vwhere}"))
    elif abi is not None and Libc.MUSL in flavours:
        libc = Libc.MUSL
    if abi is not None and libc is Libc.MUSL:
        search = _musl_dirs(tree, abi)
        sources.append(Source("search_dirs", SourceHow.READ_FROM_ROOT,
                              f"{where}: /etc/ld-musl-{abi.musl_arch}.path, else musl's built-in path"))
        version = _apk_version(tree, "musl")
        sources.append(Source("libc_version", SourceHow.READ_FROM_ROOT,
                              f"{where}: /lib/apk/db/installed" if version else f"{where}: not recorded"))
    elif abi is not None and libc is Libc.NONE and Libc.UCLIBC in flavours:
        libc = Libc.UCLIBC
        search = tuple(SearchDir(d, "default (uClibc built-in)", SearchSource.DEFAULT)
                       for d in UCLIBC_DEFAULT_DIRS)
        sources.append(Source("search_dirs", SourceHow.READ_FROM_ROOT,
                              f"{where}: uClibc built-in directories"))
    sources.append(Source("libc", SourceHow.READ_FROM_ROOT, f"{where}: the loader present"
                          if loaders else f"{where}: no dynamic loader"))
    final_path = tuple(path_env) if path_env is not None else DOCKER_DEFAULT_PATH
    how_path = "given" if path_env is not None else "Docker's default PATH"
    if len(final_path) > PATH_ENTRIES_ALL_KEPT:
        # Every #!/usr/bin/env lookup walks PATH: of a huge one, keep the entries that can hold anything.
        existing = tuple(d for d in final_path if (f := resolve(tree, d)) is not None
                         and f[1].kind is EntryKind.DIRECTORY)
        dropped = len(final_path) - len(existing)
        how_path += f"; {dropped} of its {len(final_path)} entries name no directory here"
        final_path = existing
    sources.append(Source("path_env", SourceHow.READ_FROM_ROOT if path_env is not None
                          else SourceHow.DOCUMENTED, how_path))
    from linkcheck.image.runtimes import detect_runtimes

    runtimes = detect_runtimes(tree, final_path)
    sources.extend(Source(f"runtime {r.kind.value}", SourceHow.READ_FROM_ROOT, r.source) for r in runtimes)
    sources.append(Source("runtime_files", SourceHow.READ_FROM_ROOT,
                          f"{where}: the paths in linkcheck.image.probes"))
    return Target(
        name=name,
        machine=machine,
        docker_arch=docker_arch,
        libc=libc,
        libc_version=version,
        loaders=loaders,
        search_dirs=search,
        path_env=final_path,
        files=files,
        size_bytes=None,
        description=f"root filesystem {where}",
        sources=tuple(sources),
        runtimes=runtimes,
        runtime_files=probe_tree(tree),
        hwcaps_dirs=_hwcaps_dirs(tree, machine, search) if libc is Libc.GLIBC and _at_least(version, (2, 33))
        else (),
    )


# The glibc-hwcaps subdirectory names glibc searches, highest priority first (glibc's
# sysdeps/*/dl-hwcaps-subdirs.c: x86-64 and POWER since 2.33, s390x z13-z15). Other machines have none in
# the glibc releases of the built-in images. Unsure: later s390x releases add z16.
HWCAPS_SUBDIRS = {
    "x86_64": ("x86-64-v4", "x86-64-v3", "x86-64-v2"),
    "ppc64le": ("power10", "power9"),
    "s390x": ("z15", "z14", "z13"),
}


def _hwcaps_dirs(tree: Tree, machine: str, search: tuple[SearchDir, ...]) -> tuple[str, ...]:
    """DIR/glibc-hwcaps/NAME directories that exist, for each search directory, in glibc's priority
    order (one listing per search directory: most have no glibc-hwcaps at all)."""
    names = HWCAPS_SUBDIRS.get(machine, ())
    out: list[str] = []
    for d in search if names else ():
        base = posixpath.join(d.path, "glibc-hwcaps")
        found = resolve(tree, base)
        if found is None or found[1].kind is not EntryKind.DIRECTORY:
            continue
        for name in names:
            sub = resolve(tree, posixpath.join(base, name))
            if sub is not None and sub[1].kind is EntryKind.DIRECTORY:
                out.append(posixpath.join(base, name))
    return tuple(dict.fromkeys(out))


def _at_least(version: str | None, wanted: tuple[int, ...]) -> bool:
    parts = (version or "").split(".")
    try:
        return tuple(int(p) for p in parts[:2]) >= wanted
    except ValueError:
        return False

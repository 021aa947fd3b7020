"""The union of an image's layers, applied in order as a container runtime unpacks them.

``LayerIndex.apply(members, blob)`` takes one layer's tar members (``tar_members`` reads them from any
readable tar stream) and updates an index of paths, applying the layer as containerd's ``applyNaive``
does (github.com/containerd/containerd, archive/tar.go), not as a plain ``tar x``:

* a member's parent directories are resolved *inside the root*, following symlinks of earlier layers
  (usrmerge bases: ``lib -> usr/lib``, so ``lib/x86_64-linux-gnu/libextra.so`` lands in
  ``/usr/lib/x86_64-linux-gnu``); missing parents are created; a parent that is a file, or a loop of
  links, makes the layer unappliable (the runtime's pull fails too);
* the member itself replaces whatever is at its path, except that a directory over a directory merges;
  a directory entry ``lib/`` over a symlink ``lib`` replaces the link (the runtime cleans the name first);
* whiteouts (``.wh.NAME``: NAME is deleted) and opaque markers (``.wh..wh..opq``: the directory loses its
  lower content) are resolved through the same links, and act on lower layers only (OCI image spec,
  layer.md: entries of the same layer stay);
* hard links share their target's content (the target's parents resolved the same way).

Hostile input: a member path with ``..`` is refused, as is one longer than PATH_MAX (no runtime can create
it); the member count is capped by the caller's limit.
"""

from __future__ import annotations

import enum
import posixpath
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from linkcheck.errors import ArchiveError
from linkcheck.image.tree import MAX_SYMLINKS, EntryKind, TreeEntry

if TYPE_CHECKING:
    import tarfile

# Linux's PATH_MAX, with its terminating NUL: the longest path a runtime can create in one call.
PATH_MAX = 4096
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


class MemberKind(enum.Enum):
    DIRECTORY = "directory"
    FILE = "file"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"  # device, FIFO: listed, never read


@dataclass(frozen=True, slots=True)
class Member:
    """What the index keeps of one tar member (a TarInfo weighs several times more)."""

    name: str
    kind: MemberKind
    mode: int
    size: int
    offset: int  # of the data, from the start of the tar
    linkname: str = ""
    sparse: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """One path of the image: its entry, and where a regular file's bytes are."""

    entry: TreeEntry
    blob: int  # the layer's blob number, as given to ``apply``; -1 when there is no content
    offset: int  # of the content inside the blob
    sparse: bool = False


_DIR = TreeEntry(EntryKind.DIRECTORY, 0o755, 0)


def _compact(m: tarfile.TarInfo) -> Member:
    if m.isdir():
        kind = MemberKind.DIRECTORY
    elif m.issym():
        kind = MemberKind.SYMLINK
    elif m.islnk():
        kind = MemberKind.HARDLINK
    elif m.isreg():
        kind = MemberKind.FILE
    else:
        kind = MemberKind.OTHER
    linked = kind in (MemberKind.SYMLINK, MemberKind.HARDLINK)
    return Member(m.name, kind, stat.S_IMODE(m.mode), m.size if kind is MemberKind.FILE else 0, m.offset_data,
                  m.linkname if linked else "", m.issparse())


def tar_members(stream: BinaryIO, size: int, what: str) -> Iterator[Member]:
    """The members of the tar read from ``stream`` (``size`` bytes from its start; it need not be
    seekable), one header at a time; ArchiveError starting with ``what`` when it is not a tar, is cut
    short, or a member's data runs past its end."""
    import tarfile  # here, not at the top: a cached image's members are listed already (~5 ms)

    try:
        # A seekable stream skips member data; any other ("r|": a pipe, a download) is read through.
        mode = "r:" if stream.seekable() else "r|"
        with tarfile.open(fileobj=stream, mode=mode) as tf:  # type: ignore[call-overload]
            while True:
                info = tf.next()
                if info is None:
                    return
                tf.members.clear()  # tarfile keeps every header it reads; the index keeps its own
                m = _compact(info)
                if m.kind is MemberKind.FILE and m.offset + m.size > size:
                    raise ArchiveError(f"{what} is truncated (member {m.name!r} claims {m.size} bytes, "
                                       "past the end of the tar)")
                yield m
    except tarfile.ReadError as exc:
        if "unexpected end" in str(exc) or "end of file" in str(exc):
            raise ArchiveError(f"{what} is truncated (tar data ends early)") from exc
        raise ArchiveError(f"{what} is not a readable tar ({exc or type(exc).__name__})") from exc
    except (EOFError, tarfile.TarError) as exc:
        raise ArchiveError(f"{what} is truncated or corrupt ({exc or type(exc).__name__})") from exc


def member_path(name: str, where: str) -> str:
    """The absolute path a member names; ArchiveError for ``..`` or a path longer than PATH_MAX."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{where}: member path {name[:200]!r} climbs out of the root with '..'")
    path = "/" + "/".join(parts)
    if len(path.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        raise ArchiveError(f"{where}: member path {name[:80]!r}... is longer than PATH_MAX ({PATH_MAX} "
                           "bytes): no container runtime can create it")
    return path


class LayerIndex:
    """Every path of the image so far, as layers are applied bottom to top."""

    def __init__(self, where: str, max_members: int) -> None:
        self.where = where  # the archive, for messages
        self.nodes: dict[str, Node] = {"/": Node(_DIR, -1, 0)}
        self.children: dict[str, set[str]] = {"/": set()}
        self.max_members = max_members
        self.members = 0
        self.layers = 0
        # Raw parent path -> the directory it resolves to; cleared whenever a path is removed or
        # replaced (the only changes that can alter an earlier resolution).
        self._dirs: dict[str, str] = {"/": "/"}

    def apply(self, members: Iterable[Member], blob: int) -> None:
        """Apply one layer; ``blob`` is what its FILE nodes will name as the place of their bytes."""
        self.layers += 1
        what = f"{self.where}: layer {self.layers}"
        added: set[str] = set()  # this layer's own paths: its whiteouts do not touch them
        for m in members:
            self.members += 1
            if self.members > self.max_members:
                raise ArchiveError(f"{self.where}: more than {self.max_members} tar members (limit)")
            raw = member_path(m.name, what)
            if raw == "/":
                continue  # the root's own entry ("./"): the root stays a directory
            raw_parent, base = raw.rsplit("/", 1)
            parent = self._resolve_dir(raw_parent or "/", what, create=True)
            if base == _OPAQUE:
                for name in list(self.children.get(parent, ())):
                    child = posixpath.join(parent, name)
                    if child not in added:
                        self._remove(child)
                continue
            if base.startswith(_WHITEOUT):
                gone = posixpath.join(parent, base[len(_WHITEOUT):])
                if gone not in added:
                    self._remove(gone)
                continue
            path = posixpath.join(parent, base)
            self._add(path, m, blob, what)
            added.add(path)

    # -- one member ---------------------------------------------------------------------------

    def _add(self, path: str, m: Member, blob: int, what: str) -> None:
        old = self.nodes.get(path)
        if m.kind is MemberKind.DIRECTORY:
            if old is not None and old.entry.kind is EntryKind.DIRECTORY:
                self.nodes[path] = Node(TreeEntry(EntryKind.DIRECTORY, m.mode, 0), -1, 0)  # merged
                return
            node = Node(TreeEntry(EntryKind.DIRECTORY, m.mode, 0), -1, 0)
        elif m.kind is MemberKind.HARDLINK:
            node = self._hardlink(path, m, what)
        elif m.kind is MemberKind.SYMLINK:
            node = Node(TreeEntry(EntryKind.SYMLINK, 0o777, len(m.linkname), m.linkname), -1, 0)
        elif m.kind is MemberKind.FILE:
            node = Node(TreeEntry(EntryKind.FILE, m.mode, m.size), blob, m.offset, m.sparse)
        else:
            node = Node(TreeEntry(EntryKind.OTHER, m.mode, 0), -1, 0)
        if old is not None:
            self._remove(path)
        self.nodes[path] = node
        self.children[posixpath.dirname(path)].add(posixpath.basename(path))
        if m.kind is MemberKind.DIRECTORY:
            self.children[path] = set()

    def _hardlink(self, path: str, m: Member, what: str) -> Node:
        raw = member_path(m.linkname, what)
        raw_parent, base = raw.rsplit("/", 1)
        target = None
        if raw != "/":
            parent = self._resolve_dir(raw_parent or "/", what, create=False)
            target = posixpath.join(parent, base) if parent else None
        src = self.nodes.get(target) if target else None
        if src is None or src.entry.kind not in (EntryKind.FILE, EntryKind.SYMLINK):
            raise ArchiveError(f"{what}: hard link {path} points to {m.linkname}, which is not a file "
                               "before it")
        if src.entry.kind is EntryKind.SYMLINK:
            return src  # a link to the symlink itself, as link(2) makes
        return Node(TreeEntry(EntryKind.FILE, m.mode, src.entry.size), src.blob, src.offset, src.sparse)

    # -- paths --------------------------------------------------------------------------------

    def _resolve_dir(self, raw: str, what: str, *, create: bool) -> str:
        """The directory ``raw`` names inside the root, following symlinks (an absolute target starts
        again at the root, ``..`` stops at it). With ``create``, missing directories are made, as the
        runtime's mkdir of parents does; without, "" when one is missing."""
        cached = self._dirs.get(raw)
        if cached is not None:
            return cached
        # The longest prefix already resolved, then the rest one component at a time.
        prefix, rest = raw, []
        while prefix not in self._dirs:
            prefix, name = prefix.rsplit("/", 1)
            rest.append(name)
            prefix = prefix or "/"
        current = self._dirs[prefix]
        pending = rest  # a stack: the next component is at the end
        links = 0
        done = prefix
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, part)
            node = self.nodes.get(candidate)
            if node is None:
                if not create:
                    return ""
                self.nodes[candidate] = Node(_DIR, -1, 0)
                self.children[candidate] = set()
                self.children[current].add(part)
            elif node.entry.kind is EntryKind.SYMLINK:
                links += 1
                if links > MAX_SYMLINKS:
                    raise ArchiveError(f"{what}: {raw} has too many levels of symbolic links")
                link = node.entry.link or ""
                if link.startswith("/"):
                    current = "/"
                pending.extend(reversed([p for p in link.split("/") if p]))
                done = ""  # the raw prefixes from here on do not map one-to-one onto components
                continue
            elif node.entry.kind is not EntryKind.DIRECTORY:
                raise ArchiveError(f"{what}: {raw} passes through {candidate}, which is not a directory "
                                   "(a container runtime cannot unpack this layer)")
            current = candidate
            if done and not links:
                done = posixpath.join(done, part)
                self._dirs[done] = current
        if create:
            self._dirs[raw] = current
        return current

    def _remove(self, path: str) -> None:
        if path == "/" or path not in self.nodes:
            return
        self._dirs = {"/": "/"}
        stack = [path]
        while stack:
            p = stack.pop()
            self.nodes.pop(p, None)
            for name in self.children.pop(p, ()):
                stack.append(posixpath.join(p, name))
        siblings = self.children.get(posixpath.dirname(path))
        if siblings is not None:
            siblings.discard(posixpath.basename(path))

"""A read-only view of a root filesystem, and symlink resolution confined to it.

A target directory, an unpacked image or the layers of an image archive are all a ``Tree``: paths are
absolute *inside* the tree ("/lib/libc.so.6"), and every symlink is resolved inside it, as the kernel does
after ``chroot``: an absolute link target starts again at the tree's root, ``..`` at the root stays
at the root.
Nothing outside the root is ever read, nothing blocks (FIFOs are not opened), nothing is written.
"""

from __future__ import annotations

import enum
import errno
import mmap
import os
import stat
from dataclasses import dataclass
from typing import Protocol

from linkcheck.errors import InputError

# The kernel gives up after 40 symlinks in one lookup (ELOOP); so do we.
MAX_SYMLINKS = 40
# A library or program larger than this is not read (a hostile image could hold a sparse 1 TB "libc").
MAX_FILE_BYTES = 1 << 30


class EntryKind(str, enum.Enum):
    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"  # FIFO, socket, device: never opened


@dataclass(frozen=True, slots=True)
class TreeEntry:
    kind: EntryKind
    mode: int  # permission bits (0o755 ...)
    size: int
    link: str | None = None  # the symlink's target, as written


Buffer = bytes | mmap.mmap


class Tree(Protocol):
    """Read-only access to a root filesystem. Paths are normalised absolute paths inside the tree whose
    directory components are real directories (callers resolve symlinks with ``resolve`` first)."""

    @property
    def name(self) -> str: ...

    def lstat(self, path: str) -> TreeEntry | None:
        """The entry at ``path`` itself (a symlink is not followed), or None when there is none."""
        ...

    def listdir(self, path: str) -> tuple[str, ...]:
        """Names in the directory ``path`` (sorted); () when it is not a readable directory."""
        ...

    def read(self, path: str) -> Buffer:
        """The content of the regular file ``path``. Raises OSError when it cannot be read."""
        ...


def normalize(path: str) -> str:
    """An absolute, lexically normalised path; ``..`` cannot climb above "/"."""
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return "/" + "/".join(parts)


def resolve(tree: Tree, path: str) -> tuple[str, TreeEntry] | None:
    """Follow every symlink in ``path`` inside ``tree``: the final path and its entry, or None when a
    component is missing, is not a directory, or the links loop (more than MAX_SYMLINKS)."""
    pending = [p for p in path.split("/") if p not in ("", ".")]
    pending.reverse()  # a stack: the next component is at the end
    current: list[str] = []
    links = 0
    while pending:
        part = pending.pop()
        if part == "..":
            if current:
                current.pop()
            continue
        if part == ".":
            continue
        candidate = "/" + "/".join([*current, part])
        entry = tree.lstat(candidate)
        if entry is None:
            return None
        if entry.kind is EntryKind.SYMLINK:
            links += 1
            if links > MAX_SYMLINKS or entry.link is None:
                return None
            target_parts = [p for p in entry.link.split("/") if p not in ("", ".")]
            if entry.link.startswith("/"):
                current = []  # absolute targets are re-rooted at the tree's root
            pending.extend(reversed(target_parts))
            continue
        if pending and entry.kind is not EntryKind.DIRECTORY:
            # "file/more" — only ".." could still rescue it, and the kernel refuses that too (ENOTDIR).
            return None
        current.append(part)
    final = "/" + "/".join(current)
    # Re-read the final entry: the loop may have ended on ".." with another component's entry in hand.
    entry = tree.lstat(final) if current else (tree.lstat("/") or TreeEntry(EntryKind.DIRECTORY, 0o755, 0))
    if entry is None:
        return None
    return final, entry


class DirectoryTree:
    """A root filesystem unpacked in a host directory.

    Only paths whose directory components ``resolve`` has already checked are passed to ``lstat`` and
    ``read``, so the host never follows a symlink planted in the root; the final open uses O_NOFOLLOW and
    O_NONBLOCK and refuses anything but a regular file.

    A path the host refuses to show (permission denied: an unreadable ``/lib64``, a libc with mode 0600,
    for a user who is not root) raises InputError naming it: what is there cannot be told, and guessing
    "nothing" would turn into a wrong verdict.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = os.path.abspath(os.fspath(root))

    @property
    def name(self) -> str:
        return self._root

    @property
    def root(self) -> str:
        return self._root

    def host_path(self, path: str) -> str:
        return self._root + normalize(path) if normalize(path) != "/" else self._root

    def _denied(self, path: str) -> InputError:
        return InputError(f"{self.host_path(path)}: permission denied (cannot tell what is there)")

    def lstat(self, path: str) -> TreeEntry | None:
        try:
            st = os.lstat(self.host_path(path))
        except PermissionError:
            raise self._denied(path) from None
        except OSError:
            return None
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            try:
                link = os.readlink(self.host_path(path))
            except OSError:
                return None
            return TreeEntry(EntryKind.SYMLINK, mode, st.st_size, link)
        if stat.S_ISDIR(st.st_mode):
            return TreeEntry(EntryKind.DIRECTORY, mode, 0)
        if stat.S_ISREG(st.st_mode):
            return TreeEntry(EntryKind.FILE, mode, st.st_size)
        return TreeEntry(EntryKind.OTHER, mode, 0)

    def listdir(self, path: str) -> tuple[str, ...]:
        try:
            return tuple(sorted(os.listdir(self.host_path(path))))
        except PermissionError:
            raise self._denied(path) from None
        except OSError:
            return ()

    def read(self, path: str) -> Buffer:
        try:
            fd = os.open(self.host_path(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError:
            raise self._denied(path) from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            if st.st_size > MAX_FILE_BYTES:
                raise OSError(errno.EFBIG, "file too large to inspect", path)
            if st.st_size == 0:
                return b""
            return mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)


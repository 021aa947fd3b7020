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

from linkcheck.errors import UnreadableError

# The kernel gives up after 40 symlinks in one lookup (ELOOP); so do we.
MAX_SYMLINKS = 40
# A library or program larger than this is not read (a hostile image could hold a sparse 1 TB "libc").
MAX_FILE_BYTES = 1 << 30
_COPY_CHUNK = 1 << 20  # bytes per pread/pwrite where copy_file_range does not work
# A file up to this size is read into memory; a larger one is copied (holes stay holes) and the copy mapped.
READ_WHOLE_BYTES = 8 << 20


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
    if path[:1] == "/" and "//" not in path and "/." not in path and (path[-1] != "/" or path == "/"):
        return path  # normal already (most paths asked: a search asks thousands), told at C speed
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


def private_map(fd: int, pos: int, length: int) -> mmap.mmap:
    """``length`` bytes of ``fd`` from ``pos``, copied kernel-side into a nameless file of this process and
    mapped read-only. Nobody else can shrink that file, so touching the mapping cannot fault (SIGBUS), as it
    could on a file another process truncates while it is read."""
    import tempfile  # here, not at the top: most runs never copy (~5 ms of imports)

    with tempfile.TemporaryFile(prefix="linkcheck-copy-") as copy:
        copy_range(fd, copy.fileno(), pos, length)
        return mmap.mmap(copy.fileno(), length, access=mmap.ACCESS_READ)


def stable_read(fd: int, size: int) -> Buffer:
    """The ``size`` bytes of the regular file open at ``fd``, in a buffer that stays readable whatever
    happens to the file: read into memory up to READ_WHOLE_BYTES, above it a private copy, mapped."""
    if size > READ_WHOLE_BYTES:
        return private_map(fd, 0, size)
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = os.pread(fd, min(size - got, 1 << 24), got)
        if not chunk:
            break  # it shrank before it was read: what it holds now is what is read
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def copy_range(src: int, dst: int, pos: int, length: int) -> None:
    """``length`` bytes of ``src`` from ``pos`` into the empty file ``dst``: data extents only (a hole
    stays a hole: a sparse 1 GB member costs no disk), in the kernel when it can."""
    end = pos + length
    at = pos
    while at < end:
        try:
            data = os.lseek(src, at, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                break  # nothing but a hole up to the end of the file
            data = at  # no SEEK_DATA here: copy everything
        if data >= end:
            break
        try:
            hole = min(end, os.lseek(src, data, os.SEEK_HOLE))
        except OSError:
            hole = end
        _copy_extent(src, dst, data, data - pos, hole - data)
        at = hole
    os.ftruncate(dst, length)


def _copy_extent(src: int, dst: int, pos: int, to: int, length: int) -> None:
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(src, dst, length - done, pos + done, to + done)
            if n == 0:
                raise OSError(errno.EIO, "file shorter than expected (changed while read)")
            done += n
        return
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
            raise
    while done < length:
        chunk = os.pread(src, min(_COPY_CHUNK, length - done), pos + done)
        if not chunk:
            raise OSError(errno.EIO, "file shorter than expected (changed while read)")
        os.pwrite(dst, chunk, to + done)
        done += len(chunk)


class DirectoryTree:
    """A root filesystem unpacked in a host directory.

    Only paths whose directory components ``resolve`` has already checked are passed to ``lstat`` and
    ``read``, so the host never follows a symlink planted in the root; the final open uses O_NOFOLLOW and
    O_NONBLOCK and refuses anything but a regular file.

    A path the host refuses to show (permission denied: an unreadable ``/lib64``, a libc with mode 0600,
    for a user who is not root) raises UnreadableError naming it: what is there cannot be told, and guessing
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

    def _denied(self, path: str) -> UnreadableError:
        return UnreadableError(self.host_path(path), "permission denied")

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
            return stable_read(fd, st.st_size)  # a mapping of the file itself could fault if it shrank
        finally:
            os.close(fd)


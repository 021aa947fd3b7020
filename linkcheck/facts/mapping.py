"""A file's bytes that stay readable while they are parsed, even if another process truncates the file.

Touching a page of a mapping past the end of a file that shrank since it was mapped raises ``SIGBUS``,
which kills a Python process (exit 135) and cannot be caught. So a file is mapped only under a read lease
(``fcntl(F_SETLEASE, F_RDLCK)``, fcntl(2)): while it is held, the kernel makes anyone opening the file
for writing or truncating it wait (or fail with EWOULDBLOCK when non-blocking) until the lease is
released, right after parsing. The lease-break notice goes to SIGURG, whose default action is to ignore
it (the default, SIGIO, would terminate this process).

A lease needs the caller to own the file or hold CAP_LEASE, nobody else to have it open for writing, and a
filesystem that supports leases. Without one, a file up to ``READ_WHOLE_LIMIT`` is read into memory
instead (a copy cannot shrink); a larger one is refused when it is open for writing elsewhere (it is
being written: a truncation could come at any moment), and mapped otherwise (the remaining risk:
another user shrinking a file over 64 MiB that this user does not own, at the moment it is read).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import mmap
import os
import signal
from collections.abc import Iterator

from linkcheck.errors import InputError

READ_WHOLE_LIMIT = 64 << 20


@contextlib.contextmanager
def stable_bytes(fd: int, size: int, name: str) -> Iterator[bytes | mmap.mmap]:
    """The bytes of the regular file open read-only at ``fd`` (``size`` bytes per fstat), valid until
    the block ends. Raises InputError when the file cannot be read safely."""
    refused = _lease(fd)
    try:
        if refused is None or size > READ_WHOLE_LIMIT:
            if refused == errno.EAGAIN:
                raise InputError(f"{name}: cannot read (the file is open for writing: it is being written)")
            try:
                mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise InputError(f"{name}: cannot map the file ({exc})") from None
            try:
                yield mm
            finally:
                mm.close()
        else:
            yield _read_whole(fd, size)
    finally:
        if refused is None:
            with contextlib.suppress(OSError):
                fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _lease(fd: int) -> int | None:
    """Take a read lease on ``fd``: None when held, else the errno that refused it."""
    try:
        fcntl.fcntl(fd, fcntl.F_SETSIG, signal.SIGURG)
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return exc.errno or errno.EINVAL
    return None


def _read_whole(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = os.pread(fd, min(size - got, 1 << 24), got)
        if not chunk:
            break  # it shrank before the copy: the copy is what the file now holds
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)

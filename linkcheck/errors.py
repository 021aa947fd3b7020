"""One exception hierarchy for everything linkcheck refuses, and the exit statuses, defined once.

Every message is a single line that names the path and what is wrong with it, fit to print
after ``linkcheck: `` on stderr.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """What the ``linkcheck`` command's exit status means (documented in README)."""

    OK = 0  # analysed; predicted to run on every target named (or no target named)
    WONT_RUN = 1  # predicted not to run on at least one target, or a gate (--static ...) failed
    ERROR = 2  # usage error, or an input that could not be read


class LinkcheckError(Exception):
    """Base of every error linkcheck raises on purpose. ``str(err)`` is one line."""

    exit_status: ExitStatus = ExitStatus.ERROR

    def __init__(self, message: str) -> None:
        # Keep messages to one line whatever the input held (hostile names can carry newlines).
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class InputError(LinkcheckError):
    """The input path cannot be read as a file: missing, unreadable, a loop, a FIFO ..."""


class NotFoundError(InputError):
    """The path does not exist."""


class UnreadableError(InputError):
    """A file or directory inside a root (a target's library, its ``/lib64``) is there but cannot be read:
    permission denied, an I/O error. What it holds cannot be told; a check that needs it says so."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason} (cannot tell what is there)")
        self.path = path  # as the host (or the image) names it
        self.reason = reason  # "permission denied", "input/output error" ...


class FormatError(LinkcheckError):
    """The file's bytes do not form what they claim to be (a truncated or malformed ELF, a bad jar)."""


class MalformedElfError(FormatError):
    """An ELF whose headers, tables or offsets are out of bounds or inconsistent."""


class ArchiveError(FormatError):
    """An image archive, OCI layout or wheel that cannot be read safely."""


class TargetError(LinkcheckError):
    """An unknown target name, or a target directory/profile that cannot be used."""


class UsageError(LinkcheckError):
    """The command was called wrongly (bad option combination, bad value)."""


class RegistryError(TargetError):
    """An image named by reference could not be had from its registry (or, with --offline, the cache)."""


class ImageNotFoundError(RegistryError):
    """The registry has no such repository, tag or digest."""


class UnauthorizedError(RegistryError):
    """The registry refused the credentials (or their absence)."""


class PlatformNotFoundError(ArchiveError):
    """An image index (an archive's, a layout's or a registry's) has no image for the platform asked."""


class RegistryUnreachableError(RegistryError):
    """The registry could not be reached or answered with something that is not the distribution API."""


class DigestMismatchError(RegistryError):
    """Bytes read from a registry do not match the digest that names them: refused."""


class NotCachedError(RegistryError):
    """With --offline, the image (or one of its parts) is not in the cache."""

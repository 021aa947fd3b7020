"""Image references as ``docker pull`` and skopeo write them: ``[HOST[:PORT]/]PATH[:TAG][@DIGEST]``.

The grammar is the distribution project's (``reference/regexp.go``): the first component names a
registry host when it holds a "." or a ":" or is ``localhost``; otherwise the image is on Docker Hub
(``docker.io``), where a one-component name is an official image under ``library/``. Without a tag or
digest the tag is ``latest``. skopeo's transport prefix ``docker://`` says "from the registry" even for
a name linkcheck has built-in data for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TextIO

from linkcheck.errors import TargetError

# skopeo's (and containers/image's) name for the registry transport.
REGISTRY_PREFIX = "docker://"
DOCKER_HUB = "docker.io"
# Docker Hub's images are pulled from the host this variable names (its registry, or a mirror of it):
# linkcheck has no registry host built in.
DOCKER_HUB_ENV = "LINKCHECK_DOCKER_HUB"

# Patterns, compiled (and cached by ``re``) when a reference is first parsed: a command naming a built-in
# image never parses one.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_HOST = rf"(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})"


def is_digest(text: str) -> bool:
    """A content digest as references and the cache write it: "sha256:" and 64 hex digits (or sha512)."""
    return re.fullmatch(_DIGEST, text) is not None


@dataclass(frozen=True, slots=True)
class ImageReference:
    """One image in one registry: ``host`` ("ghcr.io", "localhost:5000"), ``repository`` ("library/alpine"),
    and a ``tag`` or a ``digest`` (both when written both: the digest decides, as in ``docker pull``)."""

    host: str
    repository: str
    tag: str | None
    digest: str | None

    def __str__(self) -> str:
        out = f"{self.host}/{self.repository}"
        if self.tag is not None:
            out += f":{self.tag}"
        if self.digest is not None:
            out += f"@{self.digest}"
        return out

    @property
    def is_docker_hub(self) -> bool:
        return self.host == DOCKER_HUB

    @property
    def hostname(self) -> str:
        """The host without its port (IPv6 literals without brackets)."""
        host = self.host
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def is_loopback(self) -> bool:
        """Whether the registry is on this machine (plain HTTP is allowed there, as Docker allows it)."""
        name = self.hostname
        if name == "localhost":
            return True
        import ipaddress  # here: only a registry's host is ever looked at

        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False


def has_registry_prefix(text: str) -> bool:
    return text.startswith(REGISTRY_PREFIX)


def looks_like_registry_host(component: str) -> bool:
    """Docker's rule for the first component of a name: a registry host when it has a "." or a ":" or
    is "localhost" (so "alpine/git" is Docker Hub's "alpine/git", "ghcr.io/x" is on ghcr.io)."""
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def parse_reference(text: str) -> ImageReference:
    """Parse an image reference (with or without ``docker://``). Raises TargetError naming what is wrong."""
    raw = text[len(REGISTRY_PREFIX) :] if has_registry_prefix(text) else text
    rest = raw.strip()
    if not rest:
        raise TargetError(f"{text!r}: not an image reference (empty)")
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not is_digest(digest):
            raise TargetError(f"{text!r}: not an image reference (bad digest {digest!r}; "
                              "expected sha256: and 64 hex digits)")
    host = DOCKER_HUB
    first, sep, remainder = rest.partition("/")
    if sep and looks_like_registry_host(first):
        if not re.fullmatch(_HOST, first):
            raise TargetError(f"{text!r}: not an image reference (bad registry host {first!r})")
        host, rest = first, remainder
    tag = None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        rest, tag = rest[:colon], rest[colon + 1 :]
        if not re.fullmatch(_TAG, tag):
            raise TargetError(f"{text!r}: not an image reference (bad tag {tag!r})")
    components = rest.split("/")
    for component in components:
        if not re.fullmatch(_COMPONENT, component):
            raise TargetError(f"{text!r}: not an image reference (bad name component {component!r}; "
                              "names are lower case letters, digits and . _ -)")
    if host == DOCKER_HUB and len(components) == 1:
        components.insert(0, "library")
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(host, "/".join(components), tag, digest)


@dataclass(frozen=True, slots=True)
class RegistryOptions:
    """How to reach registries: ``offline`` uses the cache only; ``insecure`` hosts ("HOST[:PORT]")
    may be spoken to in plain HTTP; ``cache_dir`` overrides the XDG cache directory; ``docker_config``
    the Docker config file; ``progress`` the stream the download progress is drawn on (None: stderr
    when it is a terminal)."""

    offline: bool = False
    insecure: tuple[str, ...] = ()
    cache_dir: str | None = None
    docker_config: str | None = None
    progress: TextIO | None = None

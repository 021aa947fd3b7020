"""The cache of images pulled from registries, by digest, under the user's cache directory.

Location: ``$XDG_CACHE_HOME/linkcheck/registry``, else ``~/.cache/linkcheck/registry`` (the XDG base
directory rule). Layout::

    blobs/sha256/HEX        manifests, indexes and configs, byte for byte as the registry sent them
    layers/sha256/HEX.tar   the reduced layer of the compressed layer HEX: every entry of the layer, with
                            the content of only the files a verdict reads (``linkcheck.image.layerkeep``);
                            the rest is holes (a sparse file), so it costs no disk
    layers/sha256/HEX.members.json
                            that tar's members as ``linkcheck.image.layers.tar_members`` lists them, so a
                            cached check applies them without reading a tar header
    tags/HOST/REPO/TAG      the manifest digest TAG named when it was pulled

Everything is content-addressed but the tags: a digest's bytes never change, so a cached entry is used
without asking the registry. Writes go to a temporary file in the same directory and are renamed into
place, so concurrent runs and interrupted pulls never leave a partial entry under a real name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import BinaryIO

from linkcheck.errors import TargetError
from linkcheck.image.layers import Member, MemberKind
from linkcheck.image.reference import ImageReference, is_digest

_MEMBERS_FORMAT = "linkcheck-layer-members/1"


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(base):  # the XDG rule: a relative value is ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "linkcheck", "registry")


class RegistryCache:
    def __init__(self, root: str | None = None) -> None:
        self.root = root if root is not None else default_cache_dir()

    # -- paths ---------------------------------------------------------------------------------

    def _digest_parts(self, digest: str) -> tuple[str, str]:
        if not is_digest(digest):
            raise TargetError(f"malformed digest {digest!r}")
        alg, hexdigest = digest.split(":", 1)
        return alg, hexdigest

    def blob_path(self, digest: str) -> str:
        alg, hexdigest = self._digest_parts(digest)
        return os.path.join(self.root, "blobs", alg, hexdigest)

    def layer_path(self, digest: str) -> str:
        alg, hexdigest = self._digest_parts(digest)
        return os.path.join(self.root, "layers", alg, hexdigest + ".tar")

    def members_path(self, digest: str) -> str:
        return self.layer_path(digest)[: -len(".tar")] + ".members.json"

    def _tag_path(self, ref: ImageReference) -> str:
        assert ref.tag is not None
        host = ref.host.replace(":", "_").replace("[", "").replace("]", "")
        return os.path.join(self.root, "tags", host, *ref.repository.split("/"), ref.tag)

    # -- reads ---------------------------------------------------------------------------------

    def blob(self, digest: str) -> bytes | None:
        try:
            with open(self.blob_path(digest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def layer(self, digest: str) -> str | None:
        path = self.layer_path(digest)
        return path if os.path.isfile(path) else None

    def members(self, digest: str) -> list[Member] | None:
        """The member list kept beside the layer ``digest``; None when it is absent, malformed or not
        for the tar there now (then the tar is read instead)."""
        layer = self.layer(digest)
        try:
            with open(self.members_path(digest), encoding="utf-8") as f:
                doc = json.load(f)
            if layer is None or doc.get("format") != _MEMBERS_FORMAT or doc.get("size") != os.path.getsize(
                    layer):
                return None
            return [Member(str(name), MemberKind(kind), int(mode), int(size), int(offset), str(link),
                           bool(sparse)) for name, kind, mode, size, offset, link, sparse in doc["members"]]
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None

    def put_members(self, digest: str, members: list[Member]) -> None:
        layer = self.layer(digest)
        if layer is None:
            return
        doc = {"format": _MEMBERS_FORMAT, "size": os.path.getsize(layer),
               "members": [[m.name, m.kind.value, m.mode, m.size, m.offset, m.linkname, m.sparse]
                           for m in members]}
        with self._writing(self.members_path(digest)) as f:
            f.write(json.dumps(doc).encode("ascii"))  # names that are not UTF-8 stay \udcXX escapes

    def tag(self, ref: ImageReference) -> str | None:
        try:
            with open(self._tag_path(ref), encoding="ascii") as f:
                digest = f.read().strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return None
        return digest if is_digest(digest) else None

    # -- writes --------------------------------------------------------------------------------

    def put_blob(self, digest: str, data: bytes) -> None:
        with self._writing(self.blob_path(digest)) as f:
            f.write(data)

    def put_tag(self, ref: ImageReference, digest: str) -> None:
        with self._writing(self._tag_path(ref)) as f:
            f.write(digest.encode("ascii"))

    @contextmanager
    def writing_layer(self, digest: str) -> Iterator[BinaryIO]:
        """A file to write the reduced layer into; it becomes the cached layer only if the block ends
        without an exception (the caller verifies the digest inside it)."""
        with self._writing(self.layer_path(digest)) as f:
            yield f

    @contextmanager
    def _writing(self, path: str) -> Iterator[BinaryIO]:
        import tempfile  # here, not at the top: a cached check writes nothing (~5 ms)

        directory = os.path.dirname(path)
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".partial-")
        except OSError as e:
            raise TargetError(f"cache {self.root}: cannot write: {e.strerror or e}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                yield f
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise

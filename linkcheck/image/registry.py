"""Images pulled from a registry by reference, as the OCI distribution API serves them.

``pull_image(ref, options)`` resolves the reference to a manifest (choosing the platform from an image
index or Docker manifest list with the archive reader's ``linkcheck.image.manifest``), fetches the
config, and streams each layer once through
``linkcheck.image.layerkeep``, which keeps only what a verdict reads; all of it is cached by digest
(``linkcheck.image.cache``), so the next check of the same image does no network I/O. Every byte read
is checked against the digest that names it; a mismatch is refused.

The HTTP client, auth and credentials are ``linkcheck.image.distribution``'s; it is imported only
when the network is used.

Docker Hub: its references (``docker.io/...`` and short names) are pulled from the host named by the
``LINKCHECK_DOCKER_HUB`` environment variable (Docker Hub's registry host, or a pull-through mirror of
it, as Docker's ``registry-mirrors``); linkcheck has no registry host built in.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from linkcheck.errors import (
    DigestMismatchError,
    NotCachedError,
    RegistryError,
    RegistryUnreachableError,
)
from linkcheck.image.archive import ImageBuilder, ImageTree
from linkcheck.image.cache import RegistryCache
from linkcheck.image.inflate import CHUNK, DEFAULT_LIMITS, Budget, parse_digest
from linkcheck.image.layers import tar_members
from linkcheck.image.manifest import ImageConfig, PlatformChoice, parse_json, read_manifest
from linkcheck.image.reference import DOCKER_HUB_ENV, ImageReference, RegistryOptions

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_SCHEMA1_TYPES = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
if TYPE_CHECKING:
    from linkcheck.image.distribution import RegistryClient


@dataclass(frozen=True, slots=True)
class PulledImage:
    """An image resolved to its manifest digest, with the config and the reduced layers on disk."""

    reference: ImageReference
    manifest_digest: str
    config: ImageConfig
    layer_digests: tuple[str, ...]
    layer_paths: tuple[str, ...]
    from_cache: bool  # True when nothing was asked of the registry


# ---------------------------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------------------------


class _Progress:
    """One line on a terminal, redrawn at most ten times a second: ``pulling REF: 3.2/5.0 MB``."""

    def __init__(self, stream: TextIO | None, what: str, total: int) -> None:
        self._stream = stream
        self._what = what
        self._total = total
        self._done = 0
        self._drawn = 0.0

    def add(self, n: int) -> None:
        self._done += n
        now = time.monotonic()
        if self._stream is not None and now - self._drawn >= 0.1:
            self._drawn = now
            self._stream.write(f"\rpulling {self._what}: {self._done / 1e6:.1f}/{self._total / 1e6:.1f} MB")
            self._stream.flush()

    def finish(self) -> None:
        if self._stream is not None and self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()


def _progress_stream(options: RegistryOptions) -> TextIO | None:
    if options.progress is not None:
        return options.progress
    try:
        return sys.stderr if sys.stderr.isatty() else None
    except (AttributeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Pulling
# ---------------------------------------------------------------------------------------------


def _endpoint(ref: ImageReference, options: RegistryOptions) -> tuple[str, str]:
    host = ref.host
    if ref.is_docker_hub:
        host = os.environ.get(DOCKER_HUB_ENV, "").strip()
        if not host:
            raise RegistryUnreachableError(
                f"{ref}: Docker Hub images are pulled from the registry host in {DOCKER_HUB_ENV} (Docker "
                "Hub's registry or a mirror of it), which is not set")
    name = ImageReference(host, "x", None, None)
    plain = name.is_loopback or host in options.insecure or name.hostname in options.insecure
    return host, "http" if plain else "https"


def pull_image(ref: ImageReference, platform: str | None, options: RegistryOptions) -> PulledImage:
    """The image ``ref`` names, for ``platform`` (default: this machine's), from the cache when it has
    it, else from the registry (unless ``options.offline``). Raises a RegistryError subclass (one line)."""
    cache = RegistryCache(options.cache_dir)
    puller = _Puller(ref, platform, options, cache)
    try:
        return puller.pull()
    finally:
        puller.close()


class _Puller:
    def __init__(self, ref: ImageReference, platform: str | None, options: RegistryOptions,
                 cache: RegistryCache) -> None:
        self.ref = ref
        self.platform = platform
        self.options = options
        self.cache = cache
        self.client: RegistryClient | None = None
        self.budget = Budget(DEFAULT_LIMITS)  # decompression allowance, shared by the image's layers
        self.network = False

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _client(self) -> RegistryClient:
        if self.options.offline:
            raise NotCachedError(f"{self.ref}: not in the cache ({self.cache.root}) and --offline was given")
        if self.client is None:
            from linkcheck.image.distribution import RegistryClient, docker_config_path, load_auth

            endpoint, scheme = _endpoint(self.ref, self.options)
            auth = load_auth(self.ref, docker_config_path(self.options.docker_config))
            self.client = RegistryClient(self.ref, endpoint, scheme, self.options, auth)
        self.network = True
        return self.client

    def pull(self) -> PulledImage:
        ref = self.ref
        where = str(ref)
        if ref.digest is not None:
            top_digest = ref.digest
            top = self._manifest_bytes(top_digest)
        else:
            cached = self.cache.tag(ref)
            top_digest = cached if cached is not None and self.cache.blob(cached) is not None else ""
            top = self._manifest_bytes(top_digest) if top_digest else self._resolve_tag()
            top_digest = top_digest or "sha256:" + hashlib.sha256(top).hexdigest()
        chosen = top_digest

        def fetch(digest: str) -> bytes:  # a manifest an index points to: the platform's
            nonlocal chosen
            chosen = digest
            return self._manifest_bytes(digest)

        choice = PlatformChoice.parse(self.platform)
        manifest = read_manifest(self._document(top, where), fetch, choice, where)
        config_digest = manifest.config.digest
        config = parse_json(self._blob_bytes(config_digest), f"{where}: config", config_digest)
        paths = self._layers([(d.digest, d.size or 0) for d in manifest.layers])
        digests = tuple(d.digest for d in manifest.layers)
        return PulledImage(ref, chosen, ImageConfig.from_json(config), digests, paths,
                           from_cache=not self.network)

    # -- manifests -----------------------------------------------------------------------------

    def _document(self, data: bytes, where: str) -> object:
        doc = parse_json(data, f"{where}: manifest")
        if isinstance(doc, dict) and (doc.get("schemaVersion") == 1
                                      or doc.get("mediaType") in _SCHEMA1_TYPES):
            raise _schema1(where)
        return doc

    def _resolve_tag(self) -> bytes:
        path = f"/v2/{self.ref.repository}/manifests/{self.ref.tag}"
        data, content_type, said = self._client().fetch(path, ", ".join(MANIFEST_TYPES))
        if content_type.split(";")[0].strip() in _SCHEMA1_TYPES:
            raise _schema1(str(self.ref))
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if said and said.startswith("sha256:") and said != digest:
            raise DigestMismatchError(f"{self.ref}: the manifest received does not match the digest the "
                                      f"registry names ({said}; refused)")
        self.cache.put_blob(digest, data)
        self.cache.put_tag(self.ref, digest)
        return data

    def _manifest_bytes(self, digest: str) -> bytes:
        data = self.cache.blob(digest)
        if data is None:
            path = f"/v2/{self.ref.repository}/manifests/{digest}"
            data, _type, _said = self._client().fetch(path, ", ".join(MANIFEST_TYPES))
            _verify(data, digest, f"{self.ref}: manifest")
            self.cache.put_blob(digest, data)
        return data

    # -- blobs ---------------------------------------------------------------------------------

    def _blob_bytes(self, digest: str) -> bytes:
        data = self.cache.blob(digest)
        if data is not None:
            return data
        data, _type, _said = self._client().fetch(f"/v2/{self.ref.repository}/blobs/{digest}")
        _verify(data, digest, f"{self.ref}: config")
        self.cache.put_blob(digest, data)
        return data

    def _layers(self, descriptors: list[tuple[str, int]]) -> tuple[str, ...]:
        paths: list[str | None] = [self.cache.layer(d) for d, _ in descriptors]
        missing = [(i, d, size) for i, ((d, size), p) in enumerate(zip(descriptors, paths, strict=True))
                   if p is None]
        if missing:
            progress = _Progress(_progress_stream(self.options), str(self.ref), sum(s for _, _, s in missing))
            try:
                for i, digest, _size in missing:
                    paths[i] = self._fetch_layer(digest, i + 1, progress)
            finally:
                progress.finish()
        return tuple(p for p in paths if p is not None)

    def _fetch_layer(self, digest: str, number: int, progress: _Progress) -> str:
        from linkcheck.image.layerkeep import Inflater, reduce_layer  # only when a layer is downloaded

        what = f"{self.ref}: layer {number} ({digest[:19]})"
        source = self._client().stream(f"/v2/{self.ref.repository}/blobs/{digest}", what)
        inflater = Inflater(source, digest, what, self.budget, on_bytes=progress.add)
        with self.cache.writing_layer(digest) as out:
            reduce_layer(io.BufferedReader(inflater, CHUNK), out, what, self.budget.limits)
            inflater.verify()
        path = self.cache.layer(digest)
        assert path is not None
        with open(path, "rb") as f:  # listed once here, so that a cached check reads no tar header
            self.cache.put_members(digest, list(tar_members(f, os.path.getsize(path), what)))
        return path


def _schema1(where: str) -> RegistryError:
    return RegistryError(f"{where}: a Docker schema 1 manifest (deprecated since 2017): not supported")


def _verify(data: bytes, digest: str, what: str) -> None:
    alg, want = parse_digest(digest, what)
    if hashlib.new(alg, data).hexdigest() != want:
        raise DigestMismatchError(f"{what}: the bytes received do not match the digest {digest} (refused)")


def open_pulled_tree(pulled: PulledImage, name: str, cache_dir: str | None = None) -> ImageTree:
    """The pulled image's root filesystem: its reduced layers, uncompressed and read in place, applied
    in order by the same layer index as an archive's (whiteouts, opaque directories, links)."""
    cache = RegistryCache(cache_dir)
    with ImageBuilder(name) as builder:
        for digest, path in zip(pulled.layer_digests, pulled.layer_paths, strict=True):
            members = cache.members(digest)
            try:
                if members is not None:
                    builder.add_indexed_layer(path, members)
                else:
                    builder.add_file_layer(path, 0, os.path.getsize(path))
            except OSError as e:
                raise RegistryError(f"{name}: cached layer unreadable: {e.strerror or e}") from None
        return builder.finish(pulled.config)

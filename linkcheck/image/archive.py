"""Container images read as a ``Tree``, without unpacking them: ``docker save`` / ``podman save``
archives, OCI image layouts (a directory or a tar of one) and plain root filesystem tarballs.

``open_image_tree(path)`` reads the archive's manifest, picks the image (for an index of manifests: the
host's platform, or the one asked for), then indexes its layers in order, applying whiteouts
(``.wh.NAME`` deletes NAME from lower layers, ``.wh..wh..opq`` empties a directory of lower content),
hard links (they share their target's content) and symlinks (kept as entries: ``tree.resolve`` confines
them). The index maps each path to its entry and to where its bytes live: (blob file, offset). Nothing
is extracted; ``read()`` is one ``pread``.

Storage, chosen for bounded memory: an uncompressed tar (the outer archive, an uncompressed layer) is
read in place. A gzip-compressed layer or archive is decompressed once, streaming, into a file in a
private ``tempfile.TemporaryDirectory`` that ``ImageTree.close()`` removes (the tree is a context
manager). Decompression is capped (``Limits``: total bytes written, and the expansion ratio once past a
floor) so a gzip bomb stops with an ArchiveError instead of filling the disk. zstd, xz and bzip2 layers
are refused with a one-line ArchiveError (the standard library has no zstd before Python 3.14).
Digests: OCI manifests (and nested indexes) and configs must match theirs; a gzip layer's compressed
bytes are hashed while they are decompressed and must match the manifest's digest (an uncompressed layer
read in place is not hashed: that would mean reading all of it).

Hostile input: a member whose path climbs out with ``..`` is refused; absolute member paths are read as
relative to the root; members whose data runs past the end of their tar (truncated archives, huge
declared sizes) are refused; device nodes and FIFOs are kept as entries that are never read; an OCI
layout's blob that is a symlink out of the layout directory is refused.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import platform as host_platform
import posixpath
import re
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, BinaryIO

from linkcheck.errors import ArchiveError, LinkcheckError
from linkcheck.facts.arch import docker_arch_of, normalize_arch
from linkcheck.image.tree import MAX_FILE_BYTES, Buffer, EntryKind, TreeEntry, normalize

_CHUNK = 1 << 20
_MAX_JSON_BYTES = 4 << 20  # a manifest, index or config larger than this is not an image's

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_BZIP2_MAGIC = b"BZh"

_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]{64}|[0-9a-f]{128})$")
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what reading one archive may cost. The defaults suit real images; tests lower them."""

    max_decompressed_bytes: int = 16 << 30  # in total, over every compressed layer of the archive
    max_ratio: int = 200  # decompressed / compressed, checked once past ``ratio_floor`` bytes
    ratio_floor: int = 64 << 20
    max_members: int = 2_000_000  # tar members over all layers


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class _Blob:
    """A byte range of a host file: an uncompressed tar, or the data of one inside another tar."""

    path: str
    offset: int
    size: int
    digest: str | None = None  # "sha256:..." when a manifest names it: checked while it is decompressed


@dataclass(frozen=True, slots=True)
class _Node:
    entry: TreeEntry
    blob: int  # index into ImageTree._blobs; -1 when there is no content (directories, links ...)
    offset: int  # of the content inside the blob
    sparse: bool = False


class ImageTree:
    """One image's root filesystem, read from an archive (implements ``linkcheck.image.tree.Tree``).

    ``config_env`` is the image config's Env ("KEY=VALUE" strings); ``path_env`` its PATH split on ":"
    (None when the config sets none); ``architecture``/``os``/``variant`` come from the image config
    (None for a plain root filesystem tarball)."""

    def __init__(
        self,
        name: str,
        nodes: dict[str, _Node],
        children: dict[str, set[str]],
        blobs: list[_Blob],
        tmp: tempfile.TemporaryDirectory[str] | None,
        config: dict[str, Any],
        layers: int,
    ) -> None:
        self._name = name
        self._nodes = nodes
        self._children = {k: tuple(sorted(v)) for k, v in children.items()}
        self._blobs = blobs
        self._tmp = tmp
        self._fds: dict[str, int] = {}
        self._shared: dict[tuple[int, int], int] | None = None
        cfg = config.get("config") if isinstance(config.get("config"), dict) else {}
        env = cfg.get("Env") if isinstance(cfg, dict) else None
        self.config_env: tuple[str, ...] = tuple(e for e in env if isinstance(e, str)) if isinstance(
            env, list) else ()
        self.architecture: str | None = _str_or_none(config.get("architecture"))
        self.os: str | None = _str_or_none(config.get("os"))
        self.variant: str | None = _str_or_none(config.get("variant"))
        self.layers = layers

    # -- Tree ---------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def lstat(self, path: str) -> TreeEntry | None:
        node = self._nodes.get(normalize(path))
        return node.entry if node is not None else None

    def listdir(self, path: str) -> tuple[str, ...]:
        return self._children.get(normalize(path), ())

    def read(self, path: str) -> Buffer:
        key = normalize(path)
        node = self._nodes.get(key)
        if node is None:
            raise FileNotFoundError(errno.ENOENT, "no such file in the image", key)
        if node.entry.kind is not EntryKind.FILE:
            raise OSError(errno.EINVAL, "not a regular file", key)
        if node.entry.size > MAX_FILE_BYTES:
            raise OSError(errno.EFBIG, "file too large to inspect", key)
        if node.sparse:
            raise OSError(errno.EOPNOTSUPP, "sparse tar member", key)
        return self.read_range(key, 0, node.entry.size)

    # -- beyond Tree --------------------------------------------------------------------------

    def read_range(self, path: str, start: int, length: int) -> bytes:
        """Up to ``length`` bytes of the regular file ``path`` from ``start`` (a header read)."""
        node = self._nodes.get(normalize(path))
        if node is None or node.entry.kind is not EntryKind.FILE or node.blob < 0 or node.sparse:
            raise OSError(errno.EINVAL, "not a readable regular file", path)
        start = max(0, start)
        length = max(0, min(length, node.entry.size - start))
        if length == 0:
            return b""
        blob = self._blobs[node.blob]
        fd = self._fd(blob.path)
        pos = blob.offset + node.offset + start
        parts: list[bytes] = []
        remaining = length
        while remaining:
            chunk = os.pread(fd, min(remaining, 1 << 26), pos)
            if not chunk:
                raise OSError(errno.EIO, "archive shorter than its index", path)
            parts.append(chunk)
            pos += len(chunk)
            remaining -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def content_key(self, path: str) -> tuple[tuple[int, int], int] | None:
        """For a regular file: an identity of its content (hard links share it) and how many paths in
        the image share it; None for anything else."""
        node = self._nodes.get(normalize(path))
        if node is None or node.entry.kind is not EntryKind.FILE or node.blob < 0:
            return None
        if self._shared is None:
            counts: dict[tuple[int, int], int] = {}
            for n in self._nodes.values():
                if n.blob >= 0:
                    counts[(n.blob, n.offset)] = counts.get((n.blob, n.offset), 0) + 1
            self._shared = counts
        key = (node.blob, node.offset)
        return key, self._shared.get(key, 1)

    @property
    def path_env(self) -> tuple[str, ...] | None:
        for item in self.config_env:
            if item.startswith("PATH="):
                return tuple(p for p in item[len("PATH=") :].split(":") if p)
        return None

    @property
    def platform(self) -> str | None:
        """"linux/amd64", "linux/arm/v7" ... from the image config; None when it names none."""
        if self.architecture is None:
            return None
        parts = [self.os or "linux", self.architecture] + ([self.variant] if self.variant else [])
        return "/".join(parts)

    def paths(self) -> Iterator[str]:
        """Every path in the image, sorted."""
        return iter(sorted(self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ImageTree:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            for fd in self._fds.values():
                os.close(fd)
        except (AttributeError, OSError):
            pass

    def _fd(self, path: str) -> int:
        fd = self._fds.get(path)
        if fd is None:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            self._fds[path] = fd
        return fd


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------------


def is_image_archive(path: str) -> bool:
    """Whether ``path`` looks like something ``open_image_tree`` reads: an OCI layout directory, or a
    file that is a tar or compressed (gzip; zstd and xz are recognised so that opening them gives a clear
    error). Reads at most a few header bytes."""
    try:
        if os.path.isdir(path):
            return os.path.isfile(os.path.join(path, "index.json"))
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if head.startswith((_GZIP_MAGIC, _ZSTD_MAGIC, _XZ_MAGIC)):
        return True  # compressed: opening it says whether it is a tar we can read (zstd and xz are not)
    return len(head) >= 262 and head[257:262] == b"ustar"


def open_image_tree(
    path: str, platform: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> ImageTree:
    """The root filesystem of the image in ``path`` (see the module's docstring for what is read).

    ``platform`` ("linux/arm64", "arm64" ...) picks the image from a multi-platform index; by default
    the host's. Raises ArchiveError (one line) for anything that cannot be read safely; the caller owns
    the returned tree and should ``close()`` it (or use ``with``)."""
    try:
        return _Opener(path, platform, limits).open()
    except LinkcheckError:
        raise
    except (OSError, tarfile.TarError, zlib.error, EOFError, ValueError, KeyError, TypeError,
            RecursionError) as exc:
        raise ArchiveError(f"{path}: cannot read image: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = str(exc) or type(exc).__name__
    return text


class _Opener:
    def __init__(self, path: str, platform: str | None, limits: Limits) -> None:
        self.path = path
        self.want_arch = _wanted_arch(platform)
        self.want_variant = _wanted_variant(platform)
        self.limits = limits
        self.tmp: tempfile.TemporaryDirectory[str] | None = None
        self.decompressed = 0
        self.blobs: list[_Blob] = []
        self.nodes: dict[str, _Node] = {"/": _Node(TreeEntry(EntryKind.DIRECTORY, 0o755, 0), -1, 0)}
        self.children: dict[str, set[str]] = {"/": set()}
        self.members = 0

    def fail(self, what: str) -> ArchiveError:
        return ArchiveError(f"{self.path}: {what}")

    def open(self) -> ImageTree:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise self.fail(f"cannot open: {_reason(exc)}") from exc
        try:
            if stat.S_ISDIR(st.st_mode):
                config, layers = self._oci_directory()
            elif stat.S_ISREG(st.st_mode):
                config, layers = self._archive_file(st.st_size)
            else:
                raise self.fail("not a file or directory")
            for layer in layers:
                self._apply_layer(layer)
        except BaseException:
            if self.tmp is not None:
                self.tmp.cleanup()
            raise
        return ImageTree(self.path, self.nodes, self.children, self.blobs, self.tmp, config, len(layers))

    # -- the outer container --------------------------------------------------------------------

    def _oci_directory(self) -> tuple[dict[str, Any], list[_Blob]]:
        root = os.path.abspath(self.path)
        real_root = os.path.realpath(root)
        if not os.path.isfile(os.path.join(root, "index.json")):
            raise self.fail("directory is not an OCI image layout (no index.json)")

        def blob(digest: str) -> _Blob:
            alg, hexdigest = _parse_digest(digest, self.path)
            host = os.path.join(root, "blobs", alg, hexdigest)
            try:
                st = os.stat(host)  # follows a symlink: some tools store blobs as links to others
            except OSError as exc:
                raise self.fail(f"missing blob {digest}") from exc
            if not stat.S_ISREG(st.st_mode):
                raise self.fail(f"blob {digest} is not a file")
            if os.path.islink(host) and not _inside(os.path.realpath(host), real_root):
                raise self.fail(f"blob {digest} is a link out of the layout")
            return _Blob(host, 0, st.st_size, digest)

        index = self._json(_Blob(os.path.join(root, "index.json"), 0, os.path.getsize(
            os.path.join(root, "index.json"))), "index.json")
        return self._follow_index(index, blob)

    def _archive_file(self, size: int) -> tuple[dict[str, Any], list[_Blob]]:
        whole = _Blob(os.path.abspath(self.path), 0, size)
        magic = _head(whole, 6)
        if magic.startswith(_GZIP_MAGIC):
            whole = self._gunzip(whole, "archive")
        else:
            self._refuse_compression(magic, "archive")
        # Keyed by normalised name: `tar -C layout -cf x.tar .` writes "./index.json".
        names = {_member_path(m.name, self.path)[1:]: m for m in _tar_members(whole, self.path, "archive")}
        if "manifest.json" in names:
            return self._docker_save(whole, names)
        if "index.json" in names:
            return self._follow_index(
                self._json(_member_blob(whole, names, "index.json", self.path), "index.json"),
                lambda d: dataclasses.replace(
                    _member_blob(whole, names, "blobs/" + "/".join(_parse_digest(d, self.path)), self.path),
                    digest=d))
        # A root filesystem tarball (alpine's minirootfs, busybox's rootfs.tar.gz): one layer, no config.
        return {}, [whole]

    def _docker_save(
        self, whole: _Blob, names: dict[str, _Member]
    ) -> tuple[dict[str, Any], list[_Blob]]:
        manifest = self._json(_member_blob(whole, names, "manifest.json", self.path), "manifest.json")
        if not isinstance(manifest, list) or not manifest or not isinstance(manifest[0], dict):
            raise self.fail("manifest.json lists no image")
        # Several images in one save: take the first whose config matches the platform asked for.
        chosen: tuple[dict[str, Any], list[_Blob]] | None = None
        for item in manifest:
            if not isinstance(item, dict):
                continue
            config_name, layer_names = item.get("Config"), item.get("Layers")
            if not isinstance(config_name, str) or not isinstance(layer_names, list):
                raise self.fail("manifest.json entry without Config and Layers")
            config = self._json(_member_blob(whole, names, config_name, self.path), config_name)
            if not isinstance(config, dict):
                raise self.fail(f"{config_name} is not an image config")
            layers = []
            for name in layer_names:
                if not isinstance(name, str):
                    raise self.fail("manifest.json names a layer that is not a path")
                layers.append(_member_blob(whole, names, name, self.path))
            candidate = (config, layers)
            if chosen is None:
                chosen = candidate
            if self.want_arch is None or self._platform_matches(config):
                return candidate
        if chosen is None:
            raise self.fail("manifest.json lists no image")
        if self.want_arch is not None:
            raise self.fail(f"no image for {self.want_arch} in the archive")
        return chosen

    def _follow_index(self, index: Any, blob: Any) -> tuple[dict[str, Any], list[_Blob]]:
        for _depth in range(8):
            if not isinstance(index, dict):
                raise self.fail("image index is not a JSON object")
            if "layers" in index and "config" in index:
                return self._from_manifest(index, blob)
            manifests = index.get("manifests")
            if not isinstance(manifests, list) or not manifests:
                raise self.fail("image index lists no manifests")
            desc = self._pick(manifests)
            digest = desc.get("digest")
            if not isinstance(digest, str):
                raise self.fail("manifest descriptor without a digest")
            index = self._json(blob(digest), digest, digest)
        raise self.fail("image indexes nested too deeply")

    def _pick(self, manifests: list[Any]) -> dict[str, Any]:
        usable = [m for m in manifests if isinstance(m, dict) and not _is_attestation(m)]
        if not usable:
            raise self.fail("image index lists no usable manifest")
        with_platform = [m for m in usable if isinstance(m.get("platform"), dict)]
        want = self.want_arch or docker_arch_of(_host_machine())
        for m in with_platform:
            if self._platform_matches(m["platform"], want):
                return m
        if len(usable) == 1:
            return usable[0]
        if self.want_arch is None and not with_platform:
            return usable[0]
        found = ", ".join(sorted({_platform_text(m["platform"]) for m in with_platform})) or "none named"
        raise self.fail(f"no image for linux/{want} in the index (platforms: {found})")

    def _platform_matches(self, plat: dict[str, Any], want: str | None = None) -> bool:
        want = want or self.want_arch
        if plat.get("architecture") != want or plat.get("os", "linux") != "linux":
            return False
        return self.want_variant is None or plat.get("variant") == self.want_variant

    def _from_manifest(self, manifest: dict[str, Any], blob: Any) -> tuple[dict[str, Any], list[_Blob]]:
        config_desc, layer_descs = manifest.get("config"), manifest.get("layers")
        if not isinstance(config_desc, dict) or not isinstance(layer_descs, list):
            raise self.fail("image manifest without config or layers")
        digest = config_desc.get("digest")
        if not isinstance(digest, str):
            raise self.fail("config descriptor without a digest")
        config = self._json(blob(digest), digest, digest)
        if not isinstance(config, dict):
            raise self.fail("image config is not a JSON object")
        layers = []
        for desc in layer_descs:
            if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
                raise self.fail("layer descriptor without a digest")
            media = str(desc.get("mediaType", ""))
            if "zstd" in media:
                raise self.fail(f"zstd-compressed layer {desc['digest']} is not supported "
                                "(no zstd in this Python's standard library)")
            layers.append(blob(desc["digest"]))
        return config, layers

    def _json(self, where: _Blob, what: str, digest: str | None = None) -> Any:
        if where.size > _MAX_JSON_BYTES:
            raise self.fail(f"{what} is too large ({where.size} bytes)")
        data = _read_blob(where)
        if digest is not None:
            alg, hexdigest = _parse_digest(digest, self.path)
            if hashlib.new(alg, data).hexdigest() != hexdigest:
                raise self.fail(f"{what} does not match its digest")
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self.fail(f"{what} is not valid JSON") from exc

    # -- layers -------------------------------------------------------------------------------

    def _refuse_compression(self, magic: bytes, what: str) -> None:
        if magic.startswith(_ZSTD_MAGIC):
            raise self.fail(f"{what} is zstd-compressed: not supported (no zstd in this Python's "
                            "standard library)")
        if magic.startswith(_XZ_MAGIC) or magic.startswith(_BZIP2_MAGIC):
            raise self.fail(f"{what} is xz/bzip2-compressed: not supported")

    def _gunzip(self, src: _Blob, what: str) -> _Blob:
        """Decompress ``src`` (every gzip member in it) into a private temporary file, within limits."""
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="linkcheck-image-")
        fd, out_path = tempfile.mkstemp(dir=self.tmp.name, suffix=".tar")
        written = 0
        limits = self.limits
        with open(src.path, "rb") as f, os.fdopen(fd, "wb") as out:
            f.seek(src.offset)
            remaining = src.size
            consumed = 0
            d = zlib.decompressobj(wbits=31)
            hasher = hashlib.new(_parse_digest(src.digest, self.path)[0]) if src.digest else None
            started = False  # the current gzip member has begun and not ended
            pending = b""
            while True:
                if not pending:
                    if remaining <= 0:
                        break
                    pending = f.read(min(_CHUNK, remaining))
                    if not pending:
                        break
                    remaining -= len(pending)
                    consumed += len(pending)
                    if hasher is not None:
                        hasher.update(pending)
                if not started and not pending.strip(b"\x00"):
                    pending = b""  # zero padding after the last member (tar tools write it)
                    continue
                started = True
                data = d.decompress(pending, _CHUNK)
                pending = d.unconsumed_tail
                if d.eof:
                    pending = d.unused_data + pending
                    d = zlib.decompressobj(wbits=31)
                    started = False
                elif not pending and remaining <= 0:
                    data += d.flush()  # input exhausted: whatever the window still holds (bounded)
                if data:
                    written += len(data)
                    self.decompressed += len(data)
                    if self.decompressed > limits.max_decompressed_bytes:
                        raise self.fail(f"{what} decompresses to more than "
                                        f"{limits.max_decompressed_bytes} bytes (limit)")
                    if written > limits.ratio_floor and written > limits.max_ratio * max(consumed, 1):
                        raise self.fail(f"{what} expands more than {limits.max_ratio}:1 "
                                        "(a decompression bomb?)")
                    out.write(data)
            if started and not d.eof:
                raise self.fail(f"{what} is truncated (its gzip stream ends early)")
            if hasher is not None and src.digest and hasher.hexdigest() != src.digest.split(":")[1]:
                raise self.fail(f"{what} does not match its digest {src.digest}")
        return _Blob(out_path, 0, written)

    def _apply_layer(self, layer: _Blob) -> None:
        magic = _head(layer, 6)
        if magic.startswith(_GZIP_MAGIC):
            layer = self._gunzip(layer, f"layer {len(self.blobs) + 1}")
        else:
            self._refuse_compression(magic, f"layer {len(self.blobs) + 1}")
        self.blobs.append(layer)
        blob_id = len(self.blobs) - 1
        # Whiteouts act on lower layers only: apply them as they come, and this layer's own entries after.
        own: list[tuple[str, _Member]] = []
        for m in _tar_members(layer, self.path, f"layer {blob_id + 1}"):
            self.members += 1
            if self.members > self.limits.max_members:
                raise self.fail(f"more than {self.limits.max_members} tar members (limit)")
            path = _member_path(m.name, self.path)
            if path == "/":
                continue  # the root's own entry ("./"): the root stays a directory
            base = posixpath.basename(path)
            parent = posixpath.dirname(path)
            if base == _OPAQUE:
                for name in list(self.children.get(parent, ())):
                    self._remove(posixpath.join(parent, name))
            elif base.startswith(_WHITEOUT):
                self._remove(posixpath.join(parent, base[len(_WHITEOUT) :]))
            else:
                own.append((path, m))
        for path, m in own:
            self._add(path, m, blob_id)

    def _add(self, path: str, m: _Member, blob_id: int) -> None:
        mode = m.mode
        if m.kind == "d":
            old = self.nodes.get(path)
            if old is not None and old.entry.kind is not EntryKind.DIRECTORY:
                self._remove(path)
            self._ensure_parents(path)
            self.nodes[path] = _Node(TreeEntry(EntryKind.DIRECTORY, mode, 0), -1, 0)
            self.children.setdefault(path, set())
            return
        if m.kind == "h":
            target = _member_path(m.linkname, self.path)
            src = self.nodes.get(target)
            if src is None or src.entry.kind is not EntryKind.FILE:
                raise self.fail(f"hard link {path} points to {target}, which is not a file before it")
            node = _Node(TreeEntry(EntryKind.FILE, mode, src.entry.size), src.blob, src.offset, src.sparse)
        elif m.kind == "l":
            node = _Node(TreeEntry(EntryKind.SYMLINK, 0o777, len(m.linkname), m.linkname), -1, 0)
        elif m.kind == "f":
            node = _Node(TreeEntry(EntryKind.FILE, mode, m.size), blob_id, m.offset, m.sparse)
        else:  # devices, FIFOs: listed, never read
            node = _Node(TreeEntry(EntryKind.OTHER, mode, 0), -1, 0)
        if path in self.nodes:
            self._remove(path)
        self._ensure_parents(path)
        self.nodes[path] = node

    def _ensure_parents(self, path: str) -> None:
        child = path
        parent = posixpath.dirname(child)
        while True:
            names = self.children.get(parent)
            existing = self.nodes.get(parent)
            if existing is not None and existing.entry.kind is not EntryKind.DIRECTORY:
                # "a/b" arrives after a file or link "a": the directory replaces it, as when unpacking.
                self._remove(parent)
                existing = None
                names = None
            if names is None:
                names = self.children[parent] = set()
            names.add(posixpath.basename(child))
            if existing is not None:
                return
            self.nodes[parent] = _Node(TreeEntry(EntryKind.DIRECTORY, 0o755, 0), -1, 0)
            if parent == "/":
                return
            child, parent = parent, posixpath.dirname(parent)

    def _remove(self, path: str) -> None:
        if path == "/" or path not in self.nodes:
            return
        stack = [path]
        while stack:
            p = stack.pop()
            self.nodes.pop(p, None)
            for name in self.children.pop(p, ()):
                stack.append(posixpath.join(p, name))
        siblings = self.children.get(posixpath.dirname(path))
        if siblings is not None:
            siblings.discard(posixpath.basename(path))


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _member_path(name: str, archive: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveError(f"{archive}: member path {name!r} climbs out of the root with '..'")
    return "/" + "/".join(parts)


@dataclass(frozen=True, slots=True)
class _Member:
    """What the index keeps of one tar member (a TarInfo weighs several times more)."""

    name: str
    kind: str  # "d" directory, "f" regular file, "l" symlink, "h" hard link, "o" other (device, FIFO)
    mode: int
    size: int
    offset: int  # of the data, from the start of the tar
    linkname: str = ""
    sparse: bool = False


def _compact(m: tarfile.TarInfo) -> _Member:
    if m.isdir():
        kind = "d"
    elif m.issym():
        kind = "l"
    elif m.islnk():
        kind = "h"
    elif m.isreg():
        kind = "f"
    else:
        kind = "o"
    return _Member(m.name, kind, stat.S_IMODE(m.mode), m.size if kind == "f" else 0, m.offset_data,
                   m.linkname if kind in ("l", "h") else "", m.issparse())


def _tar_members(blob: _Blob, archive: str, what: str) -> Iterator[_Member]:
    """The members of the tar in ``blob``, streamed (nothing but the current header is held); ArchiveError
    when it is not a tar, is cut short, or a member's data runs past its end."""
    with open(blob.path, "rb") as f:
        section = _Section(f, blob.offset, blob.size)
        try:
            with tarfile.open(fileobj=section, mode="r:") as tf:  # type: ignore[call-overload]
                while True:
                    info = tf.next()
                    if info is None:
                        return
                    tf.members.clear()  # tarfile keeps every header it reads; we keep our own index
                    m = _compact(info)
                    if m.kind == "f" and m.offset + m.size > blob.size:
                        raise ArchiveError(f"{archive}: {what} is truncated (member {m.name!r} claims "
                                           f"{m.size} bytes, past the end of the tar)")
                    yield m
        except tarfile.ReadError as exc:
            if "unexpected end" in str(exc):
                raise ArchiveError(f"{archive}: {what} is truncated (tar data ends early)") from exc
            raise ArchiveError(f"{archive}: {what} is not a readable tar ({_reason(exc)})") from exc
        except (EOFError, tarfile.TarError) as exc:
            raise ArchiveError(f"{archive}: {what} is truncated or corrupt ({_reason(exc)})") from exc


def _member_blob(whole: _Blob, names: dict[str, _Member], name: str, archive: str) -> _Blob:
    """The data of member ``name`` of the outer tar, following symlinks and hard links between members
    (``docker save`` stores a repeated layer as a link to the first copy)."""
    key = _member_path(name, archive)[1:]
    for _hop in range(16):
        m = names.get(key)
        if m is None:
            raise ArchiveError(f"{archive}: the archive has no {name}")
        if m.kind == "f":
            return _Blob(whole.path, whole.offset + m.offset, m.size)
        if m.kind == "l":
            key = normalize(posixpath.join(posixpath.dirname("/" + key), m.linkname))[1:]
        elif m.kind == "h":
            key = _member_path(m.linkname, archive)[1:]
        else:
            raise ArchiveError(f"{archive}: {name} is not a file in the archive")
    raise ArchiveError(f"{archive}: {name} is a loop of links")


def _read_blob(blob: _Blob) -> bytes:
    with open(blob.path, "rb") as f:
        f.seek(blob.offset)
        data = f.read(blob.size)
    if len(data) != blob.size:
        raise OSError(errno.EIO, "short read")
    return data


def _head(blob: _Blob, n: int) -> bytes:
    with open(blob.path, "rb") as f:
        f.seek(blob.offset)
        return f.read(min(n, blob.size))


def _parse_digest(digest: str, archive: str) -> tuple[str, str]:
    match = _DIGEST.match(digest)
    if match is None:
        raise ArchiveError(f"{archive}: malformed digest {digest!r}")
    return match.group(1), match.group(2)


def _is_attestation(desc: dict[str, Any]) -> bool:
    plat = desc.get("platform")
    annotations = desc.get("annotations")
    if isinstance(annotations, dict) and "vnd.docker.reference.type" in annotations:
        return True
    return isinstance(plat, dict) and plat.get("architecture") == "unknown"


def _platform_text(plat: dict[str, Any]) -> str:
    parts = [str(plat.get("os", "linux")), str(plat.get("architecture", "?"))]
    if plat.get("variant"):
        parts.append(str(plat["variant"]))
    return "/".join(parts)


def _host_machine() -> str:
    machine = host_platform.machine() or "x86_64"
    try:
        return normalize_arch(machine)
    except LinkcheckError:
        return machine


def _wanted_arch(platform: str | None) -> str | None:
    if platform is None:
        return None
    text = platform.strip().lower()
    parts = text.split("/")
    if parts[0] == "linux":
        parts = parts[1:]
    if not parts:
        return None
    if parts[0] in ("amd64", "arm64", "arm", "386", "riscv64", "ppc64le", "s390x", "mips64le", "loong64"):
        return parts[0]
    return docker_arch_of(normalize_arch(parts[0]))


def _wanted_variant(platform: str | None) -> str | None:
    if platform is None:
        return None
    parts = platform.strip().lower().split("/")
    if parts[0] == "linux":
        parts = parts[1:]
    return parts[1] if len(parts) > 1 else None


class _Section:
    """A read-only, seekable window [offset, offset+size) of an open file, for ``tarfile``."""

    def __init__(self, f: BinaryIO, offset: int, size: int) -> None:
        self._f = f
        self._start = offset
        self._size = size
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0 or self._pos + n > self._size:
            n = self._size - self._pos
        if n <= 0:
            return b""
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._size
        self._pos = max(0, pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

"""Container images read as a ``Tree``, without unpacking them: ``docker save`` / ``podman save``
archives, OCI image layouts (a directory or a tar of one) and plain root filesystem tarballs.

The pipeline, one module a step: ``manifest`` reads the index, manifest and config (a typed
``ImageConfig``) and picks the platform; ``inflate`` decompresses within limits; ``layers`` applies the
layers in order as a container runtime does (whiteouts, opaque directories, symlinked parents). This
module finds the documents and layers in an archive or layout, and ``ImageBuilder`` turns layers, given
bottom to top as byte ranges of host files or as streams (a registry download), into an ``ImageTree``.

Storage, chosen for bounded memory and no leftovers: an uncompressed tar (the outer archive, an
uncompressed layer) is read in place. A compressed layer or archive, and any layer given as a stream, is
written once, streaming, into one anonymous temporary file (``tempfile.TemporaryFile``: it has no name,
so it disappears when the tree is closed or the process ends, however it ends). Host files are opened on
demand, a bounded number at a time, so a 1,500-layer image keeps a handful of files open.
Digests: OCI manifests (and nested indexes) and configs must match theirs; a compressed layer's bytes are
hashed while they are decompressed and must match the manifest's digest (an uncompressed layer read in
place is not hashed: that would mean reading all of it).

Hostile input: a member whose path climbs out with ``..`` or is longer than PATH_MAX is refused;
absolute member paths are read as relative to the root; members whose data runs past the end of their
tar (truncated archives, huge declared sizes) are refused; device nodes and FIFOs are kept as entries
that are never read; every path of an OCI layout (``index.json``, ``blobs/``, each blob) must resolve
inside the layout, as a root's paths do.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import posixpath
import stat
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO

from linkcheck.errors import ArchiveError, LinkcheckError
from linkcheck.image.inflate import (
    CHUNK,
    DEFAULT_LIMITS,
    SNIFF_BYTES,
    Budget,
    Compression,
    Limits,
    Readable,
    decoder_for,
    inflate,
    parse_digest,
    sniff,
)
from linkcheck.image.layers import LayerIndex, Member, MemberKind, member_path, tar_members
from linkcheck.image.manifest import (
    MAX_JSON_BYTES,
    ImageConfig,
    ImageManifest,
    PlatformChoice,
    parse_json,
    read_docker_save,
    read_manifest,
)
from linkcheck.image.tree import (
    MAX_FILE_BYTES,
    MAX_SYMLINKS,
    READ_WHOLE_BYTES,
    Buffer,
    EntryKind,
    TreeEntry,
    normalize,
    private_map,
)

__all__ = ["DEFAULT_LIMITS", "ImageBuilder", "ImageTree", "Limits", "is_image_archive", "open_image_tree"]

_OPEN_FILES = 16  # host files (layout blobs) kept open at once; the rest are reopened when read
# A member at least this large is mapped, not read into memory: a 1 GB library costs the pages the
# reader touches, not 1 GB (or more) per worker.
MAP_FROM = READ_WHOLE_BYTES


@dataclass(frozen=True, slots=True)
class _Blob:
    """A byte range of one of the image's files (``_Files`` id): a whole file, or a member's data."""

    file: int
    offset: int
    size: int


class _Files:
    """The files an image's bytes live in: file 0 is the spool (anonymous, written while layers are
    added), the others host files opened on demand, at most ``_OPEN_FILES`` at a time."""

    def __init__(self) -> None:
        self._spool: BinaryIO | None = None
        self._paths: list[str] = [""]
        self._ids: dict[str, int] = {}
        self._open: OrderedDict[int, int] = OrderedDict()  # file id -> fd, least recently used first

    def host(self, path: str) -> int:
        fid = self._ids.get(path)
        if fid is None:
            fid = self._ids[path] = len(self._paths)
            self._paths.append(path)
        return fid

    def spool(self) -> BinaryIO:
        if self._spool is None:
            import tempfile  # here, not at the top: a cached image's layers are read in place (~5 ms)

            self._spool = tempfile.TemporaryFile(prefix="linkcheck-image-")  # noqa: SIM115 (owned here)
        return self._spool

    def spool_end(self) -> int:
        spool = self.spool()
        spool.flush()
        return spool.seek(0, os.SEEK_END)

    def fd(self, fid: int) -> int:
        if fid == 0:
            spool = self.spool()
            spool.flush()
            return spool.fileno()
        fd = self._open.get(fid)
        if fd is not None:
            self._open.move_to_end(fid)
            return fd
        if len(self._open) >= _OPEN_FILES:
            os.close(self._open.popitem(last=False)[1])
        fd = os.open(self._paths[fid], os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        self._open[fid] = fd
        return fd

    def pread(self, fid: int, length: int, pos: int) -> bytes:
        """Exactly ``length`` bytes at ``pos`` (OSError EIO when the file is shorter)."""
        fd = self.fd(fid)
        parts: list[bytes] = []
        while length:
            chunk = os.pread(fd, min(length, 1 << 26), pos)
            if not chunk:
                raise OSError(errno.EIO, "archive shorter than its index")
            parts.append(chunk)
            pos += len(chunk)
            length -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def map(self, fid: int, pos: int, length: int) -> mmap.mmap:
        """``length`` bytes at ``pos``, mapped read-only. Only the spool (a nameless file of this process)
        is mapped in place, and only at a page-aligned offset (mmap needs one); anything else is first
        copied, kernel-side, into a nameless file that goes with the mapping: a user's archive or layout
        blob truncated by another process while it is read would make the mapping fault (SIGBUS)."""
        fd = self.fd(fid)
        if os.fstat(fd).st_size < pos + length:
            raise OSError(errno.EIO, "archive shorter than its index")  # mapping past the end: SIGBUS
        if fid == 0 and pos % mmap.ALLOCATIONGRANULARITY == 0:
            return mmap.mmap(fd, length, offset=pos, access=mmap.ACCESS_READ)
        return private_map(fd, pos, length)

    def close(self) -> None:
        for fd in self._open.values():
            os.close(fd)
        self._open.clear()
        if self._spool is not None:
            self._spool.close()
            self._spool = None


class _Window:
    """A read-only, seekable window [offset, offset+size) of a file descriptor (for ``tarfile``)."""

    def __init__(self, files: _Files, fid: int, offset: int, size: int) -> None:
        self._files = files
        self._fid = fid
        self._start = offset
        self._size = size
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n < 0 or self._pos + n > self._size:
            n = self._size - self._pos
        if n <= 0:
            return b""
        data = os.pread(self._files.fd(self._fid), n, self._start + self._pos)
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


class _Prefixed:
    """A stream whose first bytes were already read (to sniff its compression)."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            data = self._head if n < 0 else self._head[:n]
            self._head = self._head[len(data):]
            return data
        return self._rest.read(n)

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return True


class ImageTree:
    """One image's root filesystem (implements ``linkcheck.image.tree.Tree``), with its ``config``.

    Its bytes stay readable until ``close()`` (or the end of a ``with`` block); nothing is left on disk
    after it either way."""

    def __init__(self, name: str, index: LayerIndex, layers: list[tuple[int, int]], files: _Files,
                 config: ImageConfig) -> None:
        self._name = name
        self._nodes = index.nodes
        self._children = {k: tuple(sorted(v)) for k, v in index.children.items()}
        self._layers = layers  # blob number -> (file id, offset of the layer's tar in it)
        self._files = files
        self._shared: dict[tuple[int, int], int] | None = None
        self.config = config
        self.layers = index.layers

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
        if node.entry.size >= MAP_FROM:
            fid, base = self._layers[node.blob]
            try:
                return self._files.map(fid, base + node.offset, node.entry.size)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, key) from None
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
        fid, base = self._layers[node.blob]
        try:
            return self._files.pread(fid, length, base + node.offset + start)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, path) from None

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

    # Shorthands for the config's fields most callers want.

    @property
    def path_env(self) -> tuple[str, ...] | None:
        return self.config.path_env

    @property
    def architecture(self) -> str | None:
        return self.config.platform.architecture if self.config.platform else None

    @property
    def variant(self) -> str | None:
        return self.config.platform.variant if self.config.platform else None

    def paths(self) -> Iterator[str]:
        """Every path in the image, sorted."""
        return iter(sorted(self._nodes))

    def __len__(self) -> int:
        return len(self._nodes)

    def close(self) -> None:
        self._files.close()

    def __enter__(self) -> ImageTree:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # No contextlib here: at interpreter exit the module's globals may already be None.
        try:  # noqa: SIM105
            self._files.close()
        except (AttributeError, OSError):
            pass


class ImageBuilder:
    """Layers given bottom to top, then ``finish(config)``: the ``ImageTree``. As a context manager it
    drops what it spooled when the block fails; after ``finish`` the tree owns it.

    ``add_file_layer`` takes a byte range of a host file (an uncompressed one is read in place);
    ``add_stream_layer`` any readable stream (a registry download): both sniff the compression and
    inflate within ``limits``; ``digest`` ("sha256:...") is checked against the bytes given."""

    def __init__(self, name: str, limits: Limits = DEFAULT_LIMITS) -> None:
        self.name = name
        self.limits = limits
        self.budget = Budget(limits)
        self._files = _Files()
        self._index = LayerIndex(name, limits.max_members)
        self._layers: list[tuple[int, int]] = []
        self._done = False

    def __enter__(self) -> ImageBuilder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self._files.close()

    def _what(self) -> str:
        return f"{self.name}: layer {len(self._layers) + 1}"

    def add_file_layer(self, path: str, offset: int, size: int, digest: str | None = None) -> None:
        self._add_layer(_Blob(self._files.host(path), offset, size), digest)

    def _add_layer(self, blob: _Blob, digest: str | None) -> None:
        fid, offset, size = blob.file, blob.offset, blob.size
        head = self._files.pread(fid, min(SNIFF_BYTES, size), offset) if size else b""
        kind = sniff(head)
        if kind is Compression.NONE:
            self._index_layer(fid, offset, size)
            return
        self._spooled(_Window(self._files, fid, offset, size), size, kind, digest)

    def add_indexed_layer(self, path: str, members: Iterable[Member]) -> None:
        """An uncompressed tar at ``path`` whose members ``tar_members`` listed before: the cache of pulled
        images keeps that list beside each layer, so a cached check reads no tar header again."""
        blob = len(self._layers)
        self._layers.append((self._files.host(path), 0))
        self._index.apply(members, blob)

    def add_stream_layer(self, stream: Readable, digest: str | None = None) -> None:
        head = stream.read(SNIFF_BYTES)
        self._spooled(_Prefixed(head, stream), None, sniff(head), digest)

    def _spooled(self, src: Readable, size: int | None, kind: Compression, digest: str | None) -> None:
        blob = self._spool(src, size, kind, self._what(), digest)
        self._index_layer(blob.file, blob.offset, blob.size)

    def _spool(self, src: Readable, size: int | None, kind: Compression, what: str, digest: str | None
               ) -> _Blob:
        """``src`` written at the end of the spool, inflated; where it is there."""
        spool = self._files.spool()
        start = self._files.spool_end()
        if kind is Compression.NONE:
            written = _copy(src, spool, what, self.budget, digest)
        else:
            written = inflate(src, size, spool, kind, what=what, budget=self.budget, digest=digest)
        spool.flush()
        return _Blob(0, start, written)

    def _index_layer(self, fid: int, offset: int, size: int) -> None:
        blob = len(self._layers)
        what = self._what()
        self._layers.append((fid, offset))
        self._index.apply(tar_members(_Window(self._files, fid, offset, size), size, what), blob)  # type: ignore[arg-type]

    def finish(self, config: ImageConfig) -> ImageTree:
        self._done = True
        return ImageTree(self.name, self._index, self._layers, self._files, config)


def _copy(src: Readable, out: BinaryIO, what: str, budget: Budget, digest: str | None) -> int:
    """An uncompressed stream copied as it is, within the image's budget, its digest checked."""
    hasher = hashlib.new(parse_digest(digest, what)[0]) if digest else None
    written = 0
    while chunk := src.read(CHUNK):
        written += len(chunk)
        budget.used += len(chunk)
        if budget.used > budget.limits.max_decompressed_bytes:
            raise ArchiveError(f"{what} is larger than {budget.limits.max_decompressed_bytes} bytes (limit)")
        if hasher is not None:
            hasher.update(chunk)
        out.write(chunk)
    if hasher is not None and digest is not None and hasher.hexdigest() != digest.split(":", 1)[1]:
        raise ArchiveError(f"{what} does not match its digest {digest}")
    return written


# ---------------------------------------------------------------------------------------------
# Opening
# ---------------------------------------------------------------------------------------------


def is_image_archive(path: str) -> bool:
    """Whether ``path`` looks like something ``open_image_tree`` reads: an OCI layout directory, or a
    file that is a tar or compressed (gzip, zstd; xz and bzip2 are recognised so that opening them gives a
    clear error). Reads at most a few header bytes."""
    try:
        if os.path.isdir(path):
            return os.path.isfile(os.path.join(path, "index.json"))
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    if sniff(head) is not Compression.NONE:
        return True  # compressed: opening it says whether it is a tar we can read (xz and bzip2 are not)
    return len(head) >= 262 and head[257:262] == b"ustar"


def open_image_tree(
    path: str, platform: str | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> ImageTree:
    """The root filesystem of the image in ``path`` (see the module's docstring for what is read).

    ``platform`` ("linux/arm64", "arm64" ...) picks the image from a multi-platform index; by default
    the host's. Raises ArchiveError (one line) for anything that cannot be read safely; the caller owns
    the returned tree and should ``close()`` it (or use ``with``)."""
    import tarfile  # here, not at the top: a cached image is read without it (~5 ms)

    try:
        choice = PlatformChoice.parse(platform)
        with ImageBuilder(path, limits) as builder:
            return _Opener(path, choice, builder).open()
    except LinkcheckError:
        raise
    except (OSError, tarfile.TarError, zlib.error, EOFError, ValueError, KeyError, TypeError,
            RecursionError) as exc:
        raise ArchiveError(f"{path}: cannot read image: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# One layer to add, and the digest to check it against (None: not checked).
_Layer = tuple[_Blob, str | None]


class _Opener:
    """Finds the documents and layers of one archive or layout and feeds them to the builder."""

    def __init__(self, path: str, choice: PlatformChoice, builder: ImageBuilder) -> None:
        self.path = path
        self.choice = choice
        self.builder = builder
        self.files = builder._files  # noqa: SLF001 (the opener reads its documents through them)

    def fail(self, what: str) -> ArchiveError:
        return ArchiveError(f"{self.path}: {what}")

    def open(self) -> ImageTree:
        try:
            st = os.stat(self.path)
        except OSError as exc:
            raise self.fail(f"cannot open: {_reason(exc)}") from exc
        if stat.S_ISDIR(st.st_mode):
            config, layers = self._oci_directory()
        elif stat.S_ISREG(st.st_mode):
            config, layers = self._archive_file(st.st_size)
        else:
            raise self.fail("not a file or directory")
        for blob, digest in layers:
            self.builder._add_layer(blob, digest)  # noqa: SLF001
        return self.builder.finish(config)

    # -- an OCI layout directory ----------------------------------------------------------------

    def _oci_directory(self) -> tuple[ImageConfig, list[_Layer]]:
        root = os.path.realpath(self.path)
        index_path = _confined(root, "index.json")
        if index_path is None:
            raise self.fail("directory is not an OCI image layout (no index.json inside it)")

        def blob(digest: str) -> _Blob:
            alg, hexdigest = parse_digest(digest, self.path)
            host = _confined(root, f"blobs/{alg}/{hexdigest}")
            if host is None:
                raise self.fail(f"missing blob {digest} (or a link out of the layout)")
            return _Blob(self.files.host(host), 0, os.stat(host).st_size)

        index = parse_json(self._read(_Blob(self.files.host(index_path), 0, os.stat(index_path).st_size),
                                      "index.json"), f"{self.path}: index.json")
        manifest = read_manifest(index, lambda d: self._read(blob(d), d), self.choice, self.path)
        return self._layers_of(manifest, blob)

    def _layers_of(self, manifest: ImageManifest, blob: Callable[[str], _Blob]
                   ) -> tuple[ImageConfig, list[_Layer]]:
        digest = manifest.config.digest
        config_doc = parse_json(self._read(blob(digest), digest), f"{self.path}: {digest}", digest)
        if not isinstance(config_doc, dict):
            raise self.fail("image config is not a JSON object")
        layers: list[_Layer] = []
        for desc in manifest.layers:
            if "zstd" in desc.media_type:
                decoder_for(Compression.ZSTD, f"{self.path}: layer {desc.digest}")  # refused when unsupported
            layers.append((blob(desc.digest), desc.digest))
        return ImageConfig.from_json(config_doc), layers

    # -- an archive file --------------------------------------------------------------------------

    def _archive_file(self, size: int) -> tuple[ImageConfig, list[_Layer]]:
        whole = _Blob(self.files.host(os.path.abspath(self.path)), 0, size)
        kind = sniff(self._read(_Blob(whole.file, 0, min(SNIFF_BYTES, size)), "archive"))
        if kind is not Compression.NONE:
            # A compressed archive: inflated once into the spool, its layers read from there.
            whole = self.builder._spool(_Window(self.files, whole.file, 0, size), size, kind,  # noqa: SLF001
                                        f"{self.path}: archive", None)
        window = _Window(self.files, whole.file, whole.offset, whole.size)
        # Keyed by normalised name: `tar -C layout -cf x.tar .` writes "./index.json".
        names = {member_path(m.name, self.path)[1:]: m
                 for m in tar_members(window, whole.size, f"{self.path}: archive")}  # type: ignore[arg-type]
        if "manifest.json" in names:
            return self._docker_save(whole, names)
        if "index.json" in names:
            index = parse_json(self._read(_member_blob(whole, names, "index.json", self.path), "index.json"),
                               f"{self.path}: index.json")

            def blob(digest: str) -> _Blob:
                name = "blobs/" + "/".join(parse_digest(digest, self.path))
                return _member_blob(whole, names, name, self.path)

            manifest = read_manifest(index, lambda d: self._read(blob(d), d), self.choice, self.path)
            return self._layers_of(manifest, blob)
        # A root filesystem tarball (alpine's minirootfs, busybox's rootfs.tar.gz): one layer, no config.
        return ImageConfig(), [(whole, None)]

    def _read(self, blob: _Blob, what: str) -> bytes:
        """A document's bytes (a manifest, index or config: small, else refused)."""
        if blob.size > MAX_JSON_BYTES:
            raise self.fail(f"{what} is too large ({blob.size} bytes)")
        return self.files.pread(blob.file, blob.size, blob.offset)

    def _docker_save(self, whole: _Blob, names: dict[str, Member]) -> tuple[ImageConfig, list[_Layer]]:
        doc = parse_json(self._read(_member_blob(whole, names, "manifest.json", self.path), "manifest.json"),
                         f"{self.path}: manifest.json")
        # Several images in one save: take the first whose config matches the platform asked for.
        chosen: tuple[ImageConfig, list[_Layer]] | None = None
        for image in read_docker_save(doc, self.path):
            config_blob = _member_blob(whole, names, image.config, self.path)
            config_doc = parse_json(self._read(config_blob, image.config), f"{self.path}: {image.config}")
            if not isinstance(config_doc, dict):
                raise self.fail(f"{image.config} is not an image config")
            config = ImageConfig.from_json(config_doc)
            layers: list[_Layer] = [(_member_blob(whole, names, name, self.path), None)
                                    for name in image.layers]
            if chosen is None:
                chosen = (config, layers)
            if self.choice.architecture is None or self.choice.matches(config.platform):
                return config, layers
        if chosen is None:
            raise self.fail("manifest.json lists no image")
        raise self.fail(f"no image for {self.choice.architecture} in the archive")


def _confined(root: str, relative: str) -> str | None:
    """The host path of ``relative`` inside the layout ``root`` when it, and every directory on the way,
    resolves inside ``root`` to a regular file; None otherwise (missing, or a link out)."""
    host = os.path.join(root, relative)
    try:
        real = os.path.realpath(host, strict=True)
    except (OSError, RuntimeError):
        return None
    if not (real == root or real.startswith(root.rstrip("/") + "/")):
        return None
    return real if os.path.isfile(real) else None


def _member_blob(whole: _Blob, names: dict[str, Member], name: str, archive: str) -> _Blob:
    """The data of member ``name`` of the outer tar, following symlinks and hard links between members
    (``docker save`` stores a repeated layer as a link to the first copy)."""
    key = member_path(name, archive)[1:]
    for _hop in range(MAX_SYMLINKS):
        m = names.get(key)
        if m is None:
            raise ArchiveError(f"{archive}: the archive has no {name}")
        if m.kind is MemberKind.FILE:
            return _Blob(whole.file, whole.offset + m.offset, m.size)
        if m.kind is MemberKind.SYMLINK:
            key = normalize(posixpath.join(posixpath.dirname("/" + key), m.linkname))[1:]
        elif m.kind is MemberKind.HARDLINK:
            key = member_path(m.linkname, archive)[1:]
        else:
            raise ArchiveError(f"{archive}: {name} is not a file in the archive")
    raise ArchiveError(f"{archive}: {name} is a loop of links")

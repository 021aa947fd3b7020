"""What an image is made of, read from its JSON documents: index, manifest and config.

``ImageConfig`` is the part of the config a verdict may need (platform, environment, entrypoint and
command, working directory, user); ``read_manifest`` follows an OCI index (or a Docker manifest list) to
one image's ``ImageManifest`` (its config and layer descriptors), picking the platform asked for. Where the
bytes come from is the caller's: ``fetch(digest)`` returns a document's bytes (an archive member, a file of
an OCI layout, a registry blob), so the same reader serves archives and registries. Documents are checked
against their digests and bounded in size.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from linkcheck.errors import ArchiveError, PlatformNotFoundError
from linkcheck.facts.arch import docker_arch_of, host_machine, parse_platform
from linkcheck.facts.kernel import MAX_ARG_STRLEN
from linkcheck.image.inflate import parse_digest

MAX_JSON_BYTES = 4 << 20  # a manifest, index or config larger than this is not an image's
_INDEX_NESTING = 8


@dataclass(frozen=True, slots=True)
class Platform:
    """An OCI platform: os "linux", architecture in Docker's words ("amd64", "arm"), variant ("v7")."""

    os: str
    architecture: str
    variant: str | None = None

    def __str__(self) -> str:
        return "/".join([self.os, self.architecture] + ([self.variant] if self.variant else []))


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The image config's fields a verdict may use (OCI image spec, config.md). ``platform`` is None
    for a plain root filesystem tarball, which has no config."""

    platform: Platform | None = None
    env: tuple[str, ...] = ()  # "KEY=VALUE", as the config lists them
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    working_dir: str = ""
    user: str = ""

    @property
    def path_env(self) -> tuple[str, ...] | None:
        """PATH split on ":", empty entries and repeats dropped (a lookup stops at the first hit, so
        neither changes what is found); None when the config sets no PATH. Only the part the kernel can
        pass to a process is read (a longer one fails every start with E2BIG: the verdict says so,
        ``linkcheck.verdict.checks.environment_too_large``)."""
        for item in self.env:
            if item.startswith("PATH="):
                value = item[len("PATH="):MAX_ARG_STRLEN - 1]
                return tuple(dict.fromkeys(p for p in value.split(":") if p))
        return None


    @classmethod
    def from_json(cls, doc: object) -> ImageConfig:
        """The fields of a parsed config document; what is missing or mistyped is left empty (a verdict
        then uses the runtime's defaults, as ``docker run`` would)."""
        if not isinstance(doc, dict):
            return cls()
        inner = doc.get("config")
        cfg: dict[str, Any] = inner if isinstance(inner, dict) else {}
        return cls(
            platform=_platform_of(doc),
            env=_strings(cfg.get("Env")) or (),
            entrypoint=_strings(cfg.get("Entrypoint")),
            cmd=_strings(cfg.get("Cmd")),
            working_dir=_text(cfg.get("WorkingDir")),
            user=_text(cfg.get("User")),
        )


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A pointer to a blob (OCI image spec, descriptor.md)."""

    digest: str
    media_type: str = ""
    size: int | None = None
    platform: Platform | None = None


@dataclass(frozen=True, slots=True)
class ImageManifest:
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True, slots=True)
class PlatformChoice:
    """Which image of an index to take: ``architecture`` None means this host's."""

    architecture: str | None = None
    variant: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> PlatformChoice:
        """From "linux/arm64", "linux/arm/v7", "arm64", "aarch64" ... (None: the host's)."""
        if text is None or not text.strip().lower().removeprefix("linux").strip("/"):
            return cls()
        machine, variant = parse_platform(text)
        return cls(docker_arch_of(machine), variant)

    def wanted(self) -> str:
        return self.architecture or docker_arch_of(host_machine())

    def matches(self, plat: Platform | None) -> bool:
        if plat is None or plat.os != "linux" or plat.architecture != self.wanted():
            return False
        return self.variant is None or plat.variant == self.variant


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(v for v in value if isinstance(v, str))


def _platform_of(value: object) -> Platform | None:
    if not isinstance(value, dict) or not _text(value.get("architecture")):
        return None
    variant = _text(value.get("variant")) or None
    return Platform(_text(value.get("os")) or "linux", value["architecture"], variant)


def parse_json(data: bytes, what: str, digest: str | None = None) -> object:
    """A JSON document, checked against ``digest`` when given; ArchiveError naming ``what`` otherwise."""
    if len(data) > MAX_JSON_BYTES:
        raise ArchiveError(f"{what} is too large ({len(data)} bytes)")
    if digest is not None:
        alg, hexdigest = parse_digest(digest, what)
        if hashlib.new(alg, data).hexdigest() != hexdigest:
            raise ArchiveError(f"{what} does not match its digest")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ArchiveError(f"{what} is not valid JSON") from exc


def _descriptor(value: object, what: str) -> Descriptor:
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise ArchiveError(f"{what} without a digest")
    size = value.get("size")
    return Descriptor(value["digest"], _text(value.get("mediaType")), size if isinstance(size, int) else None,
                      _platform_of(value.get("platform")))


def _is_attestation(value: dict[str, Any]) -> bool:
    annotations = value.get("annotations")
    if isinstance(annotations, dict) and "vnd.docker.reference.type" in annotations:
        return True
    plat = value.get("platform")
    return isinstance(plat, dict) and plat.get("architecture") == "unknown"


def read_manifest(doc: object, fetch: Callable[[str], bytes], choice: PlatformChoice, where: str
                  ) -> ImageManifest:
    """The image manifest ``doc`` is, or that an index ``doc`` leads to for ``choice`` (nested indexes
    followed). ``fetch(digest)`` returns a blob's bytes; ArchiveError starting with ``where``."""
    for _depth in range(_INDEX_NESTING):
        if not isinstance(doc, dict):
            raise ArchiveError(f"{where}: image index is not a JSON object")
        if "layers" in doc and "config" in doc:
            return _manifest(doc, where)
        manifests = doc.get("manifests")
        if not isinstance(manifests, list) or not manifests:
            raise ArchiveError(f"{where}: image index lists no manifests")
        chosen = _pick(manifests, choice, where)
        doc = parse_json(fetch(chosen.digest), f"{where}: {chosen.digest}", chosen.digest)
    raise ArchiveError(f"{where}: image indexes nested too deeply")


def _manifest(doc: dict[str, Any], where: str) -> ImageManifest:
    layers = doc.get("layers")
    if not isinstance(doc.get("config"), dict) or not isinstance(layers, list):
        raise ArchiveError(f"{where}: image manifest without config or layers")
    config = _descriptor(doc["config"], f"{where}: config descriptor")
    return ImageManifest(config, tuple(_descriptor(d, f"{where}: layer descriptor") for d in layers))


def _pick(manifests: list[Any], choice: PlatformChoice, where: str) -> Descriptor:
    usable = [m for m in manifests if isinstance(m, dict) and not _is_attestation(m)]
    if not usable:
        raise ArchiveError(f"{where}: image index lists no usable manifest")
    descriptors = [_descriptor(m, f"{where}: manifest descriptor") for m in usable]
    with_platform = [d for d in descriptors if d.platform is not None]
    for d in with_platform:
        if choice.matches(d.platform):
            return d
    if len(descriptors) == 1 or (choice.architecture is None and not with_platform):
        return descriptors[0]
    found = ", ".join(sorted({str(d.platform) for d in with_platform})) or "none named"
    raise PlatformNotFoundError(f"{where}: no image for linux/{choice.wanted()} in the index "
                                f"(platforms: {found})")


@dataclass(frozen=True, slots=True)
class SavedImage:
    """One entry of a ``docker save`` manifest.json: member names of its config and layers."""

    config: str
    layers: tuple[str, ...]


def read_docker_save(doc: object, where: str) -> tuple[SavedImage, ...]:
    """The images a ``docker save`` manifest.json lists."""
    if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
        raise ArchiveError(f"{where}: manifest.json lists no image")
    images = []
    for item in doc:
        if not isinstance(item, dict):
            continue
        config, layers = item.get("Config"), item.get("Layers")
        if not isinstance(config, str) or not isinstance(layers, list):
            raise ArchiveError(f"{where}: manifest.json entry without Config and Layers")
        if not all(isinstance(name, str) for name in layers):
            raise ArchiveError(f"{where}: manifest.json names a layer that is not a path")
        images.append(SavedImage(config, tuple(layers)))
    return tuple(images)
